package state

import "errors"

// ErrNotFound is returned (wrapped) when a run, step, dataset or version does not exist.
var ErrNotFound = errors.New("not found")

// ErrLocked is returned by LockRun when another live process executes the run.
var ErrLocked = errors.New("run is locked by another process")
