package parallel

import "errors"

var (
	// ErrProtocol: the command's output does not follow the protocol (one line per item).
	ErrProtocol = errors.New("parallel: command output does not match its mini-batch")
	// ErrCommand: the command failed (non-zero exit, could not start).
	ErrCommand = errors.New("parallel: command failed")
	// ErrConfig: the configuration is incomplete or contradictory.
	ErrConfig = errors.New("parallel: bad configuration")
)
