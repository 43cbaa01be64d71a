package styletransfer

import "errors"

// ErrBadInput marks every error caused by the inputs (the video or the model file) rather than by
// the machine: the command line answers it with exit code 2. Retrying does not help.
var ErrBadInput = errors.New("bad input")
