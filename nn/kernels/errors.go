package kernels

import "errors"

// ErrShape reports arguments whose dimensions, strides or slice lengths do
// not fit together. Kernels panic with an error wrapping it (like a BLAS
// xerbla); the Check/Validate functions return it instead.
var ErrShape = errors.New("kernels: bad shape")
