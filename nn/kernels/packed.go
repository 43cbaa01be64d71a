package kernels

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
)

// convAlgo is the algorithm a PackedConv runs.
type convAlgo int

const (
	algoIm2col    convAlgo = iota // im2col into per-worker scratch, then GEMM
	algoPointwise                 // 1×1, stride 1, no pad: GEMM straight over the input
	algoDepthwise                 // one input channel per group: direct kernel
	algoImplicit                  // implicit GEMM over phase planes (implicit.go)
	algoWinograd                  // Winograd F(2×2, 3×3) (winograd.go)
)

func (a convAlgo) String() string {
	return [...]string{"im2col", "pointwise", "depthwise", "implicit", "winograd"}[a]
}

// PackedConv is a convolution with its weights prepared once, for repeated
// runs: the weights packed for the GEMM micro-kernel (or kept as they are
// for the depthwise kernel and for OpenBLAS) and the bias copied. It is
// immutable after PackConvWeights and safe for concurrent use by several
// goroutines. It holds no native memory and needs no Close.
type PackedConv struct {
	p     ConvParams // normalized; p.N is ignored (Run takes n)
	algo  convAlgo
	cg    int       // input channels per group
	mg    int       // output channels per group
	kdim  int       // GEMM K: cg*KH*KW
	w     []float32 // weights as given, [M, cg*KH*KW] (copy)
	wp    []float32 // per group, packed A of mg×kdim (Go GEMM); nil when unused
	wpLen int       // length of one group's packed A
	bias  []float32 // [M], zeros when none was given
	imp   *implicitPlan
	wino  *winoPlan
	ep    []epilogue // per group: bias (padded) and fused Relu/Clip
	// gemmOnce guards the packing of wp for a Winograd layer run at a
	// small batch (implicit GEMM instead).
	gemmOnce sync.Once
	post     bool // activation not fused: BiasAct after the GEMM
}

// PackConvWeights validates p and prepares w (and bias, which may be nil)
// for PackedConv.Run. It copies what it keeps: the caller may reuse w and
// bias afterwards. p.N is not used.
func PackConvWeights(p ConvParams, w, bias []float32) (*PackedConv, error) {
	q := p
	q.N = 0
	if err := q.Validate(); err != nil {
		return nil, err
	}
	p = p.normalized()
	p.N = 0
	if err := p.checkBuffers(nil, w, bias, nil); err != nil {
		return nil, err
	}
	pc := &PackedConv{p: p, cg: p.C / p.Group, mg: p.M / p.Group}
	pc.kdim = pc.cg * p.KH * p.KW
	pc.w = append([]float32(nil), w[:p.M*pc.kdim]...)
	pc.bias = make([]float32, p.M)
	if bias != nil {
		copy(pc.bias, bias[:p.M])
	}
	switch {
	case pc.cg == 1 && p.Group > 1:
		pc.algo = algoDepthwise
		if hasAVX2FMA && p.KH == 3 && p.KW == 3 {
			pc.imp = newImplicitPlan(p, 1)
		}
	case p.KH == 1 && p.KW == 1 && p.StrideH == 1 && p.StrideW == 1 &&
		p.PadTop == 0 && p.PadLeft == 0 && p.PadBottom == 0 && p.PadRight == 0:
		pc.algo = algoPointwise
	case winoOK(p):
		pc.algo = algoWinograd
		pc.wino = newWinoPlan(p, pc.w)
		pc.imp = newImplicitPlan(p, pc.cg) // for the OpenBLAS comparison path
	default:
		pc.algo = algoImplicit
		pc.imp = newImplicitPlan(p, pc.cg)
	}
	lo, hi, clamp, post := clampOf(p)
	pc.post = post
	mgPad := (pc.mg + gemmMR - 1) / gemmMR * gemmMR
	for g := range p.Group {
		b := make([]float32, mgPad)
		copy(b, pc.bias[g*pc.mg:(g+1)*pc.mg])
		pc.ep = append(pc.ep, epilogue{bias: b, clamp: clamp, lo: lo, hi: hi})
	}
	if pc.algo != algoDepthwise && pc.algo != algoWinograd {
		pc.packGemm()
	}
	return pc, nil
}

// packGemm packs the weights for the GEMM paths (implicit, pointwise,
// im2col). A Winograd layer does it on its first run at a batch too small
// for Winograd (winoWorth), so that batch-8 sessions never hold both.
func (pc *PackedConv) packGemm() {
	p := pc.p
	pc.wpLen = packedALen(pc.mg, pc.kdim)
	pc.wp = make([]float32, pc.wpLen*p.Group)
	for g := range p.Group {
		packA(pc.wp[g*pc.wpLen:], false, pc.mg, pc.kdim, 1, pc.w[g*pc.mg*pc.kdim:], pc.kdim)
	}
}

// Params returns the parameters the convolution was packed with (N = 0).
func (pc *PackedConv) Params() ConvParams { return pc.p }

// Algorithm names the algorithm Run uses now: "depthwise", "pointwise",
// "implicit" (implicit GEMM, pure-Go backend) or "im2col" (im2col +
// OpenBLAS).
func (pc *PackedConv) Algorithm() string {
	if (pc.algo == algoImplicit || pc.algo == algoWinograd) && convUseBLAS() {
		return algoIm2col.String()
	}
	if pc.algo == algoWinograd && pc.wino.tile == 4 {
		return "winograd4"
	}
	return pc.algo.String()
}

// Run computes y = act(conv(x, w) + bias) for a batch of n images: x is
// [n, C, H, W], y is [n, M, OH, OW], on Threads() workers. It panics with
// an error wrapping ErrShape when a slice is too short.
func (pc *PackedConv) Run(n int, x, y []float32) { pc.RunThreads(n, 0, x, y) }

// RunThreads is Run on threads workers (threads < 1: Threads()), so that
// callers with their own thread budget need not touch the process-wide
// SetThreads.
func (pc *PackedConv) RunThreads(n, threads int, x, y []float32) {
	pc.run(resolveThreads(threads), n, x, nil, y)
}

// RunResidual computes y = act(conv(x, w) + bias + skip), the fused form of
// ResNet's Conv → Add → Relu and MobileNet's projection + skip. skip has
// y's shape [n, M, OH, OW]; it may be y itself (same first element) but
// must not otherwise overlap it. threads < 1 means Threads().
func (pc *PackedConv) RunResidual(n, threads int, x, skip, y []float32) {
	p := pc.p
	p.N = n
	if len(skip) < n*p.M*p.OH*p.OW {
		panic(fmt.Errorf("kernels: PackedConv.RunResidual: %w: skip has %d elements, want %d", ErrShape, len(skip), n*p.M*p.OH*p.OW))
	}
	pc.run(resolveThreads(threads), n, x, skip, y)
}

func (pc *PackedConv) run(t, n int, x, skip, y []float32) {
	p := pc.p
	p.N = n
	if err := p.checkBuffers(x, nil, nil, y); err != nil {
		panic(fmt.Errorf("kernels: PackedConv.Run: %w", err))
	}
	if n == 0 {
		return
	}
	switch {
	case pc.algo == algoDepthwise:
		pc.runDepthwise(t, n, x, skip, y)
	case pc.algo == algoWinograd && !convUseBLAS() && pc.winoWorth(n):
		pc.runWinograd(t, n, x, skip, y)
	case pc.algo == algoWinograd && !convUseBLAS():
		pc.gemmOnce.Do(pc.packGemm)
		pc.runImplicit(t, n, x, skip, y)
	case pc.algo == algoImplicit && !convUseBLAS():
		pc.runImplicit(t, n, x, skip, y)
	default:
		pc.runGemm(t, n, x, skip, y)
	}
}

// epFor returns group g's epilogue with residual res (nil: none) and,
// when noClamp, without the fused clamp.
func (pc *PackedConv) epFor(g int, res []float32, noClamp bool) *epilogue {
	if res == nil && !noClamp {
		return &pc.ep[g]
	}
	e := pc.ep[g]
	e.res = res
	if noClamp {
		e.clamp = false
	}
	return &e
}

// colChunk picks how many output columns (of OH*OW) one work item covers:
// small enough to keep an im2col block in L2 and to give every worker work
// at small batch, large enough for an efficient GEMM.
func (pc *PackedConv) colChunk(t, n int) int {
	ohw := pc.p.OH * pc.p.OW
	chunk := ohw
	if pc.algo != algoPointwise {
		// ~512 KiB of im2col per item.
		c := (131072/pc.kdim + gemmNR - 1) / gemmNR * gemmNR
		chunk = min(chunk, max(c, 128))
	}
	items := n * pc.p.Group
	if items < 2*t {
		per := (2*t + items - 1) / items
		c := (ohw + per - 1) / per
		c = (c + gemmNR - 1) / gemmNR * gemmNR
		chunk = min(chunk, max(c, 64))
	}
	return max(1, min(chunk, ohw))
}

func (pc *PackedConv) runGemm(t, n int, x, skip, y []float32) {
	p := pc.p
	ohw := p.OH * p.OW
	hw := p.H * p.W
	chunk := pc.colChunk(t, n)
	perImg := (ohw + chunk - 1) / chunk
	items := n * p.Group * perImg
	useBlas := convUseBLAS()
	parallelFor(t, items, func(_, it int) {
		j0 := (it % perImg) * chunk
		ng := it / perImg
		g := ng % p.Group
		img := ng / p.Group
		ncol := min(chunk, ohw-j0)
		xg := x[(img*p.C+g*pc.cg)*hw : (img*p.C+(g+1)*pc.cg)*hw]
		yo := (img*p.M+g*pc.mg)*ohw + j0
		yg := y[yo : yo+(pc.mg-1)*ohw+ncol]
		var sg []float32
		if skip != nil {
			sg = skip[yo : yo+(pc.mg-1)*ohw+ncol]
		}
		var b []float32
		ldb := ohw
		var sp *[]float32
		if pc.algo == algoPointwise {
			b = xg[j0:]
		} else {
			sp = getScratch(pc.kdim * ncol)
			b = *sp
			ldb = ncol
			im2col(p, pc.cg, xg, j0, ncol, b)
		}
		bias := pc.bias[g*pc.mg : (g+1)*pc.mg]
		if useBlas {
			beta := float32(0)
			if sg != nil {
				// Start from the residual: C = W*B + skip.
				beta = 1
				if &sg[0] != &yg[0] {
					for m := range pc.mg {
						copy(yg[m*ohw:m*ohw+ncol], sg[m*ohw:m*ohw+ncol])
					}
				}
			}
			gemmSerial(false, false, pc.mg, ncol, pc.kdim, 1, pc.w[g*pc.mg*pc.kdim:], pc.kdim, b, ldb, beta, yg, ohw)
			for m := range pc.mg {
				BiasAct(yg[m*ohw:m*ohw+ncol], bias[m], p.Act, p.Alpha, p.Beta)
			}
		} else {
			gemmPackedA(pc.wp[g*pc.wpLen:(g+1)*pc.wpLen], pc.mg, ncol, pc.kdim, false, b, ldb, yg, ohw, pc.epFor(g, sg, false))
			if pc.post {
				for m := range pc.mg {
					BiasAct(yg[m*ohw:m*ohw+ncol], 0, p.Act, p.Alpha, p.Beta)
				}
			}
		}
		if sp != nil {
			putScratch(sp)
		}
	})
}

// convBLAS routes convolution GEMMs to im2col + OpenBLAS when it is
// loaded. Off by default: the implicit GEMM on the assembly kernels
// measured faster on the benchmark models (NOTES.md).
var convBLAS atomic.Bool

// UseOpenBLASForConv makes convolutions (other than depthwise) run as
// im2col + OpenBLAS sgemm when OpenBLAS is loaded and UsePureGo is off
// (on), or on the built-in implicit GEMM (off, the default). It returns the
// previous setting; meant for benchmarks comparing the two.
func UseOpenBLASForConv(on bool) (was bool) { return convBLAS.Swap(on) }

func convUseBLAS() bool { return convBLAS.Load() && useBLAS() }

// im2col writes the [cg*KH*KW, ncol] patch matrix of output columns
// [j0, j0+ncol) of one image and group (xg is [cg, H, W]) into dst.
func im2col(p ConvParams, cg int, xg []float32, j0, ncol int, dst []float32) {
	hw := p.H * p.W
	j1 := j0 + ncol
	for c := range cg {
		xc := xg[c*hw : (c+1)*hw]
		for kh := range p.KH {
			for kw := range p.KW {
				row := dst[((c*p.KH+kh)*p.KW+kw)*ncol:][:ncol]
				iwBase := kw*p.DilW - p.PadLeft
				idx := 0
				for j := j0; j < j1; {
					oh, ow0 := j/p.OW, j%p.OW
					ow1 := min(p.OW, ow0+(j1-j))
					seg := row[idx : idx+ow1-ow0]
					ih := oh*p.StrideH - p.PadTop + kh*p.DilH
					switch {
					case ih < 0 || ih >= p.H:
						clear(seg)
					case p.StrideW == 1:
						xr := xc[ih*p.W : (ih+1)*p.W]
						lo := min(max(ow0, -iwBase), ow1)
						hi := min(max(p.W-iwBase, lo), ow1)
						clear(seg[:lo-ow0])
						copy(seg[lo-ow0:hi-ow0], xr[lo+iwBase:hi+iwBase])
						clear(seg[hi-ow0:])
					default:
						xr := xc[ih*p.W : (ih+1)*p.W]
						for ow := ow0; ow < ow1; ow++ {
							iw := ow*p.StrideW + iwBase
							if iw >= 0 && iw < p.W {
								seg[ow-ow0] = xr[iw]
							} else {
								seg[ow-ow0] = 0
							}
						}
					}
					idx += ow1 - ow0
					j += ow1 - ow0
				}
			}
		}
	}
}

// clampOf maps an activation onto the GEMM epilogue's clamp: Relu and Clip
// fuse (clamp true); None needs nothing; others run as a pass afterwards
// (post true).
func clampOf(p ConvParams) (lo, hi float32, clamp, post bool) {
	inf := float32(math.Inf(1))
	switch p.Act {
	case ActNone:
		return -inf, inf, false, false
	case ActRelu:
		return 0, inf, true, false
	case ActClip:
		return p.Alpha, p.Beta, true, false
	}
	return -inf, inf, false, true
}
