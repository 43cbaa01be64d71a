package kernels

import "math"

// Winograd F(2×2, 3×3) for 3×3, stride-1, undilated, ungrouped
// convolutions: each 2×2 output tile costs 16 multiplies per input channel
// instead of 36 (2.25× fewer), as 16 GEMMs [M×C]·[C×tiles], one per
// position of the 4×4 transformed tile, between an input transform
// (Bᵀ·d·B) and an output transform (Aᵀ·m·A). Weights are transformed
// (G·g·Gᵀ) and packed once, in PackConvWeights. Rounding differs from the
// direct convolution by a few ulps (the transforms only add and halve).

type winoPlan struct {
	tile int       // output tile: 2 (F(2×2, 3×3)) or 4 (F(4×4, 3×3), winograd43.go)
	u    []float32 // 16 (36) packed A matrices (M×C), uLen apart
	uLen int
	th   int // tile rows: ceil(OH/tile)
	tw   int // tile columns: ceil(OW/tile)
	zero epilogue
}

// winoMinC is the smallest input channel count routed to Winograd. With
// the vectorized transforms (wino_amd64.s) Winograd beats the implicit
// GEMM by 1.3× in CPU time at C = 64 (resnet18 layer1) and 1.56× at C =
// 256-512, but loses at C = 16 (squeezenet's expand3x3: 0.7×), where the
// 16 short GEMMs and the transforms cost more than the multiplies saved
// (BenchmarkWinograd; NOTES.md). Without AVX2 the transforms are scalar Go
// and Winograd stays off.
var winoMinC = func() int {
	if hasAVX2FMA {
		return 64
	}
	return 1 << 30
}()

// winoMinTiles is the number of tiles in a run (all images) below which a
// Winograd layer runs as an implicit GEMM instead: with few tiles the 16 or
// 36 GEMMs get too few columns (batch 1 on resnet18's 14×14 and 7×7
// layers: 0.6× and 0.35× the implicit GEMM's rate; BenchmarkWinograd).
// The choice depends on the batch only, never on the thread count, so
// that results do not change with the number of workers.
var winoMinTiles = 128

// winoWorth reports whether a run of n images gives the Winograd GEMMs
// enough tiles.
func (pc *PackedConv) winoWorth(n int) bool {
	return n*pc.wino.th*pc.wino.tw >= winoMinTiles
}

func winoOK(p ConvParams) bool {
	return p.KH == 3 && p.KW == 3 && p.StrideH == 1 && p.StrideW == 1 &&
		p.DilH == 1 && p.DilW == 1 && p.Group == 1 && p.C >= winoMinC
}

// newWinoPlan picks the tile size and transforms and packs the weights.
func newWinoPlan(p ConvParams, w []float32) *winoPlan {
	if p.OH >= wino43MinW && p.OW >= wino43MinW {
		return newWino43Plan(p, w)
	}
	wp := &winoPlan{tile: 2, th: (p.OH + 1) / 2, tw: (p.OW + 1) / 2}
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

// winoIn8Go is the input transform of `chunks` runs of 8 tiles of one
// channel and tile row. src holds 8 rows ld floats apart, E0 O0 E1 O1 E2 O2
// E3 O3: the even and odd columns of the 4 zero-padded input rows the tile
// row covers, so tile t reads d[r] = (E_r[t], O_r[t], E_r[t+1], O_r[t+1]).
// Element ξ = 4i+j of V = Bᵀ·d·B, Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0;
// 0 1 0 -1], goes to dst[ξ*xs + t].
func winoIn8Go(src []float32, ld, chunks int, dst []float32, xs int) {
	for t := range 8 * chunks {
		var tt [4][4]float32 // d·B: row r, column j
		for r := range 4 {
			e, o := src[2*r*ld:], src[(2*r+1)*ld:]
			d0, d1, d2, d3 := e[t], o[t], e[t+1], o[t+1]
			tt[r] = [4]float32{d0 - d2, d1 + d2, d2 - d1, d1 - d3}
		}
		for j := range 4 {
			t0, t1, t2, t3 := tt[0][j], tt[1][j], tt[2][j], tt[3][j]
			dst[j*xs+t] = t0 - t2
			dst[(4+j)*xs+t] = t1 + t2
			dst[(8+j)*xs+t] = t2 - t1
			dst[(12+j)*xs+t] = t1 - t3
		}
	}
}

// winoOut8Go is the output transform of `chunks` runs of 8 tiles of one
// output channel and tile row: element ξ of tile t's GEMM result is
// src[ξ*ls + t]; Y = Aᵀ·m·A + bias, Aᵀ = [1 1 1 0; 0 1 -1 -1], clamped to
// [lo, hi], goes to two interleaved rows, dst[2t], dst[2t+1] and
// dst[ldd+2t], dst[ldd+2t+1].
func winoOut8Go(src []float32, ls, chunks int, dst []float32, ldd int, bias, lo, hi float32) {
	for t := range 8 * chunks {
		var s [8]float32
		for j := range 4 {
			m0, m1, m2, m3 := src[j*ls+t], src[(4+j)*ls+t], src[(8+j)*ls+t], src[(12+j)*ls+t]
			s[j] = m0 + m1 + m2
			s[4+j] = m1 - m2 - m3
		}
		dst[2*t] = min(max(s[0]+s[1]+s[2]+bias, lo), hi)
		dst[2*t+1] = min(max(s[1]-s[2]-s[3]+bias, lo), hi)
		dst[ldd+2*t] = min(max(s[4]+s[5]+s[6]+bias, lo), hi)
		dst[ldd+2*t+1] = min(max(s[5]-s[6]-s[7]+bias, lo), hi)
	}
}

// runWinograd computes the convolution with Winograd F(2×2, 3×3). Work
// items are runs of kr tile rows over all images (a run may span images),
// ~96 tiles, so each of the 16 GEMMs has a wide enough N, and at least two
// items per worker. Per item: the input transform, channel by channel and
// tile row by tile row, 8 tiles per vector (winoIn); 16 GEMMs
// [M×C]·[C×nt]; the output transform with bias (winoOut) into two
// interleaved output rows, copied out with the residual and activation.
//
// Layouts: the padded input rows of an image segment are split into even
// and odd half-rows of ld floats (plane: row pr at pr*2*ld, E then O), so
// the 8 half-rows of tile row ty start at 2*ty*2*ld, as winoIn reads them.
// V is [16][C][nt] with ξ blocks xs = C*nt + 8 apart; a tile row
// is transformed in whole runs of 8, so the lanes past its last tile spill
// into the next tile row (written afterwards) or, after the last channel,
// into the 8 floats of slack. The GEMM results mo are [16][M][nt] plus 8
// floats of slack for the same overread.
func (pc *PackedConv) runWinograd(t, n int, x, skip, y []float32) {
	if pc.wino.tile == 4 {
		pc.runWinograd43(t, n, x, skip, y)
		return
	}
	p := pc.p
	wp := pc.wino
	hw, ohw := p.H*p.W, p.OH*p.OW
	rows := n * wp.th
	kr := max(1, min((96+wp.tw-1)/wp.tw, rows/(2*t)))
	items := (rows + kr - 1) / kr
	lo, hi, _, post := clampOf(p)
	chunks := (wp.tw + 7) / 8
	ld := 8*chunks + 8 // one even or odd half-row: 8*chunks+1 used
	ldd := 16 * chunks // one output row of the transform
	// Where the first even and odd input columns land in the E and O
	// half-rows (E at 0, O at ld): padded column i+PadLeft.
	pl := p.PadLeft
	eo, oo := (pl&1)*ld+pl>>1, ((pl+1)&1)*ld+(pl+1)>>1
	w16 := (p.W + 15) / 16 * 16
	if (pl+1)>>1+w16/2 > ld {
		w16 = 0 // the vector split would write past a half-row: splitRow splits exactly
	}
	parallelFor(t, items, func(_, it int) {
		r0 := it * kr
		r1 := min(rows, r0+kr)
		nt := (r1 - r0) * wp.tw
		xs := p.C*nt + 8
		vLen, moLen := 16*xs, 16*p.M*nt+8
		pLen := (2*kr + 2) * 2 * ld
		sp := getScratch(vLen + moLen + pLen + 2*ldd + w16)
		v := (*sp)[:vLen]
		mo := (*sp)[vLen : vLen+moLen]
		plane := (*sp)[vLen+moLen : vLen+moLen+pLen]
		out := (*sp)[vLen+moLen+pLen : vLen+moLen+pLen+2*ldd]
		rowTmp := (*sp)[vLen+moLen+pLen+2*ldd:]
		for c := range p.C {
			// Per image segment of the item: split each padded input row
			// the segment's tile rows cover once, then transform.
			winoSegments(r0, r1, wp.th, func(img, tyA, gA, gB int) {
				xc := x[(img*p.C+c)*hw : (img*p.C+c+1)*hw]
				for pr := range 2*(gB-gA) + 2 {
					eor := plane[pr*2*ld : (pr+1)*2*ld]
					clear(eor)
					if yy := 2*tyA + pr - p.PadTop; yy >= 0 && yy < p.H {
						splitRow(eor, eo, oo, xc[yy*p.W:(yy+1)*p.W], rowTmp)
					}
				}
				for gr := gA; gr < gB; gr++ {
					winoIn(plane[2*(gr-gA)*2*ld:], ld, chunks, v[c*nt+(gr-r0)*wp.tw:], xs)
				}
			})
		}
		for q := range 16 {
			gemmPackedA(wp.u[q*wp.uLen:(q+1)*wp.uLen], p.M, nt, p.C, false, v[q*xs:q*xs+p.C*nt], nt, mo[q*p.M*nt:(q+1)*p.M*nt], nt, &wp.zero)
		}
		olo, ohi := winoClamp(skip, lo, hi)
		for m := range p.M {
			for gr := r0; gr < r1; gr++ {
				img, ty := gr/wp.th, gr%wp.th
				winoOut(mo[m*nt+(gr-r0)*wp.tw:], p.M*nt, chunks, out, ldd, pc.bias[m], olo, ohi)
				pc.winoStore(y, skip, out, ldd, (img*p.M+m)*ohw, 2*ty, 2, lo, hi, post)
			}
		}
		putScratch(sp)
	})
}

// splitRow writes the even-indexed elements of src to eor[eo:] and the odd
// ones to eor[oo:] (the split of one padded input row). With tmp of 16·k ≥
// len(src) floats it splits whole blocks of 16 in AVX2, zeros included, so
// short rows (7, 14 wide) avoid the scalar tail; the caller has checked the
// extra zeros fit in the half-rows.
func splitRow(eor []float32, eo, oo int, src, tmp []float32) {
	if len(tmp) == 0 || !hasAVX2FMA {
		splitEvenOdd(eor[eo:], eor[oo:], src)
		return
	}
	copy(tmp, src)
	clear(tmp[len(src):])
	splitEvenOdd(eor[eo:eo+len(tmp)/2], eor[oo:oo+len(tmp)/2], tmp)
}

// winoSegments calls fn for each image's share of the tile rows [r0, r1)
// of a work item: rows [gA, gB), image img, starting at its tile row tyA.
func winoSegments(r0, r1, th int, fn func(img, tyA, gA, gB int)) {
	for gA := r0; gA < r1; {
		img, tyA := gA/th, gA%th
		gB := min(r1, (img+1)*th)
		fn(img, tyA, gA, gB)
		gA = gB
	}
}

// winoClamp is the clamp of the output transform: the activation's (Relu,
// Clip), unless a residual has to be added first.
func winoClamp(skip []float32, lo, hi float32) (float32, float32) {
	if skip != nil {
		return float32(math.Inf(-1)), float32(math.Inf(1))
	}
	return lo, hi
}

// winoStore copies up to n transformed output rows (out, ldd apart) to
// output rows row0, row0+1, … of the channel plane at base in y, adding the
// residual (clamped to [lo, hi]) and applying an activation not fused.
func (pc *PackedConv) winoStore(y, skip, out []float32, ldd, base, row0, n int, lo, hi float32, post bool) {
	p := pc.p
	for a := 0; a < n && row0+a < p.OH; a++ {
		o := base + (row0+a)*p.OW
		dst := y[o : o+p.OW]
		src := out[a*ldd : a*ldd+p.OW]
		if skip != nil { // skip may be y: addClamp reads each value before writing it
			addClamp(dst, src, skip[o:o+p.OW], lo, hi)
		} else {
			copy(dst, src)
		}
		if post {
			BiasAct(dst, 0, p.Act, p.Alpha, p.Beta)
		}
	}
}
