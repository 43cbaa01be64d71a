package kernels

import (
	"fmt"
	"math"
)

// PoolParams describes 2-D max pooling over NCHW data, as ONNX MaxPool
// does: x is [N, C, H, W], y is [N, C, OH, OW]. OH/OW may come from ceil
// mode: windows that reach past the padded input ignore the overhang. Zero
// strides and dilations count as 1.
type PoolParams struct {
	N, C, H, W                           int
	KH, KW                               int
	OH, OW                               int
	StrideH, StrideW                     int
	PadTop, PadLeft, PadBottom, PadRight int
	DilH, DilW                           int
}

// conv maps p onto the ConvParams the phase-plane machinery uses, with the
// bottom/right padding extended to cover ceil-mode windows.
func (p PoolParams) conv() ConvParams {
	q := ConvParams{N: p.N, C: p.C, H: p.H, W: p.W, M: p.C, KH: p.KH, KW: p.KW, OH: p.OH, OW: p.OW,
		StrideH: p.StrideH, StrideW: p.StrideW, PadTop: p.PadTop, PadLeft: p.PadLeft,
		PadBottom: p.PadBottom, PadRight: p.PadRight, DilH: p.DilH, DilW: p.DilW, Group: p.C}
	q = q.normalized()
	q.PadBottom = max(q.PadBottom, (q.OH-1)*q.StrideH+q.DilH*(q.KH-1)+1-q.H-q.PadTop)
	q.PadRight = max(q.PadRight, (q.OW-1)*q.StrideW+q.DilW*(q.KW-1)+1-q.W-q.PadLeft)
	return q
}

// Validate reports, wrapping ErrShape, whether p is inconsistent: a
// non-positive size, a negative pad, OH/OW neither the floor nor the ceil
// output size, or a last window starting in the end padding.
func (p PoolParams) Validate() error {
	if p.N < 0 || p.C <= 0 || p.H <= 0 || p.W <= 0 || p.KH <= 0 || p.KW <= 0 || p.OH <= 0 || p.OW <= 0 ||
		p.StrideH < 0 || p.StrideW < 0 || p.DilH < 0 || p.DilW < 0 ||
		p.PadTop < 0 || p.PadLeft < 0 || p.PadBottom < 0 || p.PadRight < 0 {
		return fmt.Errorf("%w: pool %+v has a non-positive size or negative pad", ErrShape, p)
	}
	q := ConvParams{H: p.H, W: p.W, KH: p.KH, KW: p.KW, StrideH: p.StrideH, StrideW: p.StrideW,
		DilH: p.DilH, DilW: p.DilW}.normalized()
	ok := func(in, pads, k, s, d, out int) bool {
		span := in + pads - d*(k-1) - 1
		if span < 0 {
			return false
		}
		return out == span/s+1 || out == (span+s-1)/s+1 // floor or ceil mode
	}
	if !ok(p.H, p.PadTop+p.PadBottom, p.KH, q.StrideH, q.DilH, p.OH) || !ok(p.W, p.PadLeft+p.PadRight, p.KW, q.StrideW, q.DilW, p.OW) {
		return fmt.Errorf("%w: pool output %dx%d does not fit input %dx%d", ErrShape, p.OH, p.OW, p.H, p.W)
	}
	if (p.OH-1)*q.StrideH >= p.H+p.PadTop || (p.OW-1)*q.StrideW >= p.W+p.PadLeft {
		return fmt.Errorf("%w: pool window starts past the input", ErrShape)
	}
	return nil
}

// MaxPool2D computes y = max over each window of x (padding never wins).
// It panics with an error wrapping ErrShape when p is invalid or a slice
// too short. threads < 1 means Threads().
func MaxPool2D(p PoolParams, threads int, x, y []float32) {
	if err := p.Validate(); err != nil {
		panic(err)
	}
	if len(x) < p.N*p.C*p.H*p.W || len(y) < p.N*p.C*p.OH*p.OW {
		panic(fmt.Errorf("%w: pool buffers too short", ErrShape))
	}
	q := p.conv()
	ip := newImplicitPlan(q, 1)
	hw, ohw := p.H*p.W, p.OH*p.OW
	planes := p.N * p.C
	per := max(1, 8192/max(hw, 1))
	t := resolveThreads(threads)
	if planes/per < 4*t {
		per = max(1, planes/(4*t))
	}
	items := (planes + per - 1) / per
	negInf := float32(math.Inf(-1))
	parallelFor(t, items, func(_, it int) {
		sp := getScratch(ip.glen + (ip.n+7)/8*8)
		buf, wide := (*sp)[:ip.glen], (*sp)[ip.glen:]
		for pl := it * per; pl < min(planes, (it+1)*per); pl++ {
			ip.buildFill(q, 1, x[pl*hw:(pl+1)*hw], buf, negInf)
			yp := y[pl*ohw : (pl+1)*ohw]
			if !maxWideFast(ip, buf, wide) {
				for j := range ip.n {
					m := negInf
					for _, o := range ip.rowOff {
						m = max(m, buf[o+j])
					}
					wide[j] = m
				}
			}
			for oh := range p.OH {
				copy(yp[oh*p.OW:(oh+1)*p.OW], wide[oh*ip.wq:oh*ip.wq+p.OW])
			}
		}
		putScratch(sp)
	})
}
