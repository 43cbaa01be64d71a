package kernels

// dwDirect enables depthwiseDirect3x3 (off only in tests and benchmarks
// comparing it with the phase-plane path).
var dwDirect = true

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
	if dwDirect && depthwiseDirect3x3(p, xp, w, bias, yp, scratch) {
		return true
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

// depthwiseDirect3x3 is the common 3×3, stride 1, pad 1, undilated
// depthwise case computed straight from the input rows, without the
// padded copy of the plane or the wide output: per output row, the AVX2
// kernel covers the interior columns (taps at column offsets -1, 0, +1 of
// three input rows; a zero row stands in for the padding above and
// below), and the border columns and the tail past the last 8-wide block
// are computed here. scratch must hold W floats. Only for W ≥ 48: per
// CPU time (batch 8, 64 channels, 1 thread) it takes 0.66× the
// phase-plane path's time at 112×112 and 0.85× at 56×56, but 2.4× at
// 28×28 and 14×14, where the per-row calls dominate.
func depthwiseDirect3x3(p ConvParams, xp, w []float32, bias float32, yp, scratch []float32) bool {
	H, W := p.H, p.W
	if p.StrideH != 1 || p.StrideW != 1 || p.DilH != 1 || p.DilW != 1 || p.PadTop != 1 || p.PadLeft != 1 ||
		p.PadBottom != 1 || p.PadRight != 1 || p.OH != H || p.OW != W || W < 48 || len(scratch) < W {
		return false
	}
	zero := scratch[:W]
	clear(zero)
	lo, hi, _, post := clampOf(p)
	blocks := (W - 2) / 8
	_ = xp[H*W-1]
	_ = yp[H*W-1]
	var rows [3][]float32
	var srcs [9]*float32
	for oh := range H {
		for kh := range 3 {
			ih := oh - 1 + kh
			if ih < 0 || ih >= H {
				rows[kh] = zero
			} else {
				rows[kh] = xp[ih*W : (ih+1)*W]
			}
			for kw := range 3 {
				srcs[kh*3+kw] = &rows[kh][kw]
			}
		}
		yr := yp[oh*W : (oh+1)*W]
		dwRow3x3(&yr[1], &srcs, &w[0], blocks, bias, lo, hi)
		if (W-2)%8 != 0 {
			// the last 8 interior columns again, overlapping the blocks
			for t := range srcs {
				srcs[t] = &rows[t/3][t%3+W-10]
			}
			dwRow3x3(&yr[W-9], &srcs, &w[0], 1, bias, lo, hi)
		}
		r0, r1, r2 := rows[0], rows[1], rows[2]
		left := bias + w[1]*r0[0] + w[2]*r0[1] + w[4]*r1[0] + w[5]*r1[1] + w[7]*r2[0] + w[8]*r2[1]
		right := bias + w[0]*r0[W-2] + w[1]*r0[W-1] + w[3]*r1[W-2] + w[4]*r1[W-1] + w[6]*r2[W-2] + w[7]*r2[W-1]
		yr[0], yr[W-1] = min(max(left, lo), hi), min(max(right, lo), hi)
	}
	if post {
		BiasAct(yp, 0, p.Act, p.Alpha, p.Beta)
	}
	return true
}
