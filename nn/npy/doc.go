// Package npy reads and writes NumPy .npy files (format versions 1.0, 2.0
// and 3.0) as nn.Tensors.
//
// Read accepts little- and big-endian numeric dtypes (float16/32/64, signed
// and unsigned 8–64-bit integers, bool) in C or Fortran order; the result
// is always C order in native layout. Read checks the header's shape
// against the data before allocating (bounded by Options.MaxBytes), so a
// short file claiming a huge array is an error, never an out-of-memory.
// Write emits version 1.0 (2.0 when the header needs it), little-endian,
// C order.
//
// Errors wrap ErrFormat (not a valid .npy) or nn.ErrTooLarge.
package npy
