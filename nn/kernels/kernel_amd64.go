package kernels

import "golang.org/x/sys/cpu"

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
