package writers

import "errors"

var (
	// ErrCompression: an unknown Parquet compression name.
	ErrCompression = errors.New("writers: unknown compression")
	// ErrColumn: a text writer names a column the schema does not have.
	ErrColumn = errors.New("writers: no such column")
	// ErrClosed: Write after Close.
	ErrClosed = errors.New("writers: writer closed")
)
