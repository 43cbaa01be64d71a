package kernels

// Winograd F(4×4, 3×3): each 4×4 output tile costs 36 multiplies per input
// channel instead of 144 (4× fewer; F(2×2, 3×3) saves 2.25×), as 36 GEMMs
// [M×C]·[C×tiles] between the input transform Bᵀ·d·B of 6×6 input tiles
// (stride 4) and the output transform Aᵀ·m·A (Lavin & Gray 2016):
//
//	Bᵀ = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//	G  = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]
//	Aᵀ = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
//
// The transforms scale values by up to 8 and back, so rounding grows a
// little over F(2×2, 3×3): still ~1e-6 relative on the model tests. Planes
// narrower than wino43MinW use F(2×2, 3×3), whose smaller tiles waste less
// on 7×7 planes and give the GEMMs more columns.

// wino43MinW is the smallest output width (and height) run as F(4×4, 3×3).
var wino43MinW = 12

// winoG43 is G of F(4×4, 3×3) applied to 3 values.
func winoG43(g0, g1, g2 float64) [6]float64 {
	return [6]float64{
		g0 / 4,
		-(g0 + g1 + g2) / 6,
		-(g0 - g1 + g2) / 6,
		g0/24 + g1/12 + g2/6,
		g0/24 - g1/12 + g2/6,
		g2,
	}
}

// newWino43Plan transforms the weights (U = G·g·Gᵀ, in float64) and packs
// the 36 M×C matrices.
func newWino43Plan(p ConvParams, w []float32) *winoPlan {
	wp := &winoPlan{tile: 4, th: (p.OH + 3) / 4, tw: (p.OW + 3) / 4}
	wp.uLen = packedALen(p.M, p.C)
	wp.u = make([]float32, 36*wp.uLen)
	ut := make([]float32, 36*p.M*p.C)
	for m := range p.M {
		for c := range p.C {
			g := w[(m*p.C+c)*9 : (m*p.C+c)*9+9]
			var t [6][3]float64 // G·g
			for j := range 3 {
				col := winoG43(float64(g[j]), float64(g[3+j]), float64(g[6+j]))
				for i := range 6 {
					t[i][j] = col[i]
				}
			}
			for i := range 6 {
				row := winoG43(t[i][0], t[i][1], t[i][2])
				for j := range 6 {
					ut[(i*6+j)*p.M*p.C+m*p.C+c] = float32(row[j])
				}
			}
		}
	}
	for xi := range 36 {
		packA(wp.u[xi*wp.uLen:], false, p.M, p.C, 1, ut[xi*p.M*p.C:], p.C)
	}
	wp.zero = epilogue{bias: make([]float32, (p.M+gemmMR-1)/gemmMR*gemmMR)}
	return wp
}

// winoBT43 is Bᵀ·z.
func winoBT43(z [6]float32) [6]float32 {
	return [6]float32{
		4*z[0] - 5*z[2] + z[4],
		-4*z[1] - 4*z[2] + z[3] + z[4],
		4*z[1] - 4*z[2] - z[3] + z[4],
		-2*z[1] - z[2] + 2*z[3] + z[4],
		2*z[1] - z[2] - 2*z[3] + z[4],
		4*z[1] - 5*z[3] + z[5],
	}
}

// winoAT43 is Aᵀ·z.
func winoAT43(z [6]float32) [4]float32 {
	return [4]float32{
		z[0] + z[1] + z[2] + z[3] + z[4],
		z[1] - z[2] + 2*z[3] - 2*z[4],
		z[1] + z[2] + 4*z[3] + 4*z[4],
		z[1] - z[2] + 8*z[3] - 8*z[4] + z[5],
	}
}

// winoIn43Go is the F(4×4, 3×3) input transform of `chunks` runs of 8
// tiles of one channel and tile row. src holds the tile row's 6 padded
// input rows, 4*ld floats apart, each as 4 phase rows ld floats apart
// (phase k holds padded columns 4j+k at j): tile t reads row r as P0[t],
// P1[t], P2[t], P3[t], P0[t+1], P1[t+1]. Element ξ = 6i+j of V = Bᵀ·d·B
// goes to dst[ξ*xs + t].
func winoIn43Go(src []float32, ld, chunks int, dst []float32, xs int) {
	for t := range 8 * chunks {
		var tt [6][6]float32 // d·B: row r, column j
		for r := range 6 {
			b := src[r*4*ld:]
			tt[r] = winoBT43([6]float32{b[t], b[ld+t], b[2*ld+t], b[3*ld+t], b[t+1], b[ld+t+1]})
		}
		for j := range 6 {
			col := winoBT43([6]float32{tt[0][j], tt[1][j], tt[2][j], tt[3][j], tt[4][j], tt[5][j]})
			for i := range 6 {
				dst[(6*i+j)*xs+t] = col[i]
			}
		}
	}
}

// winoOut43Go is the F(4×4, 3×3) output transform of `chunks` runs of 8
// tiles of one output channel and tile row: element ξ = 6i+j of tile t's
// GEMM result is src[ξ*ls + t]; row a of Y = Aᵀ·m·A + bias, clamped to
// [lo, hi], goes to dst[a*ldd + 4t : a*ldd + 4t + 4].
func winoOut43Go(src []float32, ls, chunks int, dst []float32, ldd int, bias, lo, hi float32) {
	for t := range 8 * chunks {
		var u [6][4]float32 // m·A
		for i := range 6 {
			var z [6]float32
			for j := range 6 {
				z[j] = src[(6*i+j)*ls+t]
			}
			u[i] = winoAT43(z)
		}
		for b := range 4 {
			col := winoAT43([6]float32{u[0][b], u[1][b], u[2][b], u[3][b], u[4][b], u[5][b]})
			for a := range 4 {
				dst[a*ldd+4*t+b] = min(max(col[a]+bias, lo), hi)
			}
		}
	}
}

// splitRow43 writes one padded input row as its 4 phase rows (dst: 4*ld
// floats, phase k at k*ld holding padded column 4j+k at j): src lands at
// padded column pl of pad (4*ld floats of scratch, a multiple of 32).
func splitRow43(dst []float32, ld, pl int, src, pad []float32) {
	pad = pad[:4*ld]
	clear(pad[:pl])
	copy(pad[pl:], src)
	clear(pad[min(pl+len(src), len(pad)):])
	splitPhases4(dst, ld, pad)
}

// splitPhases4Go writes src[4j+k] to dst[k*ld + j] for k < 4.
func splitPhases4Go(dst []float32, ld int, src []float32) {
	for i, v := range src {
		dst[(i&3)*ld+i>>2] = v
	}
}

// runWinograd43 is runWinograd for F(4×4, 3×3): the same work split (runs
// of tile rows, ~48 tiles, as V and the GEMM results are 36 rather than 16
// matrices), the padded input rows of an image segment split once into
// phase rows (plane: padded row pr at pr*4*ld), V as [36][C][nt] with
// ξ blocks xs = C*nt + 8 apart (the last run of 8 tiles of a tile row
// spills into the next row or the slack), the GEMM results [36][M][nt] + 8.
func (pc *PackedConv) runWinograd43(t, n int, x, skip, y []float32) {
	p := pc.p
	wp := pc.wino
	hw, ohw := p.H*p.W, p.OH*p.OW
	rows := n * wp.th
	kr := max(1, min((48+wp.tw-1)/wp.tw, rows/(2*t)))
	items := (rows + kr - 1) / kr
	lo, hi, _, post := clampOf(p)
	chunks := (wp.tw + 7) / 8
	ld := 8*chunks + 8
	ldd := 32 * chunks
	parallelFor(t, items, func(_, it int) {
		r0 := it * kr
		r1 := min(rows, r0+kr)
		nt := (r1 - r0) * wp.tw
		xs := p.C*nt + 8
		vLen, moLen := 36*xs, 36*p.M*nt+8
		pLen := (4*kr + 2) * 4 * ld
		sp := getScratch(vLen + moLen + pLen + 4*ldd + 4*ld + 40*8)
		s := *sp
		v, s := s[:vLen], s[vLen:]
		mo, s := s[:moLen], s[moLen:]
		plane, s := s[:pLen], s[pLen:]
		out, s := s[:4*ldd], s[4*ldd:]
		rowTmp, tr := s[:4*ld], s[4*ld:]
		for c := range p.C {
			winoSegments(r0, r1, wp.th, func(img, tyA, gA, gB int) {
				xc := x[(img*p.C+c)*hw : (img*p.C+c+1)*hw]
				for pr := range 4*(gB-gA) + 2 {
					dst := plane[pr*4*ld : (pr+1)*4*ld]
					if yy := 4*tyA + pr - p.PadTop; yy >= 0 && yy < p.H {
						splitRow43(dst, ld, p.PadLeft, xc[yy*p.W:(yy+1)*p.W], rowTmp)
					} else {
						clear(dst)
					}
				}
				for gr := gA; gr < gB; gr++ {
					wino43In(plane[4*(gr-gA)*4*ld:], ld, chunks, v[c*nt+(gr-r0)*wp.tw:], xs, tr)
				}
			})
		}
		for q := range 36 {
			gemmPackedA(wp.u[q*wp.uLen:(q+1)*wp.uLen], p.M, nt, p.C, false, v[q*xs:q*xs+p.C*nt], nt, mo[q*p.M*nt:(q+1)*p.M*nt], nt, &wp.zero)
		}
		olo, ohi := winoClamp(skip, lo, hi)
		for m := range p.M {
			for gr := r0; gr < r1; gr++ {
				img, ty := gr/wp.th, gr%wp.th
				wino43Out(mo[m*nt+(gr-r0)*wp.tw:], p.M*nt, chunks, out, ldd, pc.bias[m], olo, ohi, tr)
				pc.winoStore(y, skip, out, ldd, (img*p.M+m)*ohw, 4*ty, 4, lo, hi, post)
			}
		}
		putScratch(sp)
	})
}
