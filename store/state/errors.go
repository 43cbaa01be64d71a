package state

import "errors"

// ErrNotFound is returned (wrapped) when a run, step, dataset or version does not exist.
var ErrNotFound = errors.New("not found")

// ErrLocked is returned by LockRun when another live process executes the run.
var ErrLocked = errors.New("run is locked by another process")

// ErrExists is returned (wrapped) when a record with the same key exists: a run id, a published
// pipeline version with other contents, a schedule id.
var ErrExists = errors.New("already exists")

// ErrUnauthorized is returned (wrapped) by VerifyToken for a token that is malformed, unknown
// or revoked. The wrapped message never contains the token.
var ErrUnauthorized = errors.New("invalid or revoked token")
