package transfer

import "errors"

// ErrJob: the transfer job is malformed (it needs exactly one data input and one output).
var ErrJob = errors.New("transfer job")
