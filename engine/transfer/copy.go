package transfer

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sluice-ml/sluice/store/datastore"
)

// Options tune Copy.
type Options struct {
	// Concurrency is the number of files copied at once (default 8).
	Concurrency int
	// Progress, when set, is called after every file (copied or skipped), from one goroutine at
	// a time.
	Progress func(Progress)
}

// Progress counts what Copy has done so far.
type Progress struct {
	Files       int   // files in the source
	Bytes       int64 // their total size
	Done        int   // files handled (copied or skipped)
	Copied      int   // files copied
	Skipped     int   // files already equal at the destination
	CopiedBytes int64
	Elapsed     time.Duration
}

// String is a one-line summary.
func (p Progress) String() string {
	return fmt.Sprintf("%d/%d files (%d copied, %d already there), %d of %d bytes copied, %s",
		p.Done, p.Files, p.Copied, p.Skipped, p.CopiedBytes, p.Bytes, p.Elapsed.Round(time.Millisecond))
}

type item struct {
	rel string
	in  datastore.Info
}

// Copy copies every object of src to dst (a folder-like location: the objects keep their names
// relative to src; a single-object src keeps its base name). See the package doc for what is
// skipped and checked. On error, files copied so far stay (a rerun skips them).
func Copy(ctx context.Context, src, dst datastore.Location, opts Options) (Progress, error) {
	start := time.Now()
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if err := src.Probe(ctx); err != nil {
		return Progress{}, err
	}
	var items []item
	var p Progress
	if err := src.Walk(ctx, func(rel string, in datastore.Info) error {
		items = append(items, item{rel, in})
		p.Bytes += in.Size
		return nil
	}); err != nil {
		return p, fmt.Errorf("listing %s: %w", src.URI, err)
	}
	p.Files = len(items)
	dst.Single = false
	existing := map[string]datastore.Info{}
	if err := dst.Walk(ctx, func(rel string, in datastore.Info) error {
		existing[rel] = in
		return nil
	}); err != nil {
		return p, fmt.Errorf("listing %s: %w", dst.URI, err)
	}
	var mu sync.Mutex
	report := func(copied bool, n int64) {
		mu.Lock()
		defer mu.Unlock()
		p.Done++
		if copied {
			p.Copied++
			p.CopiedBytes += n
		} else {
			p.Skipped++
		}
		p.Elapsed = time.Since(start)
		if opts.Progress != nil {
			opts.Progress(p)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Concurrency)
	for _, it := range items {
		g.Go(func() error {
			copied, err := copyOne(gctx, src, dst, it, existing)
			if err != nil {
				return fmt.Errorf("%s: %w", it.rel, err)
			}
			report(copied, it.in.Size)
			return nil
		})
	}
	err := g.Wait()
	p.Elapsed = time.Since(start)
	if err == nil {
		err = ctx.Err()
	}
	return p, err
}

// copyOne copies one object unless the destination already holds the same bytes.
func copyOne(ctx context.Context, src, dst datastore.Location, it item, existing map[string]datastore.Info) (bool, error) {
	srcName, dstName := src.Name(it.rel), dst.Name(it.rel)
	want := it.in.MD5
	if len(want) == 0 {
		if sum, err := localMD5(src.Store, srcName); err == nil {
			want = sum
		}
	}
	if have, ok := existing[it.rel]; ok && have.Size == it.in.Size && len(want) > 0 {
		got := have.MD5
		if len(got) == 0 {
			got, _ = localMD5(dst.Store, dstName)
		}
		if bytes.Equal(got, want) {
			return false, nil
		}
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	err := copyData(ctx, src.Store, srcName, dst.Store, dstName, it.in.Size, want)
	return err == nil, err
}

// localMD5 computes the MD5 of a local object; other stores answer with an error.
func localMD5(ds datastore.Datastore, name string) ([]byte, error) {
	lp, ok := ds.(datastore.LocalPather)
	if !ok {
		return nil, errors.ErrUnsupported
	}
	f, err := os.Open(lp.LocalPath(name))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := md5.New()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}

func copyData(ctx context.Context, src datastore.Datastore, srcName string, dst datastore.Datastore, dstName string,
	size int64, want []byte) error {
	srcLocal, srcIsLocal := src.(datastore.LocalPather)
	dstLocal, dstIsLocal := dst.(datastore.LocalPather)
	if up, ok := dst.(datastore.FileUploader); ok && srcIsLocal {
		return up.UploadFile(ctx, dstName, srcLocal.LocalPath(srcName), datastore.CreateOptions{MD5: want})
	}
	if down, ok := src.(datastore.FileDownloader); ok && dstIsLocal {
		target := dstLocal.LocalPath(dstName)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		tmp := filepath.Join(filepath.Dir(target), ".sluice-tmp-"+filepath.Base(target))
		if err := down.DownloadFile(ctx, srcName, tmp); err != nil {
			os.Remove(tmp)
			return err
		}
		if st, err := os.Stat(tmp); err != nil || st.Size() != size {
			os.Remove(tmp)
			return fmt.Errorf("downloaded %d bytes, want %d: %w", st.Size(), size, datastore.ErrChecksum)
		}
		return os.Rename(tmp, target)
	}
	// Streaming: hash on the way; abandon the write (cancel before Close) on a mismatch.
	r, err := src.Open(ctx, srcName)
	if err != nil {
		return err
	}
	defer r.Close()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := dst.Create(wctx, dstName, datastore.CreateOptions{MD5: want})
	if err != nil {
		return err
	}
	h := md5.New()
	n, err := io.Copy(io.MultiWriter(w, h), r)
	if err == nil {
		err = check(h, n, size, want)
	}
	if err != nil {
		cancel()
		w.Close()
		return err
	}
	return w.Close()
}

func check(h hash.Hash, n, size int64, want []byte) error {
	if n != size {
		return fmt.Errorf("read %d bytes, want %d: %w", n, size, datastore.ErrChecksum)
	}
	if len(want) > 0 && !bytes.Equal(h.Sum(nil), want) {
		return fmt.Errorf("content MD5 %x, source says %x: %w", h.Sum(nil), want, datastore.ErrChecksum)
	}
	return nil
}
