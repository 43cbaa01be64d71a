//go:build !cgo || noopenblas

package blas

// Available reports whether an OpenBLAS library was loaded: never, in a
// build without cgo or with the noopenblas tag.
func Available() bool { return false }

// Library returns "": no library is loaded in this build.
func Library() string { return "" }

// Sgemm must not be called in this build (Available is false).
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	panic("blas: Sgemm called in a build without OpenBLAS")
}
