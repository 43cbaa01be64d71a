package kernels

//go:noescape
func winoIn8(src *float32, ld, chunks int, dst *float32, xs int)

//go:noescape
func winoOut8(src *float32, ls, chunks int, dst *float32, ldd int, bias float32)

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
// (winoOut8Go has the layouts), in AVX2 when the CPU has it.
func winoOut(src []float32, ls, chunks int, dst []float32, ldd int, bias float32) {
	if chunks == 0 {
		return
	}
	_ = src[15*ls+8*chunks-1]
	_ = dst[ldd+16*chunks-1]
	if !hasAVX2FMA {
		winoOut8Go(src, ls, chunks, dst, ldd, bias)
		return
	}
	winoOut8(&src[0], ls, chunks, &dst[0], ldd, bias)
}
