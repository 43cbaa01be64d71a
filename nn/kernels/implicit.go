package kernels

import "sync"

// Implicit GEMM without im2col. The input of one image and group is
// rearranged once into sh×sw "phase planes" of the zero-padded input (for
// stride 1 that is just the padded input): phase (a, b) holds padded pixels
// (a + sh*i, b + sw*j) at (i, j), in planes of Hq×Wq with Hq = ceil(Hp/sh),
// Wq = ceil(Wp/sw). Output pixel (oh, ow) then reads tap (kh, kw) of channel
// c at plane ((c, (kh*dh)%sh, (kw*dw)%sw)), position (oh + kh*dh/sh,
// ow + kw*dw/sw): a fixed offset per GEMM row r = (c, kh, kw) from the
// output position oh*Wq + ow. So B(r, j) = phases[rowOff[r] + j] over
// "wide" output columns j = oh*Wq + ow, of which ow >= OW are garbage,
// computed and dropped (Wq-OW of every Wq: ~3% at 56×56 stride 1). The
// input is read ~once instead of KH*KW times, and B is packed straight
// from it.

type implicitPlan struct {
	hp, wp int // padded input
	hq, wq int // phase plane
	plane  int // hq*wq
	glen   int // floats of phases per image and group, slack included
	n      int // wide output columns: (OH-1)*wq + OW
	rowOff []int
	hiOff  int // largest rowOff
}

func newImplicitPlan(p ConvParams, cg int) *implicitPlan {
	ip := &implicitPlan{hp: p.H + p.PadTop + p.PadBottom, wp: p.W + p.PadLeft + p.PadRight}
	ip.hq = (ip.hp + p.StrideH - 1) / p.StrideH
	ip.wq = (ip.wp + p.StrideW - 1) / p.StrideW
	ip.plane = ip.hq * ip.wq
	ip.n = (p.OH-1)*ip.wq + p.OW
	ip.rowOff = make([]int, cg*p.KH*p.KW)
	r := 0
	for c := range cg {
		for kh := range p.KH {
			th := kh * p.DilH
			for kw := range p.KW {
				tw := kw * p.DilW
				ph, pw := th%p.StrideH, tw%p.StrideW
				ip.rowOff[r] = ((c*p.StrideH+ph)*p.StrideW+pw)*ip.plane + (th/p.StrideH)*ip.wq + tw/p.StrideW
				r++
			}
		}
	}
	hi := 0
	for _, o := range ip.rowOff {
		hi = max(hi, o)
	}
	ip.hiOff = hi
	ip.glen = max(cg*p.StrideH*p.StrideW*ip.plane, hi+ip.n) + gemmNR
	return ip
}

// build writes the phase planes of one image and group (xg is [cg, H, W])
// into dst (ip.glen floats), padding with zeros.
func (ip *implicitPlan) build(p ConvParams, cg int, xg, dst []float32) {
	ip.buildFill(p, cg, xg, dst, 0)
}

// fill sets every element of s to v.
func fill(s []float32, v float32) {
	if v == 0 {
		clear(s)
		return
	}
	if len(s) == 0 {
		return
	}
	s[0] = v
	for i := 1; i < len(s); i *= 2 {
		copy(s[i:], s[:i])
	}
}

// buildFill is build with padding value pad (-Inf for max pooling).
func (ip *implicitPlan) buildFill(p ConvParams, cg int, xg, dst []float32, pad float32) {
	dst = dst[:ip.glen]
	hw := p.H * p.W
	// Fill everything once (memclr / doubling copy), then copy the rows
	// in: cheaper than filling the 1-2 pad cells of each row separately.
	fill(dst, pad)
	if p.StrideH == 1 && p.StrideW == 1 {
		for c := range cg {
			pl := dst[c*ip.plane : (c+1)*ip.plane]
			src := xg[c*hw : (c+1)*hw]
			for ih := range p.H {
				o := (ih+p.PadTop)*ip.wp + p.PadLeft
				copy(pl[o:o+p.W], src[ih*p.W:(ih+1)*p.W])
			}
		}
		return
	}
	sh, sw := p.StrideH, p.StrideW
	if sh == 2 && sw == 2 {
		// src[2t] lands in padded column 2t+PadLeft, src[2t+1] in 2t+1+PadLeft.
		pl := p.PadLeft
		eo, oo := (pl&1)*ip.plane+pl>>1, ((pl+1)&1)*ip.plane+(pl+1)>>1
		for c := range cg {
			for ih := range p.H {
				a := ih + p.PadTop
				prow := c*4*ip.plane + (a&1)*2*ip.plane + (a>>1)*ip.wq
				splitEvenOdd(dst[prow+eo:], dst[prow+oo:], xg[c*hw+ih*p.W:c*hw+(ih+1)*p.W])
			}
		}
		return
	}
	for c := range cg {
		for ih := range p.H {
			a := ih + p.PadTop
			prow := c*sh*sw*ip.plane + (a%sh)*sw*ip.plane + (a/sh)*ip.wq
			src := xg[c*hw+ih*p.W : c*hw+(ih+1)*p.W]
			for b := range sw {
				// columns iw with (iw+PadLeft) % sw == b
				iw0 := ((b-p.PadLeft)%sw + sw) % sw
				d := dst[prow+b*ip.plane:]
				for iw := iw0; iw < p.W; iw += sw {
					d[(iw+p.PadLeft)/sw] = src[iw]
				}
			}
		}
	}
}

func (pc *PackedConv) runImplicit(t, n int, x, skip, y []float32) {
	p := pc.p
	ip := pc.imp
	hw, ohw := p.H*p.W, p.OH*p.OW
	groups := n * p.Group
	// Phase 1: phase planes of every image and group.
	php := getScratch(groups * ip.glen)
	ph := *php
	parallelFor(t, groups, func(_, i int) {
		img, g := i/p.Group, i%p.Group
		ip.build(p, pc.cg, x[(img*p.C+g*pc.cg)*hw:(img*p.C+(g+1)*pc.cg)*hw], ph[i*ip.glen:(i+1)*ip.glen])
	})
	// Phase 2: GEMM over chunks of wide columns, then the epilogue copies
	// the valid columns out with bias and activation.
	chunk := pc.wideChunk(t, n)
	lo, hi, _, post := clampOf(p)
	per := (ip.n + chunk - 1) / chunk
	parallelFor(t, groups*per, func(_, it int) {
		i, j0 := it/per, (it%per)*chunk
		img, g := i/p.Group, i%p.Group
		ncol := min(chunk, ip.n-j0)
		cp := getScratch(pc.mg * ncol)
		cs := *cp
		offs, op := pc.implicitOffs(j0)
		gemmPackedAOff(pc.wp[g*pc.wpLen:(g+1)*pc.wpLen], pc.mg, ncol, pc.kdim, ph[i*ip.glen:(i+1)*ip.glen], offs, cs, ncol, pc.epFor(g, nil, skip != nil))
		yg := y[(img*p.M+g*pc.mg)*ohw : (img*p.M+(g+1)*pc.mg)*ohw]
		var sg []float32
		if skip != nil {
			sg = skip[(img*p.M+g*pc.mg)*ohw : (img*p.M+(g+1)*pc.mg)*ohw]
		}
		oh0, oh1 := j0/ip.wq, min(p.OH, (j0+ncol+ip.wq-1)/ip.wq)
		for m := range pc.mg {
			crow := cs[m*ncol : (m+1)*ncol]
			yrow := yg[m*ohw : (m+1)*ohw]
			for oh := oh0; oh < oh1; oh++ {
				a := max(oh*ip.wq, j0)
				b := min(oh*ip.wq+p.OW, j0+ncol)
				if a >= b {
					continue
				}
				d0, d1 := oh*p.OW+a-oh*ip.wq, oh*p.OW+b-oh*ip.wq
				dst := yrow[d0:d1]
				if sg != nil {
					addClamp(dst, crow[a-j0:b-j0], sg[m*ohw+d0:m*ohw+d1], lo, hi)
					if post {
						BiasAct(dst, 0, p.Act, p.Alpha, p.Beta)
					}
					continue
				}
				copy(dst, crow[a-j0:b-j0])
				if pc.post {
					BiasAct(dst, 0, p.Act, p.Alpha, p.Beta)
				}
			}
		}
		putScratch(cp)
		if op != nil {
			intPool.Put(op)
		}
	})
	putScratch(php)
}

// implicitOffs returns the row offsets for a chunk starting at wide column
// j0: rowOff itself for j0 == 0, else a shifted copy from intPool, also
// returned so the caller can put it back.
func (pc *PackedConv) implicitOffs(j0 int) ([]int, *[]int) {
	if j0 == 0 {
		return pc.imp.rowOff, nil
	}
	op, _ := intPool.Get().(*[]int)
	if op == nil || cap(*op) < len(pc.imp.rowOff) {
		s := make([]int, len(pc.imp.rowOff))
		op = &s
	}
	offs := (*op)[:len(pc.imp.rowOff)]
	for r, o := range pc.imp.rowOff {
		offs[r] = o + j0
	}
	return offs, op
}

var intPool sync.Pool

// wideChunk picks the wide-column chunk per work item: the C block
// (mg×chunk) stays within ~256 KiB, and small batches still give every
// worker work.
func (pc *PackedConv) wideChunk(t, n int) int {
	ip := pc.imp
	chunk := max(256, (65536/pc.mg+gemmNR-1)/gemmNR*gemmNR)
	items := n * pc.p.Group
	if items < 2*t {
		per := (2*t + items - 1) / items
		c := (ip.n + per - 1) / per
		chunk = min(chunk, max(64, (c+gemmNR-1)/gemmNR*gemmNR))
	}
	return max(1, min(chunk, ip.n))
}
