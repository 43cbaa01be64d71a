package kernels

//go:noescape
func dwRow3x3(out *float32, srcs *[9]*float32, w *float32, blocks int, bias, lo, hi float32)

// depthwisePlaneFast handles 3×3 depthwise filters (any stride, padding
// and dilation) with an AVX2 kernel. The plane is laid out as the phase
// planes of implicit GEMM (implicit.go; for stride 1 just the zero-padded
// plane), where every tap is a unit-stride stream at a fixed offset from
// the "wide" output index oh*wq + ow; one kernel call computes the whole
// wide plane, 8 outputs at a time, with bias and Relu/Clip fused, and the
// valid columns are copied out. scratch must hold depthwiseScratch floats.
func depthwisePlaneFast(p ConvParams, ip *implicitPlan, xp, w []float32, bias float32, yp, scratch []float32) bool {
	if ip == nil || !hasAVX2FMA || p.KH != 3 || p.KW != 3 {
		return false
	}
	buf := scratch[:ip.glen]
	ip.build(p, 1, xp, buf)
	blocks := (ip.n + 7) / 8
	wide := scratch[ip.glen : ip.glen+blocks*8]
	_ = buf[ip.hiOff+blocks*8-1]
	var srcs [9]*float32
	for t, o := range ip.rowOff {
		srcs[t] = &buf[o]
	}
	lo, hi, _, post := clampOf(p)
	dwRow3x3(&wide[0], &srcs, &w[0], blocks, bias, lo, hi)
	for oh := range p.OH {
		copy(yp[oh*p.OW:(oh+1)*p.OW], wide[oh*ip.wq:oh*ip.wq+p.OW])
	}
	if post {
		BiasAct(yp, 0, p.Act, p.Alpha, p.Beta)
	}
	return true
}

// depthwiseScratch is the scratch depthwisePlaneFast needs.
func depthwiseScratch(ip *implicitPlan) int { return ip.glen + (ip.n+7)/8*8 }

//go:noescape
func maxRow9(out *float32, srcs *[9]*float32, blocks int)

// maxWideFast computes the wide max-pool row for 9-tap windows with AVX2.
func maxWideFast(ip *implicitPlan, buf, wide []float32) bool {
	if !hasAVX2FMA || len(ip.rowOff) != 9 {
		return false
	}
	blocks := (ip.n + 7) / 8
	_ = buf[ip.hiOff+blocks*8-1]
	_ = wide[blocks*8-1]
	var srcs [9]*float32
	for t, o := range ip.rowOff {
		srcs[t] = &buf[o]
	}
	maxRow9(&wide[0], &srcs, blocks)
	return true
}
