package kernels

//go:noescape
func winoIn8(src *float32, ld, chunks int, dst *float32, xs int)

//go:noescape
func winoOut8(src *float32, ls, chunks int, dst *float32, ldd int, bias, lo, hi float32)

// winoIn runs the input transform of `chunks` runs of 8 tiles (winoIn8Go
// has the layouts), in AVX2 when the CPU has it.
func winoIn(src []float32, ld, chunks int, dst []float32, xs int) {
	if chunks == 0 {
		return
	}
	// Bounds the assembly relies on.
	_ = src[7*ld+8*chunks]
	_ = dst[15*xs+8*chunks-1]
	if !hasAVX2FMA {
		winoIn8Go(src, ld, chunks, dst, xs)
		return
	}
	winoIn8(&src[0], ld, chunks, &dst[0], xs)
}

// winoOut runs the output transform of `chunks` runs of 8 tiles
// (winoOut8Go has the layouts), results clamped to [lo, hi], in AVX2 when
// the CPU has it.
func winoOut(src []float32, ls, chunks int, dst []float32, ldd int, bias, lo, hi float32) {
	if chunks == 0 {
		return
	}
	_ = src[15*ls+8*chunks-1]
	_ = dst[ldd+16*chunks-1]
	if !hasAVX2FMA {
		winoOut8Go(src, ls, chunks, dst, ldd, bias, lo, hi)
		return
	}
	winoOut8(&src[0], ls, chunks, &dst[0], ldd, bias, lo, hi)
}

//go:noescape
func winoIn43(src *float32, ld, chunks int, dst *float32, xs int, tmp *float32)

//go:noescape
func winoOut43(src *float32, ls, chunks int, dst *float32, ldd int, bias, lo, hi float32, tmp *float32)

// wino43In runs the F(4×4, 3×3) input transform (winoIn43Go has the
// layouts); tmp holds at least 36*8 floats.
func wino43In(src []float32, ld, chunks int, dst []float32, xs int, tmp []float32) {
	if chunks == 0 {
		return
	}
	_ = src[5*4*ld+ld+8*chunks]
	_ = dst[35*xs+8*chunks-1]
	_ = tmp[36*8-1]
	if !hasAVX2FMA {
		winoIn43Go(src, ld, chunks, dst, xs)
		return
	}
	winoIn43(&src[0], ld, chunks, &dst[0], xs, &tmp[0])
}

// wino43Out runs the F(4×4, 3×3) output transform (winoOut43Go has the
// layouts), results clamped to [lo, hi]; tmp holds at least 40*8 floats.
func wino43Out(src []float32, ls, chunks int, dst []float32, ldd int, bias, lo, hi float32, tmp []float32) {
	if chunks == 0 {
		return
	}
	_ = src[35*ls+8*chunks-1]
	_ = dst[3*ldd+32*chunks-1]
	_ = tmp[40*8-1]
	if !hasAVX2FMA {
		winoOut43Go(src, ls, chunks, dst, ldd, bias, lo, hi)
		return
	}
	winoOut43(&src[0], ls, chunks, &dst[0], ldd, bias, lo, hi, &tmp[0])
}

//go:noescape
func split4(dst, src *float32, ld, n32 int)

// splitPhases4 writes src[4j+k] to dst[k*ld + j] for k < 4; len(src) is a
// multiple of 32 and at most 4*ld.
func splitPhases4(dst []float32, ld int, src []float32) {
	n32 := len(src) / 32
	if !hasAVX2FMA || n32 == 0 {
		splitPhases4Go(dst, ld, src)
		return
	}
	_ = dst[3*ld+8*n32-1]
	split4(&dst[0], &src[0], ld, n32)
}
