package cpu

import (
	"math"

	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/graph"
	"github.com/sluice-ml/sluice/nn/kernels"
)

func init() {
	register("MaxPool", compilePool)
	register("AveragePool", compilePool)
	register("GlobalAveragePool", compileGlobalAveragePool)
	register("BatchNormalization", compileBatchNorm)
	register("InstanceNormalization", compileInstanceNorm)
	register("Gemm", compileGemm)
	register("MatMul", compileMatMul)
	register("Softmax", compileSoftmax)
	register("ReduceMean", compileReduceMean)
}

func compilePool(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	isMax := n.Op == "MaxPool"
	ks := n.Ints("kernel_shape")
	if len(ks) == 0 {
		return nil, shapeErr("%s without kernel_shape", n.Op)
	}
	ceil := n.Int("ceil_mode", 0) != 0
	includePad := n.Int("count_include_pad", 0) != 0
	storageOrder := n.Int("storage_order", 0)
	return func(x *exec, ins []*nn.Tensor) error {
		in := ins[0]
		if len(in.Shape) != len(ks)+2 {
			return shapeErr("%s kernel %v on input %v", n.Op, ks, in.Shape)
		}
		var X []float32
		switch d := in.Data.(type) {
		case []float32:
			X = d
		default:
			if !isMax {
				return unsupported("AveragePool on %v", in.DType)
			}
			f := toFloat64(in.Data)
			if f == nil {
				return unsupported("MaxPool on %v", in.DType)
			}
			X = make([]float32, len(f))
			for i, v := range f {
				X[i] = float32(v)
			}
		}
		k := make([]int, len(ks))
		for i, v := range ks {
			k[i] = int(v)
		}
		g, err := resolvePads(n, in.Shape[2:], k, ceil)
		if err != nil {
			return err
		}
		NC := in.Shape[0] * in.Shape[1]
		outShape := append([]int{in.Shape[0], in.Shape[1]}, g.out...)
		var Y []float32
		var t *nn.Tensor
		if in.DType == nn.Float32 {
			t = x.out(0, nn.Float32, outShape)
			Y = t.F32()
		} else {
			Y = make([]float32, nn.NumElements(outShape))
		}
		var idxOut []int64
		if len(x.step.out) > 1 && x.step.out[1] >= 0 {
			idxOut = x.out(1, nn.Int64, outShape).I64()
		}
		inN, outN := nn.NumElements(g.in), nn.NumElements(g.out)
		r := len(g.in)
		if r == 2 && idxOut == nil && isMax && in.DType == nn.Float32 {
			pp := kernels.PoolParams{N: in.Shape[0], C: in.Shape[1], H: g.in[0], W: g.in[1],
				KH: g.k[0], KW: g.k[1], OH: g.out[0], OW: g.out[1],
				StrideH: g.stride[0], StrideW: g.stride[1], DilH: g.dil[0], DilW: g.dil[1],
				PadTop: g.padB[0], PadLeft: g.padB[1], PadBottom: g.padE[0], PadRight: g.padE[1]}
			if pp.Validate() == nil {
				kernels.MaxPool2D(pp, x.threads, X, Y)
				return nil
			}
		}
		if r == 2 && idxOut == nil {
			x.parallel(NC, func(c int) {
				pool2D(g, isMax, includePad, X[c*inN:(c+1)*inN], Y[c*outN:(c+1)*outN])
			})
			if in.DType != nn.Float32 {
				t = x.out(0, in.DType, outShape)
				f := make([]float64, len(Y))
				for i, v := range Y {
					f[i] = float64(v)
				}
				storeFloats(t.Data, f)
			}
			return nil
		}
		x.parallel(NC, func(c int) {
			xc := X[c*inN : (c+1)*inN]
			yc := Y[c*outN : (c+1)*outN]
			opos := make([]int, r)
			lo, hi, clo, chi := make([]int, r), make([]int, r), make([]int, r), make([]int, r)
			for op := 0; op < outN; op++ {
				unravel(op, g.out, opos)
				padCount := 1
				for d := 0; d < r; d++ {
					lo[d] = opos[d]*g.stride[d] - g.padB[d]
					hi[d] = lo[d] + (g.k[d]-1)*g.dil[d] + 1
					// window clipped to the padded input, for count_include_pad
					padCount *= (min(hi[d], g.in[d]+g.padE[d]) - lo[d] + g.dil[d] - 1) / g.dil[d]
					clo[d], chi[d] = lo[d], hi[d]
				}
				best := float32(math.Inf(-1))
				bestAt := -1
				var sum float64
				cnt := 0
				// iterate the kernel window
				kpos := make([]int, r)
				for {
					off, ok := 0, true
					for d := 0; d < r; d++ {
						i := lo[d] + kpos[d]*g.dil[d]
						if i < 0 || i >= g.in[d] {
							ok = false
							break
						}
						off = off*g.in[d] + i
					}
					if ok {
						v := xc[off]
						if isMax {
							if v > best || bestAt < 0 {
								best, bestAt = v, off
							}
						} else {
							sum += float64(v)
							cnt++
						}
					}
					d := r - 1
					for ; d >= 0; d-- {
						kpos[d]++
						if kpos[d] < g.k[d] {
							break
						}
						kpos[d] = 0
					}
					if d < 0 {
						break
					}
				}
				if isMax {
					yc[op] = best
					if idxOut != nil {
						at := bestAt
						if storageOrder == 1 && r == 2 {
							at = (bestAt%g.in[1])*g.in[0] + bestAt/g.in[1]
						}
						idxOut[c*outN+op] = int64(c*inN + at)
					}
				} else {
					div := cnt
					if includePad {
						div = padCount
					}
					if div > 0 {
						yc[op] = float32(sum / float64(div))
					} else {
						yc[op] = 0
					}
				}
			}
		})
		if in.DType != nn.Float32 {
			t = x.out(0, in.DType, outShape)
			f := make([]float64, len(Y))
			for i, v := range Y {
				f[i] = float64(v)
			}
			storeFloats(t.Data, f)
		}
		return nil
	}, nil
}

func compileGlobalAveragePool(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	return func(x *exec, ins []*nn.Tensor) error {
		X, err := f32in(ins[0], "X")
		if err != nil {
			return err
		}
		s := ins[0].Shape
		if len(s) < 3 {
			return shapeErr("GlobalAveragePool on %v", s)
		}
		out := []int{s[0], s[1]}
		for range s[2:] {
			out = append(out, 1)
		}
		Y := x.out(0, nn.Float32, out).F32()
		sp := nn.NumElements(s[2:])
		for c := range Y {
			var sum float64
			for _, v := range X[c*sp : (c+1)*sp] {
				sum += float64(v)
			}
			Y[c] = float32(sum / float64(sp))
		}
		return nil
	}, nil
}

func compileBatchNorm(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	eps := float64(n.Float("epsilon", 1e-5))
	extra := 0
	for _, o := range n.Outputs[min(1, len(n.Outputs)):] {
		if o != "" {
			extra++
		}
	}
	training := n.Int("training_mode", 0) != 0 || (extra > 0 && opset >= 14)
	if !training && extra > 0 {
		return nil, unsupported("BatchNormalization with statistics outputs outside training mode (opset %d)", opset)
	}
	momentum := float64(n.Float("momentum", 0.9))
	return func(x *exec, ins []*nn.Tensor) error {
		X, err := f32in(ins[0], "X")
		if err != nil {
			return err
		}
		var p [4][]float32
		for i := range p {
			if p[i], err = f32in(ins[i+1], "BatchNormalization parameter"); err != nil {
				return err
			}
		}
		s := ins[0].Shape
		if len(s) < 2 {
			return shapeErr("BatchNormalization on %v", s)
		}
		C := s[1]
		for i := range p {
			if len(p[i]) != C {
				return shapeErr("BatchNormalization parameter of %d for %d channels", len(p[i]), C)
			}
		}
		Y := x.out(0, nn.Float32, s).F32()
		sp := nn.NumElements(s[2:])
		mean, vr := p[2], p[3]
		if training {
			// Batch statistics (population variance), and the updated
			// running statistics as outputs 1 and 2.
			mean, vr = make([]float32, C), make([]float32, C)
			cnt := float64(s[0] * sp)
			for c := 0; c < C; c++ {
				var sum, sq float64
				for b := 0; b < s[0]; b++ {
					for _, v := range X[(b*C+c)*sp : (b*C+c+1)*sp] {
						sum += float64(v)
					}
				}
				m := sum / cnt
				for b := 0; b < s[0]; b++ {
					for _, v := range X[(b*C+c)*sp : (b*C+c+1)*sp] {
						d := float64(v) - m
						sq += d * d
					}
				}
				mean[c], vr[c] = float32(m), float32(sq/cnt)
			}
			if len(x.step.out) > 1 && x.step.out[1] >= 0 {
				rm := x.out(1, nn.Float32, []int{C}).F32()
				for c := range rm {
					rm[c] = float32(float64(p[2][c])*momentum + float64(mean[c])*(1-momentum))
				}
			}
			if len(x.step.out) > 2 && x.step.out[2] >= 0 {
				rv := x.out(2, nn.Float32, []int{C}).F32()
				for c := range rv {
					rv[c] = float32(float64(p[3][c])*momentum + float64(vr[c])*(1-momentum))
				}
			}
		}
		x.parallel(s[0]*C, func(nc int) {
			c := nc % C
			a := float32(float64(p[0][c]) / math.Sqrt(float64(vr[c])+eps))
			b := p[1][c] - mean[c]*a
			xs, ys := X[nc*sp:(nc+1)*sp], Y[nc*sp:(nc+1)*sp]
			for i, v := range xs {
				ys[i] = v*a + b
			}
		})
		return nil
	}, nil
}

func compileInstanceNorm(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	eps := float64(n.Float("epsilon", 1e-5))
	var act actFunc
	a := n.Str(graph.AttrActivation, "")
	if a != "" {
		if act = activation(a, n.Float(graph.AttrActAlpha, 0), n.Float(graph.AttrActBeta, 0)); act == nil {
			return nil, unsupported("fused activation %q", a)
		}
	}
	relu := a == "Relu"
	return func(x *exec, ins []*nn.Tensor) error {
		X, err := f32in(ins[0], "X")
		if err != nil {
			return err
		}
		scale, err := f32in(ins[1], "scale")
		if err != nil {
			return err
		}
		bias, err := f32in(ins[2], "B")
		if err != nil {
			return err
		}
		s := ins[0].Shape
		if len(s) < 3 || len(scale) != s[1] || len(bias) != s[1] {
			return shapeErr("InstanceNormalization of %v with %d scales", s, len(scale))
		}
		C := s[1]
		Y := x.out(0, nn.Float32, s).F32()
		sp := nn.NumElements(s[2:])
		x.parallel(s[0]*C, func(nc int) {
			c := nc % C
			xs, ys := X[nc*sp:(nc+1)*sp], Y[nc*sp:(nc+1)*sp]
			var sum float64
			for _, v := range xs {
				sum += float64(v)
			}
			mean := sum / float64(sp)
			var sq float64
			for _, v := range xs {
				d := float64(v) - mean
				sq += d * d
			}
			inv := 1 / math.Sqrt(sq/float64(sp)+eps)
			a := float32(float64(scale[c]) * inv)
			b := float32(float64(bias[c]) - mean*float64(scale[c])*inv)
			switch {
			case relu: // the fused InstanceNorm+Relu of style networks, in one pass
				for i, v := range xs {
					ys[i] = max(v*a+b, 0)
				}
			default:
				for i, v := range xs {
					ys[i] = v*a + b
				}
				if act != nil {
					act(ys)
				}
			}
		})
		return nil
	}, nil
}

func compileGemm(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	alpha, beta := n.Float("alpha", 1), n.Float("beta", 1)
	tA, tB := n.Int("transA", 0) != 0, n.Int("transB", 0) != 0
	return func(x *exec, ins []*nn.Tensor) error {
		A, err := f32in(ins[0], "A")
		if err != nil {
			return err
		}
		B, err := f32in(ins[1], "B")
		if err != nil {
			return err
		}
		as, bs := ins[0].Shape, ins[1].Shape
		if len(as) != 2 || len(bs) != 2 {
			return shapeErr("Gemm of %v and %v", as, bs)
		}
		M, K := as[0], as[1]
		if tA {
			M, K = K, M
		}
		K2, N := bs[0], bs[1]
		if tB {
			K2, N = N, K2
		}
		if K != K2 {
			return shapeErr("Gemm of %v and %v (transA %v, transB %v)", as, bs, tA, tB)
		}
		Y := x.out(0, nn.Float32, []int{M, N}).F32()
		b := float32(0)
		if len(ins) > 2 && ins[2] != nil && beta != 0 {
			C, err := f32in(ins[2], "C")
			if err != nil {
				return err
			}
			if _, err := broadcastShape(ins[2].Shape, []int{M, N}); err != nil {
				return err
			}
			if len(ins[2].Shape) > 2 {
				return shapeErr("Gemm C of %v", ins[2].Shape)
			}
			switch {
			case len(C) == M*N:
				copy(Y, C)
			case len(C) == N && (len(ins[2].Shape) == 1 || ins[2].Shape[0] == 1):
				for i := 0; i < M; i++ {
					copy(Y[i*N:(i+1)*N], C)
				}
			default:
				cs := ins[2].Shape
				key := append([]int{M, N}, cs...)
				idx := x.indexMapFor(key, M*N, func(idx []int32) {
					indexMap(idx, []int{M, N}, bstrides(cs, []int{M, N}), 0)
				})
				for i, j := range idx {
					Y[i] = C[j]
				}
			}
			b = beta
		}
		lda, ldb := as[1], bs[1]
		sgemm(x.threads, tA, tB, M, N, K, alpha, A, lda, B, ldb, b, Y, N)
		return nil
	}, nil
}

func compileMatMul(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	return func(x *exec, ins []*nn.Tensor) error {
		A, err := f32in(ins[0], "A")
		if err != nil {
			return err
		}
		B, err := f32in(ins[1], "B")
		if err != nil {
			return err
		}
		as, bs := ins[0].Shape, ins[1].Shape
		if len(as) == 0 || len(bs) == 0 {
			return shapeErr("MatMul of scalars")
		}
		a2, b2 := as, bs
		if len(as) == 1 {
			a2 = []int{1, as[0]}
		}
		if len(bs) == 1 {
			b2 = []int{bs[0], 1}
		}
		M, K := a2[len(a2)-2], a2[len(a2)-1]
		K2, N := b2[len(b2)-2], b2[len(b2)-1]
		if K != K2 {
			return shapeErr("MatMul of %v and %v", as, bs)
		}
		batch, err := broadcastShape(a2[:len(a2)-2], b2[:len(b2)-2])
		if err != nil {
			return err
		}
		out := append(append([]int(nil), batch...), M, N)
		nb := nn.NumElements(batch)
		ia := make([]int32, nb)
		ib := make([]int32, nb)
		indexMap(ia, batch, bstrides(a2[:len(a2)-2], batch), 0)
		indexMap(ib, batch, bstrides(b2[:len(b2)-2], batch), 0)
		var final []int
		final = append(final, batch...)
		if len(as) > 1 {
			final = append(final, M)
		}
		if len(bs) > 1 {
			final = append(final, N)
		}
		t := x.out(0, nn.Float32, out)
		Y := t.F32()
		for i := 0; i < nb; i++ {
			sgemm(x.threads, false, false, M, N, K, 1, A[int(ia[i])*M*K:], K, B[int(ib[i])*K*N:], N, 0, Y[i*M*N:], N)
		}
		t.Shape = final
		return nil
	}, nil
}

func compileSoftmax(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	def := int64(-1)
	if opset < 13 {
		def = 1
	}
	axis := n.Int("axis", def)
	return func(x *exec, ins []*nn.Tensor) error {
		X, err := f32in(ins[0], "input")
		if err != nil {
			return err
		}
		s := ins[0].Shape
		a, err := normAxis(axis, max(len(s), 1))
		if err != nil {
			return err
		}
		Y := x.out(0, nn.Float32, s).F32()
		var outer, dim, inner int
		if opset < 13 {
			outer, dim, inner = nn.NumElements(s[:a]), nn.NumElements(s[a:]), 1
		} else {
			outer, dim, inner = nn.NumElements(s[:a]), s[a], nn.NumElements(s[a+1:])
		}
		if len(s) == 0 {
			outer, dim, inner = 1, 1, 1
		}
		for o := 0; o < outer; o++ {
			for in := 0; in < inner; in++ {
				base := o*dim*inner + in
				m := float32(math.Inf(-1))
				for d := 0; d < dim; d++ {
					m = max(m, X[base+d*inner])
				}
				var sum float64
				for d := 0; d < dim; d++ {
					e := math.Exp(float64(X[base+d*inner] - m))
					Y[base+d*inner] = float32(e)
					sum += e
				}
				for d := 0; d < dim; d++ {
					Y[base+d*inner] = float32(float64(Y[base+d*inner]) / sum)
				}
			}
		}
		return nil
	}, nil
}

func compileReduceMean(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	attrAxes := n.Ints("axes")
	keep := n.Int("keepdims", 1) != 0
	noopEmpty := n.Int("noop_with_empty_axes", 0) != 0
	return func(x *exec, ins []*nn.Tensor) error {
		X, err := f32in(ins[0], "data")
		if err != nil {
			return err
		}
		axes := attrAxes
		if opset >= 18 && len(ins) > 1 && ins[1] != nil {
			if axes, err = ints(ins[1]); err != nil {
				return err
			}
		}
		s := ins[0].Shape
		red := make([]bool, len(s))
		if len(axes) == 0 {
			if noopEmpty {
				t := x.out(0, nn.Float32, s)
				copy(t.F32(), X)
				return nil
			}
			for i := range red {
				red[i] = true
			}
		}
		for _, a := range axes {
			ax, err := normAxis(a, len(s))
			if err != nil {
				return err
			}
			red[ax] = true
		}
		keepShape := make([]int, len(s))
		var outShape []int
		cnt := 1
		for i, d := range s {
			if red[i] {
				keepShape[i] = 1
				cnt *= d
				if keep {
					outShape = append(outShape, 1)
				}
			} else {
				keepShape[i] = d
				outShape = append(outShape, d)
			}
		}
		t := x.out(0, nn.Float32, outShape)
		Y := t.F32()
		acc := make([]float64, len(Y))
		// map each input element to its output slot
		idx := make([]int32, len(X))
		ks := strides(keepShape)
		st := make([]int, len(s))
		for i := range s {
			if !red[i] {
				st[i] = ks[i]
			}
		}
		indexMap(idx, s, st, 0)
		for i, j := range idx {
			acc[j] += float64(X[i])
		}
		for i := range Y {
			if cnt > 0 {
				Y[i] = float32(acc[i] / float64(cnt))
			} else {
				Y[i] = float32(math.NaN())
			}
		}
		return nil
	}, nil
}

// pool2D is the allocation-free 2-D MaxPool/AveragePool of one plane:
// the valid kernel rows and columns of each window are computed once, so
// the inner loops carry no bounds tests.
func pool2D(g convGeom, isMax, includePad bool, xc, yc []float32) {
	if g.dil[0] == 1 && g.dil[1] == 1 {
		pool2DRows(g, isMax, includePad, xc, yc)
		return
	}
	H, W := g.in[0], g.in[1]
	OH, OW := g.out[0], g.out[1]
	sh, sw, dh, dw := g.stride[0], g.stride[1], g.dil[0], g.dil[1]
	kh, kw := g.k[0], g.k[1]
	// first and last valid kernel tap for a window starting at s over n
	valid := func(s, d, k, n int) (int, int) {
		lo := 0
		if s < 0 {
			lo = (-s + d - 1) / d
		}
		hi := k
		if last := s + (k-1)*d; last >= n {
			hi = k - ((last-n)/d + 1)
		}
		return lo, max(hi, lo)
	}
	for oh := 0; oh < OH; oh++ {
		h0 := oh*sh - g.padB[0]
		ilo, ihi := valid(h0, dh, kh, H)
		padH := (min(h0+(kh-1)*dh+1, H+g.padE[0]) - h0 + dh - 1) / dh
		yrow := yc[oh*OW : (oh+1)*OW]
		for ow := range yrow {
			w0 := ow*sw - g.padB[1]
			jlo, jhi := valid(w0, dw, kw, W)
			if isMax {
				best := float32(math.Inf(-1))
				for i := ilo; i < ihi; i++ {
					row := xc[(h0+i*dh)*W:]
					if dw == 1 {
						for _, v := range row[w0+jlo : w0+jhi] {
							if v > best {
								best = v
							}
						}
						continue
					}
					for j := jlo; j < jhi; j++ {
						if v := row[w0+j*dw]; v > best {
							best = v
						}
					}
				}
				yrow[ow] = best
				continue
			}
			var sum float32
			for i := ilo; i < ihi; i++ {
				row := xc[(h0+i*dh)*W:]
				for j := jlo; j < jhi; j++ {
					sum += row[w0+j*dw]
				}
			}
			div := (ihi - ilo) * (jhi - jlo)
			if includePad {
				div = padH * ((min(w0+(kw-1)*dw+1, W+g.padE[1]) - w0 + dw - 1) / dw)
			}
			if div > 0 {
				yrow[ow] = sum / float32(div)
			} else {
				yrow[ow] = 0
			}
		}
	}
}

// pool2DRows is pool2D for undilated windows, row by row: each valid input
// row of a window is folded into the output row, with a bounds-test-free
// inner loop over the output columns whose windows lie inside the input.
func pool2DRows(g convGeom, isMax, includePad bool, xc, yc []float32) {
	H, W := g.in[0], g.in[1]
	OH, OW := g.out[0], g.out[1]
	sh, sw := g.stride[0], g.stride[1]
	kh, kw := g.k[0], g.k[1]
	pl := g.padB[1]
	// output columns whose window is entirely inside [0, W)
	owLo := min(OW, (pl+sw-1)/sw)
	owHi := owLo
	if W-kw+pl >= 0 {
		owHi = max(owLo, min(OW, (W-kw+pl)/sw+1))
	}
	inf := float32(math.Inf(-1))
	for oh := 0; oh < OH; oh++ {
		h0 := oh*sh - g.padB[0]
		ilo, ihi := max(0, -h0), min(kh, H-h0)
		yrow := yc[oh*OW : (oh+1)*OW]
		if isMax {
			for i := range yrow {
				yrow[i] = inf
			}
		} else {
			clear(yrow)
		}
		for i := ilo; i < ihi; i++ {
			row := xc[(h0+i)*W : (h0+i+1)*W]
			edge := func(ow int) {
				w0 := ow*sw - pl
				for j := max(0, -w0); j < min(kw, W-w0); j++ {
					v := row[w0+j]
					if isMax {
						if v > yrow[ow] {
							yrow[ow] = v
						}
					} else {
						yrow[ow] += v
					}
				}
			}
			for ow := 0; ow < owLo; ow++ {
				edge(ow)
			}
			switch {
			case isMax && kw == 3:
				for ow := owLo; ow < owHi; ow++ {
					b := ow*sw - pl
					p := row[b : b+3 : b+3]
					m := yrow[ow]
					if p[0] > m {
						m = p[0]
					}
					if p[1] > m {
						m = p[1]
					}
					if p[2] > m {
						m = p[2]
					}
					yrow[ow] = m
				}
			case isMax:
				for ow := owLo; ow < owHi; ow++ {
					b := ow*sw - pl
					m := yrow[ow]
					for _, v := range row[b : b+kw] {
						if v > m {
							m = v
						}
					}
					yrow[ow] = m
				}
			default:
				for ow := owLo; ow < owHi; ow++ {
					b := ow*sw - pl
					var sum float32
					for _, v := range row[b : b+kw] {
						sum += v
					}
					yrow[ow] += sum
				}
			}
			for ow := owHi; ow < OW; ow++ {
				edge(ow)
			}
		}
		if isMax {
			continue
		}
		rows := ihi - ilo
		padH := min(h0+kh, H+g.padE[0]) - h0
		for ow := range yrow {
			w0 := ow*sw - pl
			div := rows * (min(kw, W-w0) - max(0, -w0))
			if includePad {
				div = padH * (min(w0+kw, W+g.padE[1]) - w0)
			}
			if div > 0 {
				yrow[ow] /= float32(div)
			} else {
				yrow[ow] = 0
			}
		}
	}
}
