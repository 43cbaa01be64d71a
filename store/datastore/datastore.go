package datastore

import (
	"context"
	"io"
	"time"
)

// Info describes one stored object.
type Info struct {
	// Name is the object's slash-separated name inside the datastore.
	Name    string
	Size    int64
	ModTime time.Time
	// MD5 is the object's content MD5 when the store knows it (Blob: Content-MD5; local: nil,
	// since it would cost a read). Transfer compares it, or computes it, to skip equal files.
	MD5 []byte
	// ETag changes whenever the object changes (Blob); "" for local files.
	ETag string
}

// Datastore is a place where objects live. Names are slash-separated, relative, without "."
// or ".." segments. Every method blocks on I/O and honours ctx. A Datastore is safe for
// concurrent use.
type Datastore interface {
	// URI is the datastore's root as a URI (a local folder path, or azblob://ACCOUNT/CONTAINER).
	URI() string
	// Open reads an object. The caller closes the reader. A missing object is ErrNotFound.
	Open(ctx context.Context, name string) (io.ReadCloser, error)
	// Create starts writing an object, replacing any earlier one. Nothing is visible under the
	// name until Close returns nil; when ctx ends before that, Close fails and nothing is written.
	Create(ctx context.Context, name string, opts CreateOptions) (io.WriteCloser, error)
	// List calls fn for every object whose name starts with prefix, in name order; an error from
	// fn stops the listing and is returned.
	List(ctx context.Context, prefix string, fn func(Info) error) error
	// Stat describes one object; ErrNotFound when it does not exist.
	Stat(ctx context.Context, name string) (Info, error)
	// Delete removes an object; deleting a missing object is not an error.
	Delete(ctx context.Context, name string) error
}

// CreateOptions tune Create and the upload capabilities.
type CreateOptions struct {
	// MD5 is the content's MD5, when the writer knows it: stores that keep checksums record it
	// (Blob: Content-MD5) so that later transfers and versions can compare without reading.
	MD5 []byte
}

// FileUploader is an optional capability: upload a local file in parallel blocks, each block
// checksummed in transit where the store supports it.
type FileUploader interface {
	UploadFile(ctx context.Context, name, localPath string, opts CreateOptions) error
}

// FileDownloader is an optional capability: download an object into a local file with parallel
// ranged reads. The file is written in place; callers write to a temporary name and rename.
type FileDownloader interface {
	DownloadFile(ctx context.Context, name, localPath string) error
}

// LocalPather is an optional capability of stores whose objects are local files.
type LocalPather interface {
	LocalPath(name string) string
}

// Write copies r into name on s (created or replaced), closing the writer: the data is there
// when it returns nil. An error from the copy wins over the one from Close.
func Write(ctx context.Context, s Datastore, name string, r io.Reader, opts CreateOptions) error {
	w, err := s.Create(ctx, name, opts)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}
