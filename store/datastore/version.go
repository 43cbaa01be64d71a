package datastore

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"github.com/sluice-ml/sluice/store/manifest"
)

// Manifest describes the data at a remote location from its listing alone, without reading it:
// one entry per object (path relative to the location, size, and in the SHA256 field the
// store's own checksum, "md5:HEX", or "etag:ETAG" for an object stored without Content-MD5).
// Its Hash is therefore a content version of remote data — it changes whenever an object is
// added, removed or rewritten — but it differs from the SHA-256 manifest of the same files on
// disk. Local folders are described by manifest.Build instead.
func Manifest(ctx context.Context, l Location) (*manifest.Manifest, error) {
	m := &manifest.Manifest{}
	lp, local := l.Store.(LocalPather)
	err := l.Walk(ctx, func(rel string, in Info) error {
		sum := "etag:" + in.ETag
		if len(in.MD5) == 0 && local {
			// A local store keeps no checksum: compute it (folders are small next to Blob's).
			b, err := fileMD5(lp.LocalPath(in.Name))
			if err != nil {
				return err
			}
			in.MD5 = b
		}
		if len(in.MD5) > 0 {
			sum = "md5:" + hex.EncodeToString(in.MD5)
		}
		m.Entries = append(m.Entries, manifest.Entry{Path: rel, Size: in.Size, SHA256: sum})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("describing %s: %w", l.URI, err)
	}
	return m, nil
}

func fileMD5(path string) ([]byte, error) {
	f, err := os.Open(path)
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
