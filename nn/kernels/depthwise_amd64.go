package kernels

import "math"

//go:noescape
func deinterleave2(even, odd, src *float32, n16 int)

//go:noescape
func dwRow3x3(out *float32, srcs *[9]*float32, w *float32, blocks int, bias, lo, hi float32)

// depthwisePlaneFast handles 3×3 depthwise filters with stride 1 or 2 and
// no dilation (MobileNet's) with an AVX2 row kernel: the plane is copied
// zero-padded into scratch (for stride 2, split into even and odd columns
// so every tap is a unit-stride read), then each output row is 9 FMA
// streams, 8 outputs at a time, with bias and Relu/Clip fused.
func depthwisePlaneFast(p ConvParams, xp, w []float32, bias float32, yp []float32) bool {
	if !depthwiseFastOK(p) {
		return false
	}
	s := p.StrideW
	hp, wp := p.H+p.PadTop+p.PadBottom, p.W+p.PadLeft+p.PadRight
	blocks := (p.OW + 7) / 8
	// Row layout in scratch: stride 1: one row of stride rs per padded row;
	// stride 2: even columns then odd columns, each rs long.
	rs := (blocks*8+2+7)/8*8 + 8
	perRow := rs * s
	sp := getScratch(hp*perRow + blocks*8)
	buf := *sp
	clear(buf[:hp*perRow])
	for ih := range p.H {
		src := xp[ih*p.W : (ih+1)*p.W]
		row := buf[(ih+p.PadTop)*perRow : (ih+p.PadTop+1)*perRow]
		if s == 1 {
			copy(row[p.PadLeft:], src)
			continue
		}
		// src[2t] goes to padded column 2t+PadLeft, src[2t+1] to 2t+1+PadLeft.
		pl := p.PadLeft
		ev := row[(pl&1)*rs+pl>>1:]
		od := row[((pl+1)&1)*rs+(pl+1)>>1:]
		n16 := p.W / 16
		if n16 > 0 {
			_ = ev[n16*8-1]
			_ = od[n16*8-1]
			deinterleave2(&ev[0], &od[0], &src[0], n16)
		}
		for iw := n16 * 16; iw < p.W; iw++ {
			if iw&1 == 0 {
				ev[iw>>1] = src[iw]
			} else {
				od[iw>>1] = src[iw]
			}
		}
	}
	_ = wp
	lo, hi := float32(math.Inf(-1)), float32(math.Inf(1))
	post := false
	switch p.Act {
	case ActNone:
	case ActRelu:
		lo = 0
	case ActClip:
		lo, hi = p.Alpha, p.Beta
	default:
		post = true
	}
	tmp := buf[hp*perRow:]
	var srcs [9]*float32
	for oh := range p.OH {
		for kh := range 3 {
			r := (oh*s + kh) * perRow
			if s == 1 {
				srcs[kh*3] = &buf[r]
				srcs[kh*3+1] = &buf[r+1]
				srcs[kh*3+2] = &buf[r+2]
			} else {
				srcs[kh*3] = &buf[r]
				srcs[kh*3+1] = &buf[r+rs]
				srcs[kh*3+2] = &buf[r+1]
			}
		}
		dst := yp[oh*p.OW : (oh+1)*p.OW]
		if p.OW%8 == 0 {
			dwRow3x3(&dst[0], &srcs, &w[0], blocks, bias, lo, hi)
		} else {
			dwRow3x3(&tmp[0], &srcs, &w[0], blocks, bias, lo, hi)
			copy(dst, tmp[:p.OW])
		}
	}
	putScratch(sp)
	if post {
		BiasAct(yp, 0, p.Act, p.Alpha, p.Beta)
	}
	return true
}

func depthwiseFastOK(p ConvParams) bool {
	return hasAVX2FMA && p.KH == 3 && p.KW == 3 && p.DilH == 1 && p.DilW == 1 &&
		p.StrideH == p.StrideW && (p.StrideH == 1 || p.StrideH == 2)
}
