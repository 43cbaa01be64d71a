package decode

import "errors"

// Sentinel errors. Every decode error wraps one of them.
var (
	ErrEmpty    = errors.New("empty file")
	ErrFormat   = errors.New("not a supported image")
	ErrCorrupt  = errors.New("corrupt or truncated image")
	ErrTooLarge = errors.New("image exceeds the decode limits")
)
