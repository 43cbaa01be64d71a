package databricks

import "errors"

// Sentinel errors.
var (
	// ErrRunFailed: the remote run ended without success (the message has its states and error).
	ErrRunFailed = errors.New("databricks run failed")
	// ErrCommand: the command is neither a Python file nor spark-submit.
	ErrCommand = errors.New("databricks command")
)
