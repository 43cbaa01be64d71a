package datastore

import "errors"

// Sentinel errors, wrapped with context; test with errors.Is.
var (
	// ErrNotFound: the object (or container) does not exist.
	ErrNotFound = errors.New("not found")
	// ErrBadURI: the text is not a data URI this package understands.
	ErrBadURI = errors.New("bad data URI")
	// ErrChecksum: data read or written does not match the checksum the store keeps for it.
	// The copy is discarded; retrying the transfer is safe.
	ErrChecksum = errors.New("checksum mismatch")
	// ErrNoDatastore: no datastore is configured for the URI's scheme or account.
	ErrNoDatastore = errors.New("no datastore for URI")
)
