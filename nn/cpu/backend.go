package cpu

import "github.com/sluice-ml/sluice/nn/kernels"

// The heavy kernels sit behind these function values so that the
// implementation (nn/kernels' blocked GEMM and packed convolutions, or the
// reference loops below) is a one-line swap.

// sgemmFunc computes C = alpha*op(A)*op(B) + beta*C, row-major, using up to
// threads goroutines.
type sgemmFunc func(threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)

var sgemm sgemmFunc = kernelsSgemm

// kernelsSgemm runs nn/kernels.SgemmThreads on the session's thread count.
func kernelsSgemm(threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	kernels.SgemmThreads(threads, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// useKernelConv routes 1-D and 2-D convolutions with constant weights to
// nn/kernels' packed convolutions; off, they run im2col + sgemm here.
var useKernelConv = true

// refSgemm is a straightforward cache-aware GEMM, parallel over rows of C.
func refSgemm(threads int, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	rowsPer := max(1, (m+threads*4-1)/(threads*4))
	blocks := (m + rowsPer - 1) / rowsPer
	var bt []float32
	if transB {
		// Make B row-major k×n once so the inner loop is contiguous.
		bt = make([]float32, k*n)
		for j := 0; j < n; j++ {
			for p := 0; p < k; p++ {
				bt[p*n+j] = b[j*ldb+p]
			}
		}
		b, ldb = bt, n
	}
	parallelFor(threads, blocks, func(blk int) {
		for i := blk * rowsPer; i < min(m, (blk+1)*rowsPer); i++ {
			ci := c[i*ldc : i*ldc+n]
			if beta == 0 {
				clear(ci)
			} else if beta != 1 {
				for j := range ci {
					ci[j] *= beta
				}
			}
			for p := 0; p < k; p++ {
				var av float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				av *= alpha
				if av == 0 {
					continue
				}
				bp := b[p*ldb : p*ldb+n]
				for j, bv := range bp {
					ci[j] += av * bv
				}
			}
		}
	})
}
