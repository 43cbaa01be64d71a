//go:build !amd64

package kernels

// hasAVX2FMA is false off amd64 (a var so tests compile alike everywhere).
var hasAVX2FMA = false

func microKernel(kc int, a, b, c []float32, ldc int) { microKernelGo(kc, a, b, c, ldc) }

func packStrip16(dst, src []float32, ldb, kc int) { packStrip16Go(dst, src, ldb, kc) }

func packStrip16Off(dst, src []float32, offs []int) { packStrip16OffGo(dst, src, offs) }

func biasClamp(y []float32, bias, lo, hi float32) { biasClampGo(y, bias, lo, hi) }

func microKernelEp(kc int, a, b, c []float32, ldc int, first, last bool, ep *epilogue, row, nstrips, astride int, res []float32) {
	microKernelEpGo(kc, a, b, c, ldc, first, last, ep, row, nstrips, astride, res)
}

func addClamp(dst, a, b []float32, lo, hi float32) { addClampGo(dst, a, b, lo, hi) }

func splitEvenOdd(even, odd, src []float32) { splitEvenOddGo(even, odd, src) }

func packPanel(dst, src []float32, offs []int, ldb, kc, nstrips int) {
	packPanelGo(dst, src, offs, ldb, kc, nstrips)
}
