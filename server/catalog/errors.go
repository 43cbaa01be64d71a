package catalog

import "errors"

// Sentinel errors; state.ErrNotFound (unknown pipeline or version) and spec.ErrInvalid (a bad
// pipeline text or parameter value) are returned wrapped as well.
var (
	// ErrInvalid: a name, version or parameter is malformed.
	ErrInvalid = errors.New("invalid request")
	// ErrForbiddenPath: a path points outside the allowed data roots.
	ErrForbiddenPath = errors.New("path outside the allowed data roots")
)
