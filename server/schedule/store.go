package schedule

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/sluice-ml/sluice/store/datastore"
)

// Store watches a prefix of a datastore named by URI (azblob://ACCOUNT/CONTAINER[/PREFIX]),
// opened through Data (the server's resolver, configured by the workspace file). Every object
// under the prefix is a file; its Path is the object's full URI, so it can be bound to a uri_file
// input, and its Version is its Content-MD5 (or, when the store keeps none, its ETag) and size.
// A blob re-uploaded with the same content therefore starts no run; a changed one does.
//
// The location is always a prefix: azblob://a/c/in watches the objects named in/..., never an
// object named "in" itself. Names ignored in local folders (a segment starting with ".", a name
// ending in ".tmp", ".part" or "~") are ignored here too.
type Store struct {
	Data *datastore.Resolver
	URI  string
}

// NewStore checks uri and returns its watcher.
func NewStore(data *datastore.Resolver, uri string) (*Store, error) {
	u, err := datastore.ParseURI(uri)
	if err != nil {
		return nil, fmt.Errorf("%w: watch location: %w", ErrInvalid, err)
	}
	if data == nil {
		data = &datastore.Resolver{}
	}
	return &Store{Data: data, URI: u.String()}, nil
}

func (w *Store) location(ctx context.Context) (datastore.URI, datastore.Location, error) {
	u, err := datastore.ParseURI(w.URI)
	if err != nil {
		return u, datastore.Location{}, fmt.Errorf("%w: watch location: %w", ErrInvalid, err)
	}
	loc, err := w.Data.Resolve(ctx, w.URI)
	if err != nil {
		return u, loc, fmt.Errorf("watch %s: %w", w.URI, err)
	}
	loc.Single = false // a prefix, always
	return u, loc, nil
}

// Scan lists the objects under the prefix.
func (w *Store) Scan(ctx context.Context) ([]File, error) {
	u, loc, err := w.location(ctx)
	if err != nil {
		return nil, err
	}
	var out []File
	err = loc.Walk(ctx, func(rel string, in datastore.Info) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if ignoredPath(rel) {
			return nil
		}
		out = append(out, File{Path: u.Join(rel).String(), Version: objectVersion(in)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", w.URI, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

var errStop = errors.New("stop")

// Check opens the location and lists at most one object: it fails when the account cannot be
// opened (no credential, a missing secret variable), the container does not exist or access
// is denied.
func (w *Store) Check(ctx context.Context) error {
	_, loc, err := w.location(ctx)
	if err != nil {
		return err
	}
	if err := loc.Walk(ctx, func(string, datastore.Info) error { return errStop }); err != nil && !errors.Is(err, errStop) {
		return fmt.Errorf("watch %s: %w", w.URI, err)
	}
	return nil
}

// objectVersion is "md5:HEX:SIZE", or "etag:ETAG:SIZE" when the store keeps no checksum, or
// "mtime:NANOS:SIZE" as a last resort.
func objectVersion(in datastore.Info) string {
	size := strconv.FormatInt(in.Size, 10)
	switch {
	case len(in.MD5) > 0:
		return "md5:" + hex.EncodeToString(in.MD5) + ":" + size
	case in.ETag != "":
		return "etag:" + strings.Trim(in.ETag, `"`) + ":" + size
	default:
		return "mtime:" + strconv.FormatInt(in.ModTime.UnixNano(), 10) + ":" + size
	}
}

// ignoredPath applies ignored to each segment of a slash-separated name.
func ignoredPath(rel string) bool {
	for _, seg := range strings.Split(rel, "/") {
		if ignored(seg) {
			return true
		}
	}
	return false
}
