package kernels

// runDepthwise computes a convolution with one input channel per group
// (depthwise, channel multiplier mg) plane by plane: work items are
// (image, output channel) pairs.
func (pc *PackedConv) runDepthwise(t, n int, x, skip, y []float32) {
	p := pc.p
	pa := p // the activation, applied after the residual when there is one
	if skip != nil {
		p.Act = ActNone
	}
	hw, ohw := p.H*p.W, p.OH*p.OW
	kk := p.KH * p.KW
	// Several planes per work item when planes are small, so per-item
	// costs (dispatch, scratch) stay negligible.
	per := max(1, 8192/max(hw, ohw))
	planes := n * p.M
	items := (planes + per - 1) / per
	if items < 4*t && per > 1 {
		per = max(1, planes/(4*t))
		items = (planes + per - 1) / per
	}
	parallelFor(t, items, func(_, it int) {
		var sp *[]float32
		need := ohw
		if pc.imp != nil {
			need += depthwiseScratch(pc.imp)
		}
		sp = getScratch(need)
		plane, scratch := (*sp)[:ohw], (*sp)[ohw:]
		for q := it * per; q < min(planes, (it+1)*per); q++ {
			img, m := q/p.M, q%p.M
			c := m / pc.mg
			xp := x[(img*p.C+c)*hw : (img*p.C+c+1)*hw]
			yp := y[(img*p.M+m)*ohw : (img*p.M+m+1)*ohw]
			out := yp
			if skip != nil {
				out = plane // skip may be y: keep it intact until the add
			}
			if !depthwisePlaneFast(p, pc.imp, xp, pc.w[m*kk:(m+1)*kk], pc.bias[m], out, scratch) {
				depthwisePlane(p, xp, pc.w[m*kk:(m+1)*kk], pc.bias[m], out)
			}
			if skip != nil {
				sk := skip[(img*p.M+m)*ohw : (img*p.M+m+1)*ohw]
				lo, hi, _, post := clampOf(pa)
				addClamp(yp, out, sk, lo, hi)
				if post {
					BiasAct(yp, 0, pa.Act, pa.Alpha, pa.Beta)
				}
			}
		}
		putScratch(sp)
	})
}

// depthwisePlane convolves one [H, W] plane with one KH×KW filter.
func depthwisePlane(p ConvParams, xp, w []float32, bias float32, yp []float32) {
	for i := range yp {
		yp[i] = bias
	}
	for kh := range p.KH {
		for kw := range p.KW {
			wv := w[kh*p.KW+kw]
			iwBase := kw*p.DilW - p.PadLeft
			// ow range with 0 <= ow*sw + iwBase < W
			lo := 0
			if iwBase < 0 {
				lo = (-iwBase + p.StrideW - 1) / p.StrideW
			}
			hi := 0
			if p.W-iwBase > 0 {
				hi = min(p.OW, (p.W-iwBase+p.StrideW-1)/p.StrideW)
			}
			if lo >= hi {
				continue
			}
			for oh := range p.OH {
				ih := oh*p.StrideH - p.PadTop + kh*p.DilH
				if ih < 0 || ih >= p.H {
					continue
				}
				xr := xp[ih*p.W : (ih+1)*p.W]
				yr := yp[oh*p.OW+lo : oh*p.OW+hi]
				if p.StrideW == 1 {
					xs := xr[lo+iwBase : hi+iwBase]
					for j := range yr {
						yr[j] += wv * xs[j]
					}
				} else {
					for j := range yr {
						yr[j] += wv * xr[(lo+j)*p.StrideW+iwBase]
					}
				}
			}
		}
	}
	if p.Act != ActNone {
		BiasAct(yp, 0, p.Act, p.Alpha, p.Beta)
	}
}
