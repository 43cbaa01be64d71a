package kernels

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// hasAVX2FMA selects the assembly micro-kernel.
var hasAVX2FMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func sgemmKernel6x16(k int, a, b, c *float32, ldc int)

func microKernel(kc int, a, b, c []float32, ldc int) {
	if !hasAVX2FMA {
		microKernelGo(kc, a, b, c, ldc)
		return
	}
	// Bounds the assembly relies on.
	_ = a[kc*gemmMR-1]
	_ = b[kc*gemmNR-1]
	_ = c[(gemmMR-1)*ldc+gemmNR-1]
	sgemmKernel6x16(kc, &a[0], &b[0], &c[0], ldc)
}

//go:noescape
func packB16(dst, src *float32, ldb, kc int)

// packStrip16 copies kc rows of 16 floats, src row stride ldb, into dst.
func packStrip16(dst, src []float32, ldb, kc int) {
	if !hasAVX2FMA || kc == 0 {
		packStrip16Go(dst, src, ldb, kc)
		return
	}
	_ = dst[kc*gemmNR-1]
	_ = src[(kc-1)*ldb+gemmNR-1]
	packB16(&dst[0], &src[0], ldb, kc)
}

//go:noescape
func packB16Off(dst, src *float32, offs *int, kc int)

// packStrip16Off copies, for each kk < len(offs), the 16 floats at
// src[offs[kk]:] into dst[kk*16:]. The caller guarantees the reads are in
// bounds (checked once per GEMM in gemmPackedAOff).
func packStrip16Off(dst, src []float32, offs []int) {
	if !hasAVX2FMA || len(offs) == 0 {
		packStrip16OffGo(dst, src, offs)
		return
	}
	_ = dst[len(offs)*gemmNR-1]
	packB16Off(&dst[0], &src[0], &offs[0], len(offs))
}

//go:noescape
func biasClampAVX(y *float32, n int, bias, lo, hi float32)

// biasClamp sets y[i] = min(max(y[i]+bias, lo), hi).
func biasClamp(y []float32, bias, lo, hi float32) {
	n := len(y) &^ 7
	if hasAVX2FMA && n > 0 {
		biasClampAVX(&y[0], n, bias, lo, hi)
	} else {
		n = 0
	}
	biasClampGo(y[n:], bias, lo, hi)
}

//go:noescape
func sgemmKernel6x16Ep(k int, a, b, c *float32, ldc int, flags int, bias *float32, lo, hi float32, nstrips, astride, resd int)

// microKernelEp runs the micro-kernel with the epilogue of ep (see
// epilogue) over nstrips consecutive full row strips: strip s reads A at
// a[s*astride:], writes C rows [6s, 6s+6) and uses bias rows row+6s. res,
// when not nil, is the residual laid out like c (same offsets and ldc),
// added with the bias in the first k block.
func microKernelEp(kc int, a, b, c []float32, ldc int, first, last bool, ep *epilogue, row, nstrips, astride int, res []float32) {
	if nstrips <= 0 {
		return
	}
	if !hasAVX2FMA {
		microKernelEpGo(kc, a, b, c, ldc, first, last, ep, row, nstrips, astride, res)
		return
	}
	_ = a[(nstrips-1)*astride+kc*gemmMR-1]
	_ = b[kc*gemmNR-1]
	_ = c[(nstrips*gemmMR-1)*ldc+gemmNR-1]
	flags := 1
	var bias *float32
	if first {
		flags = 0
		_ = ep.bias[row+nstrips*gemmMR-1]
		bias = &ep.bias[row]
	}
	if last && ep.clamp {
		flags |= 2
	}
	resd := 0
	if first && res != nil {
		_ = res[(nstrips*gemmMR-1)*ldc+gemmNR-1]
		flags |= 4
		resd = int(uintptr(unsafe.Pointer(&res[0])) - uintptr(unsafe.Pointer(&c[0])))
	}
	sgemmKernel6x16Ep(kc, &a[0], &b[0], &c[0], ldc, flags, bias, ep.lo, ep.hi, nstrips, astride, resd)
}

//go:noescape
func deinterleave2(even, odd, src *float32, n16 int)

// splitEvenOdd writes src[2t] to even[t] and src[2t+1] to odd[t].
func splitEvenOdd(even, odd, src []float32) {
	n16 := len(src) / 16
	if hasAVX2FMA && n16 > 0 {
		_ = even[n16*8-1]
		_ = odd[n16*8-1]
		deinterleave2(&even[0], &odd[0], &src[0], n16)
	} else {
		n16 = 0
	}
	splitEvenOddGo(even[n16*8:], odd[n16*8:], src[n16*16:])
}

//go:noescape
func packPanel16(dst, src *float32, offs *int, ldb, kc, nstrips int)

// packPanel packs nstrips full 16-wide strips of a kc-row block: row kk
// starts at src[offs[kk]] (offs != nil) or src[kk*ldb]. The caller
// guarantees the reads are in bounds.
func packPanel(dst, src []float32, offs []int, ldb, kc, nstrips int) {
	if !hasAVX2FMA || kc == 0 || nstrips == 0 {
		packPanelGo(dst, src, offs, ldb, kc, nstrips)
		return
	}
	_ = dst[nstrips*kc*gemmNR-1]
	var po *int
	if offs != nil {
		_ = offs[kc-1]
		po = &offs[0]
	} else {
		_ = src[(kc-1)*ldb+nstrips*gemmNR-1]
	}
	packPanel16(&dst[0], &src[0], po, ldb, kc, nstrips)
}

//go:noescape
func addClampAVX(dst, a, b *float32, n int, lo, hi float32)

// addClamp sets dst[i] = min(max(a[i]+b[i], lo), hi); dst may be a or b.
func addClamp(dst, a, b []float32, lo, hi float32) {
	n := len(dst) &^ 7
	if hasAVX2FMA && n > 0 {
		_, _ = a[n-1], b[n-1]
		addClampAVX(&dst[0], &a[0], &b[0], n, lo, hi)
	} else {
		n = 0
	}
	addClampGo(dst[n:], a[n:], b[n:], lo, hi)
}
