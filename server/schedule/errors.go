package schedule

import "errors"

// Sentinel errors.
var (
	// ErrInvalid: a schedule's definition is malformed (cron spec, time zone, parameter...).
	ErrInvalid = errors.New("invalid schedule")
	// ErrUnsupportedLocation: no Watcher is registered for the location's scheme.
	ErrUnsupportedLocation = errors.New("unsupported watch location")
)
