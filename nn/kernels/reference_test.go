package kernels

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Naive references the fast paths are checked against. They are written
// for clarity, in float64, straight from the definitions.

func refGemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := range m {
		for j := range n {
			var s float64
			for p := range k {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			old := float64(c[i*ldc+j])
			if beta == 0 {
				old = 0
			}
			c[i*ldc+j] = float32(float64(alpha)*s + float64(beta)*old)
		}
	}
}

func refAct(v float64, act Activation, alpha, beta float32) float64 {
	switch act {
	case ActRelu:
		return math.Max(v, 0)
	case ActClip:
		return math.Min(math.Max(v, float64(alpha)), float64(beta))
	case ActLeakyRelu:
		if v < 0 {
			return float64(alpha) * v
		}
		return v
	case ActSigmoid:
		return 1 / (1 + math.Exp(-v))
	case ActTanh:
		return math.Tanh(v)
	case ActHardSigmoid:
		return math.Max(0, math.Min(1, float64(alpha)*v+float64(beta)))
	case ActHardSwish:
		return v * math.Max(0, math.Min(1, v/6+0.5))
	}
	return v
}

func refConv(p ConvParams, x, w, bias, y []float32) {
	cg, mg := p.C/p.Group, p.M/p.Group
	for n := range p.N {
		for m := range p.M {
			g := m / mg
			for oh := range p.OH {
				for ow := range p.OW {
					var s float64
					if bias != nil {
						s = float64(bias[m])
					}
					for c := range cg {
						ci := g*cg + c
						for kh := range p.KH {
							ih := oh*p.StrideH - p.PadTop + kh*p.DilH
							if ih < 0 || ih >= p.H {
								continue
							}
							for kw := range p.KW {
								iw := ow*p.StrideW - p.PadLeft + kw*p.DilW
								if iw < 0 || iw >= p.W {
									continue
								}
								s += float64(x[((n*p.C+ci)*p.H+ih)*p.W+iw]) * float64(w[((m*cg+c)*p.KH+kh)*p.KW+kw])
							}
						}
					}
					y[((n*p.M+m)*p.OH+oh)*p.OW+ow] = float32(refAct(s, p.Act, p.Alpha, p.Beta))
				}
			}
		}
	}
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = r.Float32()*2 - 1
	}
	return s
}

// relErr is the relative L2 error of got against want.
func relErr(got, want []float32) float64 {
	var num, den float64
	for i := range want {
		d := float64(got[i]) - float64(want[i])
		num += d * d
		den += float64(want[i]) * float64(want[i])
	}
	if den == 0 {
		return math.Sqrt(num)
	}
	return math.Sqrt(num / den)
}

// maxAbsErr is the largest elementwise difference, scaled by the largest
// magnitude of want (at least 1).
func maxAbsErr(got, want []float32) float64 {
	var m, scale float64 = 0, 1
	for i := range want {
		m = math.Max(m, math.Abs(float64(got[i])-float64(want[i])))
		scale = math.Max(scale, math.Abs(float64(want[i])))
	}
	return m / scale
}

func assertClose(t *testing.T, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("length %d, want %d", len(got), len(want))
	}
	for i := range got {
		if math.IsNaN(float64(got[i])) {
			t.Fatalf("NaN at %d", i)
		}
	}
	if e := maxAbsErr(got, want); e > tol {
		for i := range got {
			if math.Abs(float64(got[i])-float64(want[i])) > tol*math.Max(1, math.Abs(float64(want[i]))) {
				t.Fatalf("max error %.3g > %.3g; first bad at %d: got %v want %v", e, tol, i, got[i], want[i])
			}
		}
		t.Fatalf("max error %.3g > %.3g", e, tol)
	}
}
