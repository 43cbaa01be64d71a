package ledger

import "errors"

// ErrClosed: the ledger was used after Close.
var ErrClosed = errors.New("ledger: closed")
