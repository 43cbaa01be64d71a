package kernels

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func refMaxPool(p PoolParams, x, y []float32) {
	sh, sw, dh, dw := max(p.StrideH, 1), max(p.StrideW, 1), max(p.DilH, 1), max(p.DilW, 1)
	for pl := range p.N * p.C {
		for oh := range p.OH {
			for ow := range p.OW {
				m := math.Inf(-1)
				for kh := range p.KH {
					ih := oh*sh - p.PadTop + kh*dh
					for kw := range p.KW {
						iw := ow*sw - p.PadLeft + kw*dw
						if ih >= 0 && ih < p.H && iw >= 0 && iw < p.W {
							m = math.Max(m, float64(x[pl*p.H*p.W+ih*p.W+iw]))
						}
					}
				}
				y[pl*p.OH*p.OW+oh*p.OW+ow] = float32(m)
			}
		}
	}
}

func poolCase(n, c, h, w, k, s, pad int, ceil bool) PoolParams {
	out := func(in int) int {
		span := in + 2*pad - k
		if ceil {
			return (span+s-1)/s + 1
		}
		return span/s + 1
	}
	return PoolParams{N: n, C: c, H: h, W: w, KH: k, KW: k, OH: out(h), OW: out(w), StrideH: s, StrideW: s,
		PadTop: pad, PadLeft: pad, PadBottom: pad, PadRight: pad}
}

func TestMaxPool2DMatchesReference(t *testing.T) {
	cases := []PoolParams{
		poolCase(2, 3, 112, 112, 3, 2, 1, false), // resnet
		poolCase(1, 4, 111, 111, 3, 2, 0, true),  // squeezenet (ceil)
		poolCase(1, 2, 8, 8, 3, 2, 0, true),      // ceil adds a partial window
		poolCase(1, 2, 9, 7, 2, 2, 0, false),
		poolCase(2, 3, 5, 6, 3, 1, 1, false),
		poolCase(1, 1, 4, 4, 4, 1, 0, false),
		{N: 1, C: 2, H: 10, W: 9, KH: 3, KW: 2, OH: 3, OW: 5, StrideH: 3, StrideW: 2, PadTop: 1, PadLeft: 0, PadBottom: 0, PadRight: 1, DilH: 1, DilW: 1},
		{N: 1, C: 2, H: 9, W: 9, KH: 3, KW: 3, OH: 5, OW: 5, StrideH: 1, StrideW: 1, PadTop: 0, PadLeft: 0, PadBottom: 0, PadRight: 0, DilH: 2, DilW: 2},
	}
	for i, p := range cases {
		t.Run(fmt.Sprintf("%d/%+v", i, p), func(t *testing.T) {
			if err := p.Validate(); err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(uint64(i), 3))
			x := randSlice(r, p.N*p.C*p.H*p.W)
			want := make([]float32, p.N*p.C*p.OH*p.OW)
			refMaxPool(p, x, want)
			for _, th := range []int{1, 3} {
				got := make([]float32, len(want))
				MaxPool2D(p, th, x, got)
				for j := range got {
					if got[j] != want[j] {
						t.Fatalf("threads %d: y[%d] = %v, want %v", th, j, got[j], want[j])
					}
				}
			}
		})
	}
}

func TestPoolValidate(t *testing.T) {
	good := poolCase(1, 2, 8, 8, 3, 2, 0, true)
	for name, f := range map[string]func(*PoolParams){
		"zero C":      func(p *PoolParams) { p.C = 0 },
		"OH too big":  func(p *PoolParams) { p.OH += 2 },
		"neg pad":     func(p *PoolParams) { p.PadTop = -1 },
		"kernel > in": func(p *PoolParams) { p.KH = 12 },
	} {
		p := good
		f(&p)
		if err := p.Validate(); !errors.Is(err, ErrShape) {
			t.Errorf("%s: Validate = %v, want ErrShape", name, err)
		}
	}
}
