package kernels

import (
	"fmt"
	"math"
	"sync/atomic"

	"github.com/sluice-ml/sluice/nn/kernels/internal/blas"
)

// Backend names the GEMM implementation in use: "openblas: <library>" when
// an OpenBLAS library is loaded and selected, else "go-avx2" or "go".
func Backend() string {
	if useBLAS() {
		return "openblas: " + blas.Library()
	}
	if hasAVX2FMA {
		return "go-avx2"
	}
	return "go"
}

func useBLAS() bool { return !forceGo.Load() && blas.Available() }

// gemmSerial is op-generic single-threaded GEMM on the best backend.
func gemmSerial(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if useBLAS() {
		blas.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	sgemmGo(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func checkGemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) error {
	if m < 0 || n < 0 || k < 0 {
		return fmt.Errorf("%w: negative dimension m=%d n=%d k=%d", ErrShape, m, n, k)
	}
	// BLAS takes 32-bit sizes.
	if max(m, n, k, lda, ldb, ldc) > math.MaxInt32 {
		return fmt.Errorf("%w: dimension or stride over 2^31-1", ErrShape)
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	if err := checkMat("A", ar, ac, a, lda); err != nil {
		return err
	}
	if err := checkMat("B", br, bc, b, ldb); err != nil {
		return err
	}
	return checkMat("C", m, n, c, ldc)
}

func checkMat(name string, rows, cols int, s []float32, ld int) error {
	if rows == 0 || cols == 0 {
		return nil
	}
	if ld < max(1, cols) {
		return fmt.Errorf("%w: %s leading dimension %d < %d columns", ErrShape, name, ld, cols)
	}
	if need := (rows-1)*ld + cols; len(s) < need {
		return fmt.Errorf("%w: %s has %d elements, %d×%d with stride %d needs %d", ErrShape, name, len(s), rows, cols, ld, need)
	}
	return nil
}

// Sgemm computes C = alpha*op(A)*op(B) + beta*C for row-major float32
// matrices, where op(X) is X or its transpose. op(A) is m×k, op(B) is k×n,
// C is m×n; lda, ldb and ldc are the row strides of a, b and c as stored.
// With beta == 0, C is overwritten and may hold anything (NaN included).
// Work is split over Threads() workers. It panics with an error wrapping
// ErrShape when a dimension is negative, a stride is too small or a slice
// too short; use CheckSgemm to get that error instead.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	SgemmThreads(0, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SgemmThreads is Sgemm on threads workers (threads < 1: Threads()).
func SgemmThreads(threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if err := checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc); err != nil {
		panic(err)
	}
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	t := resolveThreads(threads)
	if t <= 1 || 2*m*n*k < 1<<21 {
		gemmSerial(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	// Split the larger output dimension into one chunk per worker.
	if n >= m {
		chunk := (n + t - 1) / t
		chunk = (chunk + gemmNR - 1) / gemmNR * gemmNR
		parts := (n + chunk - 1) / chunk
		parallelFor(t, parts, func(_, p int) {
			j0 := p * chunk
			w := min(chunk, n-j0)
			var bs []float32
			if transB {
				bs = b[j0*ldb:]
			} else {
				bs = b[j0:]
			}
			gemmSerial(transA, transB, m, w, k, alpha, a, lda, bs, ldb, beta, c[j0:], ldc)
		})
		return
	}
	chunk := (m + t - 1) / t
	chunk = (chunk + gemmMR - 1) / gemmMR * gemmMR
	parts := (m + chunk - 1) / chunk
	parallelFor(t, parts, func(_, p int) {
		i0 := p * chunk
		h := min(chunk, m-i0)
		var as []float32
		if transA {
			as = a[i0:]
		} else {
			as = a[i0*lda:]
		}
		gemmSerial(transA, transB, h, n, k, alpha, as, lda, b, ldb, beta, c[i0*ldc:], ldc)
	})
}

// CheckSgemm returns the error Sgemm would panic with, or nil.
func CheckSgemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) error {
	return checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
}

// forceGo, when set, routes GEMM to the pure-Go path even when OpenBLAS is
// loaded (UsePureGo; tests and benchmarks compare the two).
var forceGo atomic.Bool

// UsePureGo selects the pure-Go GEMM (on) or OpenBLAS when it is loaded
// (off, the default) for every later kernel call. It returns the previous
// setting. It is meant for benchmarks and tests comparing the backends.
func UsePureGo(on bool) (was bool) { return forceGo.Swap(on) }

// OpenBLASLoaded reports whether an OpenBLAS library was found at run time.
func OpenBLASLoaded() bool { return blas.Available() }

// forceGoGemm sets forceGo and returns a function restoring the old value.
func forceGoGemm(on bool) func() {
	old := forceGo.Swap(on)
	return func() { forceGo.Store(old) }
}

// SgemmSerial is Sgemm on the calling goroutine only, for callers that run
// their own parallelism (one GEMM per worker). Same contract as Sgemm.
func SgemmSerial(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if err := checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc); err != nil {
		panic(err)
	}
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	gemmSerial(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
