package livy

import "errors"

// Sentinel errors.
var (
	// ErrBatchFailed: the batch ended dead, killed or error.
	ErrBatchFailed = errors.New("livy batch failed")
	// ErrCommand: the command cannot be turned into a batch.
	ErrCommand = errors.New("livy command")
)
