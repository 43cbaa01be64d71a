package partition

import "errors"

var (
	// ErrBadSize: a mini-batch size (count or bytes) is not positive.
	ErrBadSize = errors.New("partition: mini-batch size must be positive")
	// ErrBadFormat: a partition format cannot be parsed.
	ErrBadFormat = errors.New("partition: bad partition format")
	// ErrNoMatch: an item's path does not match the partition format.
	ErrNoMatch = errors.New("partition: path does not match the partition format")
	// ErrDuplicate: two items have the same path.
	ErrDuplicate = errors.New("partition: duplicate item path")
)
