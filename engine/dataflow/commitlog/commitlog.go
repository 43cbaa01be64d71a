package commitlog

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/sluice-ml/sluice/engine/dataflow/ledger"
	"github.com/sluice-ml/sluice/store/datastore"
)

// Dir is where records live, relative to the output folder. Names starting with '_' are skipped
// by Spark and Hadoop readers, and part-* globs never match them.
const Dir = "_sluice/ledger"

// Version is the record format written.
const Version = 1

// ErrRecord: a record cannot be read (it is then ignored: its partition is redone).
var ErrRecord = errors.New("commit record")

// Item is one item of a committed partition.
type Item struct {
	Hash  string `json:"hash"`
	Path  string `json:"path"`
	Row   int64  `json:"row"`
	Error string `json:"error,omitempty"`
}

// Record is a committed partition of an output.
type Record struct {
	Version     int    `json:"version"`
	Key         string `json:"run_key"`
	Partition   string `json:"partition"`
	File        string `json:"file"` // name within the output folder
	Size        int64  `json:"size"`
	MD5         string `json:"md5"` // hex MD5 of the file
	Rows        int64  `json:"rows"`
	FailedItems int64  `json:"failed_items"`
	Failed      bool   `json:"failed,omitempty"`
	// By says who committed it ("host pid 123", "shard 2/3 of ..."); for people, not for logic.
	By    string `json:"committed_by,omitempty"`
	Items []Item `json:"items"`
}

// Ledger converts the record to the local ledger's form.
func (r Record) Ledger() (ledger.Partition, []ledger.Item) {
	items := make([]ledger.Item, len(r.Items))
	for i, it := range r.Items {
		items[i] = ledger.Item{Hash: it.Hash, Path: it.Path, Partition: r.Partition, Row: it.Row, Error: it.Error}
	}
	return ledger.Partition{ID: r.Partition, File: r.File, Rows: r.Rows, FailedItems: r.FailedItems, Failed: r.Failed}, items
}

// Items converts ledger items to a record's.
func Items(items []ledger.Item) []Item {
	out := make([]Item, len(items))
	for i, it := range items {
		out[i] = Item{Hash: it.Hash, Path: it.Path, Row: it.Row, Error: it.Error}
	}
	return out
}

// RecordName is the object name of partition id's record, relative to the output folder.
func RecordName(id string) string { return Dir + "/" + id + ".json" }

// Publish uploads the committed local file to out as rec.File, then writes the record; rec's
// Version, Size and MD5 are filled in from the file. The record is written only once the file
// is, so a reader never sees a record without its file.
func Publish(ctx context.Context, out datastore.Location, localFile string, rec Record) error {
	if strings.Contains(rec.File, "/") || rec.File == "" || strings.Contains(rec.Partition, "/") || rec.Partition == "" {
		return fmt.Errorf("%w: bad file %q or partition %q", ErrRecord, rec.File, rec.Partition)
	}
	sum, size, err := fileMD5(localFile)
	if err != nil {
		return fmt.Errorf("commitlog: %w", err)
	}
	rec.Version, rec.Size, rec.MD5 = Version, size, hex.EncodeToString(sum)
	opts := datastore.CreateOptions{MD5: sum}
	if up, ok := out.Store.(datastore.FileUploader); ok {
		err = up.UploadFile(ctx, out.Name(rec.File), localFile, opts)
	} else {
		err = copyFile(ctx, out, rec.File, localFile, opts)
	}
	if err != nil {
		return fmt.Errorf("commitlog: uploading %s: %w", rec.File, err)
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	if err := put(ctx, out, RecordName(rec.Partition), b); err != nil {
		return fmt.Errorf("commitlog: writing the record of %s: %w", rec.Partition, err)
	}
	return nil
}

func fileMD5(p string) ([]byte, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	h := md5.New()
	n, err := io.Copy(h, f)
	return h.Sum(nil), n, err
}

func copyFile(ctx context.Context, out datastore.Location, name, localFile string, opts datastore.CreateOptions) error {
	f, err := os.Open(localFile)
	if err != nil {
		return err
	}
	defer f.Close()
	return datastore.Write(ctx, out.Store, out.Name(name), f, opts)
}

func put(ctx context.Context, out datastore.Location, name string, b []byte) error {
	sum := md5.Sum(b)
	return datastore.Write(ctx, out.Store, out.Name(name), bytes.NewReader(b), datastore.CreateOptions{MD5: sum[:]})
}

// Listing is what an output folder holds.
type Listing struct {
	// Records are the valid records of the run key, by partition id.
	Records map[string]Record
	// Files are the object names (relative to the output) of every part-* file, with their info.
	Files map[string]datastore.Info
	// RecordNames are the names (relative to the output) of every record, whatever its key.
	RecordNames []string
	// Ignored says, per record name, why a record was not taken (another run key, its file
	// missing or different, unreadable).
	Ignored map[string]string
}

// Load lists out and reads its records, keeping those of key whose file is present with the
// recorded size (and MD5, where the store knows it). A missing folder is an empty listing.
func Load(ctx context.Context, out datastore.Location, key string) (Listing, error) {
	l := Listing{Records: map[string]Record{}, Files: map[string]datastore.Info{}, Ignored: map[string]string{}}
	err := out.Walk(ctx, func(rel string, in datastore.Info) error {
		switch {
		case strings.HasPrefix(rel, Dir+"/") && strings.HasSuffix(rel, ".json") && !strings.Contains(rel[len(Dir)+1:], "/"):
			l.RecordNames = append(l.RecordNames, rel)
		case !strings.Contains(rel, "/") && strings.HasPrefix(rel, "part-"):
			l.Files[rel] = in
		}
		return nil
	})
	if err != nil && !errors.Is(err, datastore.ErrNotFound) {
		return l, fmt.Errorf("commitlog: listing %s: %w", out.URI, err)
	}
	recs := make([]*Record, len(l.RecordNames))
	why := make([]string, len(l.RecordNames))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i, name := range l.RecordNames {
		g.Go(func() error {
			r, err := read(gctx, out, name)
			if err != nil {
				if gctx.Err() != nil {
					return gctx.Err()
				}
				why[i] = err.Error()
				return nil
			}
			recs[i] = &r
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return l, err
	}
	for i, name := range l.RecordNames {
		r := recs[i]
		switch {
		case r == nil:
			l.Ignored[name] = why[i]
		case r.Key != key:
			l.Ignored[name] = "another run key"
		case path.Base(name) != r.Partition+".json":
			l.Ignored[name] = "names partition " + r.Partition
		default:
			in, ok := l.Files[r.File]
			switch {
			case !ok:
				l.Ignored[name] = "file " + r.File + " missing"
			case in.Size != r.Size:
				l.Ignored[name] = fmt.Sprintf("file %s has %d bytes, recorded %d", r.File, in.Size, r.Size)
			case len(in.MD5) > 0 && hex.EncodeToString(in.MD5) != r.MD5:
				l.Ignored[name] = "file " + r.File + " differs from the recorded MD5"
			default:
				l.Records[r.Partition] = *r
			}
		}
	}
	return l, nil
}

func read(ctx context.Context, out datastore.Location, name string) (Record, error) {
	rc, err := out.Store.Open(ctx, out.Name(name))
	if err != nil {
		return Record{}, err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 256<<20))
	if err != nil {
		return Record{}, err
	}
	var r Record
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&r); err != nil {
		return Record{}, fmt.Errorf("%w %s: %w", ErrRecord, name, err)
	}
	if r.Version != Version || r.Partition == "" || r.File == "" || int64(len(r.Items)) != r.Rows {
		return Record{}, fmt.Errorf("%w %s: version %d, partition %q, file %q, %d items for %d rows", ErrRecord, name,
			r.Version, r.Partition, r.File, len(r.Items), r.Rows)
	}
	return r, nil
}

// Prune removes part-* files whose name is not in keepFiles and records whose partition is not
// in keepIDs: what an earlier input or run key left behind. Call it only once the output is
// complete for the current input.
func Prune(ctx context.Context, out datastore.Location, l Listing, keepFiles, keepIDs map[string]bool) (int, error) {
	n := 0
	for name := range l.Files {
		if !keepFiles[name] {
			if err := out.Store.Delete(ctx, out.Name(name)); err != nil {
				return n, fmt.Errorf("commitlog: prune %s: %w", name, err)
			}
			n++
		}
	}
	for _, name := range l.RecordNames {
		id := strings.TrimSuffix(path.Base(name), ".json")
		if !keepIDs[id] {
			if err := out.Store.Delete(ctx, out.Name(name)); err != nil {
				return n, fmt.Errorf("commitlog: prune %s: %w", name, err)
			}
			n++
		}
	}
	return n, nil
}
