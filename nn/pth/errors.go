package pth

import "errors"

// ErrFormat is returned (wrapped) for a file that is not a PyTorch checkpoint or is malformed.
var ErrFormat = errors.New("not a valid PyTorch checkpoint")

// ErrUnsupported is returned (wrapped) for valid pickles that use something this reader does not
// accept (an unknown global, an unsupported dtype).
var ErrUnsupported = errors.New("unsupported checkpoint content")
