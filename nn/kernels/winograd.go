package kernels

// Winograd F(2×2, 3×3) for 3×3, stride-1, undilated, ungrouped
// convolutions: each 2×2 output tile costs 16 multiplies per input channel
// instead of 36 (2.25× fewer), as 16 GEMMs [M×C]·[C×tiles], one per
// position of the 4×4 transformed tile, between an input transform
// (Bᵀ·d·B) and an output transform (Aᵀ·m·A). Weights are transformed
// (G·g·Gᵀ) and packed once, in PackConvWeights. Rounding differs from the
// direct convolution by a few ulps (the transforms only add and halve).

type winoPlan struct {
	u    []float32 // 16 packed A matrices (M×C), winoULen apart
	uLen int
	th   int // tile rows: ceil(OH/2)
	tw   int // tile columns: ceil(OW/2)
	zero epilogue
}

// winoMinC is the smallest input channel count routed to Winograd. The
// transforms are scalar Go, and measured (NOTES.md) they cost more than the
// multiplies they save at C = 64 and break even at C = 256-512, so
// Winograd is off by default; tests lower this to cover it. Vectorized
// transforms (8 tiles per AVX2 register, from even/odd-split rows) are the
// way to make it pay.
var winoMinC = 1 << 30

func winoOK(p ConvParams) bool {
	return p.KH == 3 && p.KW == 3 && p.StrideH == 1 && p.StrideW == 1 &&
		p.DilH == 1 && p.DilW == 1 && p.Group == 1 && p.C >= winoMinC
}

func newWinoPlan(p ConvParams, w []float32) *winoPlan {
	wp := &winoPlan{th: (p.OH + 1) / 2, tw: (p.OW + 1) / 2}
	wp.uLen = packedALen(p.M, p.C)
	wp.u = make([]float32, 16*wp.uLen)
	ut := make([]float32, 16*p.M*p.C)
	for m := range p.M {
		for c := range p.C {
			g := w[(m*p.C+c)*9 : (m*p.C+c)*9+9]
			// t = G·g (4×3), G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1]
			var t [4][3]float32
			for j := range 3 {
				g0, g1, g2 := g[j], g[3+j], g[6+j]
				t[0][j] = g0
				t[1][j] = 0.5 * (g0 + g1 + g2)
				t[2][j] = 0.5 * (g0 - g1 + g2)
				t[3][j] = g2
			}
			for i := range 4 {
				r := t[i]
				u := [4]float32{r[0], 0.5 * (r[0] + r[1] + r[2]), 0.5 * (r[0] - r[1] + r[2]), r[2]}
				for j := range 4 {
					ut[(i*4+j)*p.M*p.C+m*p.C+c] = u[j]
				}
			}
		}
	}
	for xi := range 16 {
		packA(wp.u[xi*wp.uLen:], false, p.M, p.C, 1, ut[xi*p.M*p.C:], p.C)
	}
	wp.zero = epilogue{bias: make([]float32, (p.M+gemmMR-1)/gemmMR*gemmMR)}
	return wp
}

func (pc *PackedConv) runWinograd(t, n int, x, skip, y []float32) {
	p := pc.p
	wp := pc.wino
	hw, ohw := p.H*p.W, p.OH*p.OW
	// Work items are runs of kr tile rows over all images (a run may span
	// images): ~96 tiles, so each of the 16 GEMMs has a wide enough N, and
	// at least two items per worker.
	rows := n * wp.th
	kr := max(1, min((96+wp.tw-1)/wp.tw, rows/(2*t)))
	items := (rows + kr - 1) / kr
	lo, hi, clamp, post := clampOf(p)
	parallelFor(t, items, func(_, it int) {
		r0 := it * kr
		r1 := min(rows, r0+kr)
		nt := (r1 - r0) * wp.tw
		sp := getScratch(16 * nt * (p.C + p.M))
		v := (*sp)[:16*nt*p.C]
		mo := (*sp)[16*nt*p.C:]
		// Input transform: V[ξ][c][t] = (Bᵀ·d·B)[ξ], Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1].
		for c := range p.C {
			for gr := r0; gr < r1; gr++ {
				img, ty := gr/wp.th, gr%wp.th
				xc := x[(img*p.C+c)*hw : (img*p.C+c+1)*hw]
				iy := 2*ty - p.PadTop
				inY := iy >= 0 && iy+3 < p.H
				for tx := range wp.tw {
					ix := 2*tx - p.PadLeft
					var d [16]float32
					if inY && ix >= 0 && ix+3 < p.W {
						for r := range 4 {
							row := xc[(iy+r)*p.W+ix : (iy+r)*p.W+ix+4]
							d[r*4], d[r*4+1], d[r*4+2], d[r*4+3] = row[0], row[1], row[2], row[3]
						}
					} else {
						for r := range 4 {
							if yy := iy + r; yy >= 0 && yy < p.H {
								for q := range 4 {
									if xx := ix + q; xx >= 0 && xx < p.W {
										d[r*4+q] = xc[yy*p.W+xx]
									}
								}
							}
						}
					}
					var s [16]float32
					for q := range 4 { // columns: Bᵀ·d
						d0, d1, d2, d3 := d[q], d[4+q], d[8+q], d[12+q]
						s[q], s[4+q], s[8+q], s[12+q] = d0-d2, d1+d2, d2-d1, d1-d3
					}
					ti := (gr-r0)*wp.tw + tx
					for r := range 4 { // rows: (Bᵀ·d)·B
						s0, s1, s2, s3 := s[r*4], s[r*4+1], s[r*4+2], s[r*4+3]
						o := (r*4*p.C+c)*nt + ti
						v[o] = s0 - s2
						v[o+p.C*nt] = s1 + s2
						v[o+2*p.C*nt] = s2 - s1
						v[o+3*p.C*nt] = s1 - s3
					}
				}
			}
		}
		for q := range 16 {
			gemmPackedA(wp.u[q*wp.uLen:(q+1)*wp.uLen], p.M, nt, p.C, false, v[q*p.C*nt:(q+1)*p.C*nt], nt, mo[q*p.M*nt:(q+1)*p.M*nt], nt, &wp.zero)
		}
		// Output transform: Y = Aᵀ·m·A, Aᵀ = [1 1 1 0; 0 1 -1 -1], plus bias.
		for m := range p.M {
			b := pc.bias[m]
			for gr := r0; gr < r1; gr++ {
				img, ty := gr/wp.th, gr%wp.th
				ym := y[(img*p.M+m)*ohw : (img*p.M+m+1)*ohw]
				var sm []float32
				if skip != nil {
					sm = skip[(img*p.M+m)*ohw : (img*p.M+m+1)*ohw]
				}
				for tx := range wp.tw {
					ti := (gr-r0)*wp.tw + tx
					var e [16]float32
					for q := range 16 {
						e[q] = mo[(q*p.M+m)*nt+ti]
					}
					var s [8]float32
					for j := range 4 {
						s[j] = e[j] + e[4+j] + e[8+j]
						s[4+j] = e[4+j] - e[8+j] - e[12+j]
					}
					oy, ox := 2*ty, 2*tx
					y00 := s[0] + s[1] + s[2] + b
					y01 := s[1] - s[2] - s[3] + b
					y10 := s[4] + s[5] + s[6] + b
					y11 := s[5] - s[6] - s[7] + b
					if sm != nil { // skip may be y: read each value before writing it
						y00 += sm[oy*p.OW+ox]
						if ox+1 < p.OW {
							y01 += sm[oy*p.OW+ox+1]
						}
						if oy+1 < p.OH {
							y10 += sm[(oy+1)*p.OW+ox]
							if ox+1 < p.OW {
								y11 += sm[(oy+1)*p.OW+ox+1]
							}
						}
					}
					ym[oy*p.OW+ox] = y00
					if ox+1 < p.OW {
						ym[oy*p.OW+ox+1] = y01
					}
					if oy+1 < p.OH {
						ym[(oy+1)*p.OW+ox] = y10
						if ox+1 < p.OW {
							ym[(oy+1)*p.OW+ox+1] = y11
						}
					}
				}
				seg := ym[2*ty*p.OW : min(p.OH, 2*ty+2)*p.OW]
				if clamp {
					biasClamp(seg, 0, lo, hi)
				}
				if post {
					BiasAct(seg, 0, p.Act, p.Alpha, p.Beta)
				}
			}
		}
		putScratch(sp)
	})
}
