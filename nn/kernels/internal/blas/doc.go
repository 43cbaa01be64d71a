// Package blas is the only place in Sluice's kernels that uses cgo. It binds
// cblas_sgemm from an OpenBLAS shared library found at run time with dlopen,
// so building needs no BLAS headers or libraries and a machine without
// OpenBLAS still runs (the caller falls back to its pure-Go kernels).
//
// Contract:
//   - Available reports whether a library was loaded. It is decided once, on
//     first use, and never changes afterwards. With CGO_ENABLED=0 (or the
//     build tag noopenblas) it is always false.
//   - The environment variable SLUICE_BLAS chooses the library: "off" (or
//     "0", "none") disables it; any other non-empty value is the file name or
//     path passed to dlopen. Unset, the usual OpenBLAS names are tried.
//   - OpenBLAS is pinned to one thread (OPENBLAS_NUM_THREADS=1 when unset,
//     and openblas_set_num_threads(1)): the caller owns parallelism and may
//     call Sgemm from several goroutines at once.
//   - Sgemm is row-major cblas_sgemm. It must only be called when Available
//     is true; arguments are not checked here (the caller checks them), and
//     dimensions must fit in a C int.
package blas
