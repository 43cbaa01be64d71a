package kernels

// Packed, blocked GEMM in the BLIS style: A is packed into strips of gemmMR
// rows ([K][gemmMR] per strip, alpha folded in), B into strips of gemmNR
// columns ([kc][gemmNR] per strip), and a gemmMR×gemmNR micro-kernel
// accumulates into C. On amd64 with AVX2+FMA the micro-kernel is assembly
// (gemm_amd64.s); elsewhere it is Go.

const (
	gemmMR = 6
	gemmNR = 16
	gemmKC = 256 // k block: a B micro-panel (kc×NR) is 16 KiB, fits L1
	gemmMC = 516 // rows of packed A per L2 block (multiple of MR): 516×256 floats ≈ 516 KiB
	gemmNC = 1024
	gemmNP = 128 // B panel packed at a time when all of A fits one L2 block: 8 strips, 128 KiB at kc=256
)

// packedALen returns the length of the packed form of an m×k matrix A.
func packedALen(m, k int) int { return (m + gemmMR - 1) / gemmMR * gemmMR * k }

// packA writes alpha*op(A) (m×k) into dst in strip layout.
func packA(dst []float32, transA bool, m, k int, alpha float32, a []float32, lda int) {
	dst = dst[:packedALen(m, k)]
	for s := 0; s*gemmMR < m; s++ {
		i0 := s * gemmMR
		h := min(gemmMR, m-i0)
		d := dst[s*k*gemmMR : (s+1)*k*gemmMR]
		if h < gemmMR {
			clear(d)
		}
		if !transA {
			for r := range h {
				row := a[(i0+r)*lda : (i0+r)*lda+k]
				for kk, v := range row {
					d[kk*gemmMR+r] = alpha * v
				}
			}
		} else {
			for kk := range k {
				row := a[kk*lda+i0 : kk*lda+i0+h]
				dd := d[kk*gemmMR : kk*gemmMR+h]
				for r, v := range row {
					dd[r] = alpha * v
				}
			}
		}
	}
}

// packB writes the kc×nc block of op(B) starting at (pc, jc) into dst as
// strips of gemmNR columns, zero-padded.
func packB(dst []float32, transB bool, pc, jc, kc, nc int, b []float32, ldb int) {
	full := 0
	if !transB && nc >= gemmNR {
		full = nc / gemmNR
		packPanel(dst, b[pc*ldb+jc:], nil, ldb, kc, full)
	}
	for j0 := full * gemmNR; j0 < nc; j0 += gemmNR {
		w := min(gemmNR, nc-j0)
		d := dst[(j0/gemmNR)*kc*gemmNR : (j0/gemmNR+1)*kc*gemmNR]
		if !transB {
			if w == gemmNR {
				packStrip16(d, b[pc*ldb+jc+j0:], ldb, kc)
			} else {
				for kk := range kc {
					o := (pc+kk)*ldb + jc + j0
					dd := d[kk*gemmNR : kk*gemmNR+gemmNR]
					copy(dd, b[o:o+w])
					clear(dd[w:])
				}
			}
		} else {
			if w < gemmNR {
				clear(d)
			}
			for jj := range w {
				col := b[(jc+j0+jj)*ldb+pc : (jc+j0+jj)*ldb+pc+kc]
				for kk, v := range col {
					d[kk*gemmNR+jj] = v
				}
			}
		}
	}
}

// scaleC sets C[:m, :n] = beta*C.
func scaleC(m, n int, beta float32, c []float32, ldc int) {
	if beta == 1 {
		return
	}
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
		} else {
			for j := range row {
				row[j] *= beta
			}
		}
	}
}

// gemmPackedA computes C += Ap*op(B) where Ap is an m×k matrix packed by
// packA (alpha already applied). It runs on the calling goroutine.
func gemmPackedA(ap []float32, m, n, k int, transB bool, b []float32, ldb int, c []float32, ldc int, ep *epilogue) {
	gemmCore(ap, m, n, k, func(dst []float32, pc, jc, kc, nc int) {
		packB(dst, transB, pc, jc, kc, nc, b, ldb)
	}, c, ldc, ep)
}

// gemmPackedAOff computes C += Ap*B where B is implicit: B(r, j) =
// src[rowOff[r]+j]. It panics if some read would fall outside src.
func gemmPackedAOff(ap []float32, m, n, k int, src []float32, rowOff []int, c []float32, ldc int, ep *epilogue) {
	if m == 0 || n == 0 || k == 0 {
		return
	}
	hi := 0
	for _, o := range rowOff[:k] {
		if o < 0 {
			panic("kernels: negative implicit-GEMM offset")
		}
		hi = max(hi, o)
	}
	_ = src[hi+n-1]
	gemmCore(ap, m, n, k, func(dst []float32, pc, jc, kc, nc int) {
		offs := rowOff[pc : pc+kc]
		full := nc / gemmNR
		if full > 0 {
			packPanel(dst, src[jc:], offs, 0, kc, full)
		}
		for j0 := full * gemmNR; j0 < nc; j0 += gemmNR {
			w := min(gemmNR, nc-j0)
			d := dst[(j0/gemmNR)*kc*gemmNR : (j0/gemmNR+1)*kc*gemmNR]
			for kk, o := range offs {
				dd := d[kk*gemmNR : kk*gemmNR+gemmNR]
				copy(dd, src[o+jc+j0:o+jc+j0+w])
				clear(dd[w:])
			}
		}
	}, c, ldc, ep)
}

// epilogue makes a GEMM compute C = clamp(Ap*B + bias[row] + res)
// instead of C += Ap*B: C's old contents are ignored. bias has one value
// per row of C, padded with zeros to a multiple of gemmMR rows; res, when
// not nil, is laid out like C (same offsets, same ldc; it may be C
// itself); clamp applies [lo, hi] (Relu, Clip) at the end.
type epilogue struct {
	bias   []float32
	res    []float32
	clamp  bool
	lo, hi float32
}

// gemmCore computes C += Ap*B (ep == nil) or C = epilogue(Ap*B), with
// packB(dst, pc, jc, kc, nc) packing the kc×nc block of B at (pc, jc) as
// NR-wide strips.
func gemmCore(ap []float32, m, n, k int, packB func(dst []float32, pc, jc, kc, nc int), c []float32, ldc int, ep *epilogue) {
	if m == 0 || n == 0 {
		return
	}
	var res []float32
	if ep != nil && ep.res != nil {
		res = ep.res[:(m-1)*ldc+n]
	}
	if k == 0 {
		if ep != nil {
			for i := range m {
				row := c[i*ldc : i*ldc+n]
				for j := range row {
					row[j] = ep.bias[i]
					if res != nil {
						row[j] += res[i*ldc+j]
					}
				}
				if ep.clamp {
					biasClamp(row, 0, ep.lo, ep.hi)
				}
			}
		}
		return
	}
	ncMax := min(gemmNC, (n+gemmNR-1)/gemmNR*gemmNR)
	if m <= gemmMC {
		ncMax = min(ncMax, gemmNP) // B is packed a small panel at a time, just before use
	}
	bufp := getScratch(min(gemmKC, k)*ncMax + gemmMR*gemmNR)
	buf := *bufp
	tmp := buf[:gemmMR*gemmNR]
	bp := buf[gemmMR*gemmNR:]
	// strip runs the micro-kernel over rows [ic, ic+mc) against one packed
	// B strip bs of width w at output column jc+jr.
	strip := func(ic, mc, pc, kc, col, w int, bs []float32) {
		first, last := pc == 0, pc+kc == k
		ir0 := 0
		if ep != nil && w == gemmNR {
			// All full row strips in one assembly call.
			nfull := mc / gemmMR
			var rs []float32
			if res != nil {
				rs = res[ic*ldc+col:]
			}
			microKernelEp(kc, ap[(ic/gemmMR)*k*gemmMR+pc*gemmMR:], bs, c[ic*ldc+col:], ldc, first, last, ep, ic, nfull, k*gemmMR, rs)
			ir0 = nfull * gemmMR
		}
		for ir := ir0; ir < mc; ir += gemmMR {
			h := min(gemmMR, mc-ir)
			s := (ic + ir) / gemmMR
			as := ap[s*k*gemmMR+pc*gemmMR:]
			co := (ic+ir)*ldc + col
			if h == gemmMR && w == gemmNR {
				microKernel(kc, as, bs, c[co:], ldc)
				continue
			}
			// Edge tile: run the full kernel on a 6×16 copy (holding C, or
			// bias + residual in the first k block), then copy the h×w
			// valid part back.
			if ep != nil && first {
				for r := range h {
					t := tmp[r*gemmNR : r*gemmNR+w]
					bv := ep.bias[ic+ir+r]
					for j := range t {
						t[j] = bv
					}
					if res != nil {
						for j, v := range res[co+r*ldc : co+r*ldc+w] {
							t[j] += v
						}
					}
				}
			} else {
				for r := range h {
					copy(tmp[r*gemmNR:r*gemmNR+w], c[co+r*ldc:co+r*ldc+w])
				}
			}
			if ep == nil {
				microKernel(kc, as, bs, tmp, gemmNR)
			} else {
				microKernelEp(kc, as, bs, tmp, gemmNR, false, last, ep, ic+ir, 1, 0, nil)
			}
			for r := range h {
				copy(c[co+r*ldc:co+r*ldc+w], tmp[r*gemmNR:r*gemmNR+w])
			}
		}
	}
	if m <= gemmMC {
		// All of A's k block stays in L2; each B strip is packed into L1 and
		// used by every row strip at once.
		for pc := 0; pc < k; pc += gemmKC {
			kc := min(gemmKC, k-pc)
			for jp := 0; jp < n; jp += gemmNP {
				np := min(gemmNP, n-jp)
				packB(bp, pc, jp, kc, np)
				for jr := 0; jr < np; jr += gemmNR {
					strip(0, m, pc, kc, jp+jr, min(gemmNR, np-jr), bp[(jr/gemmNR)*kc*gemmNR:])
				}
			}
		}
		putScratch(bufp)
		return
	}
	for jc := 0; jc < n; jc += gemmNC {
		nc := min(gemmNC, n-jc)
		for pc := 0; pc < k; pc += gemmKC {
			kc := min(gemmKC, k-pc)
			packB(bp, pc, jc, kc, nc)
			for ic := 0; ic < m; ic += gemmMC {
				mc := min(gemmMC, m-ic)
				for jr := 0; jr < nc; jr += gemmNR {
					strip(ic, mc, pc, kc, jc+jr, min(gemmNR, nc-jr), bp[(jr/gemmNR)*kc*gemmNR:])
				}
			}
		}
	}
	putScratch(bufp)
}

// microKernelGo is the portable micro-kernel: C[6×16] (row stride ldc) +=
// A strip (kc×6) times B strip (kc×16).
func microKernelGo(kc int, a, b, c []float32, ldc int) {
	var acc [gemmMR * gemmNR]float32
	a = a[:kc*gemmMR]
	b = b[:kc*gemmNR]
	for kk := range kc {
		bb := b[kk*gemmNR : kk*gemmNR+gemmNR : kk*gemmNR+gemmNR]
		aa := a[kk*gemmMR : kk*gemmMR+gemmMR : kk*gemmMR+gemmMR]
		for r, av := range aa {
			row := acc[r*gemmNR : r*gemmNR+gemmNR : r*gemmNR+gemmNR]
			for j, bv := range bb {
				row[j] += av * bv
			}
		}
	}
	for r := range gemmMR {
		crow := c[r*ldc : r*ldc+gemmNR]
		for j := range crow {
			crow[j] += acc[r*gemmNR+j]
		}
	}
}

// sgemmGo is the full pure-Go Sgemm on the calling goroutine.
func sgemmGo(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	scaleC(m, n, beta, c, ldc)
	if k == 0 || alpha == 0 || m == 0 || n == 0 {
		return
	}
	app := getScratch(packedALen(m, k))
	packA(*app, transA, m, k, alpha, a, lda)
	gemmPackedA(*app, m, n, k, transB, b, ldb, c, ldc, nil)
	putScratch(app)
}

func packStrip16Go(dst, src []float32, ldb, kc int) {
	for kk := range kc {
		copy(dst[kk*gemmNR:kk*gemmNR+gemmNR], src[kk*ldb:kk*ldb+gemmNR])
	}
}

func packStrip16OffGo(dst, src []float32, offs []int) {
	for kk, o := range offs {
		copy(dst[kk*gemmNR:kk*gemmNR+gemmNR], src[o:o+gemmNR])
	}
}

// microKernelEpGo is the portable microKernelEp.
func microKernelEpGo(kc int, a, b, c []float32, ldc int, first, last bool, ep *epilogue, row, nstrips, astride int, res []float32) {
	for s := range nstrips {
		cs := c[s*gemmMR*ldc:]
		if first {
			for r := range gemmMR {
				crow := cs[r*ldc : r*ldc+gemmNR]
				bv := ep.bias[row+s*gemmMR+r]
				if res != nil {
					rrow := res[(s*gemmMR+r)*ldc : (s*gemmMR+r)*ldc+gemmNR]
					for j := range crow {
						crow[j] = bv + rrow[j]
					}
					continue
				}
				for j := range crow {
					crow[j] = bv
				}
			}
		}
		microKernelGo(kc, a[s*astride:], b, cs, ldc)
		if last && ep.clamp {
			for r := range gemmMR {
				biasClampGo(cs[r*ldc:r*ldc+gemmNR], 0, ep.lo, ep.hi)
			}
		}
	}
}

func splitEvenOddGo(even, odd, src []float32) {
	h := len(src) / 2
	even, odd = even[:h+len(src)&1], odd[:h]
	for t := range odd {
		even[t] = src[2*t]
		odd[t] = src[2*t+1]
	}
	if len(src)&1 == 1 {
		even[h] = src[len(src)-1]
	}
}

func packPanelGo(dst, src []float32, offs []int, ldb, kc, nstrips int) {
	for kk := range kc {
		o := kk * ldb
		if offs != nil {
			o = offs[kk]
		}
		for st := range nstrips {
			copy(dst[(st*kc+kk)*gemmNR:(st*kc+kk+1)*gemmNR], src[o+st*gemmNR:o+(st+1)*gemmNR])
		}
	}
}

func addClampGo(dst, a, b []float32, lo, hi float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		v := a[i] + b[i]
		if v < lo {
			v = lo
		}
		if v > hi {
			v = hi
		}
		dst[i] = v
	}
}
