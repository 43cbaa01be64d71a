package cpu

import (
	"sync"

	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/graph"
	"github.com/sluice-ml/sluice/nn/kernels"
)

func init() {
	register("Conv", compileConv)
	register("ConvTranspose", compileConvTranspose)
}

// convGeom is a resolved N-D convolution/pooling geometry.
type convGeom struct {
	in, k, out, stride, dil, padB, padE []int
}

// resolvePads computes explicit pads and output sizes for conv and pooling
// (ONNX auto_pad semantics; ceil for pooling's ceil_mode).
func resolvePads(n *graph.Node, in, k []int, ceil bool) (convGeom, error) {
	r := len(in)
	g := convGeom{in: in, k: k, out: make([]int, r), stride: make([]int, r), dil: make([]int, r), padB: make([]int, r), padE: make([]int, r)}
	st, dl, pads := n.Ints("strides"), n.Ints("dilations"), n.Ints("pads")
	for i := 0; i < r; i++ {
		g.stride[i], g.dil[i] = 1, 1
		if len(st) == r {
			g.stride[i] = int(st[i])
		}
		if len(dl) == r {
			g.dil[i] = int(dl[i])
		}
		if g.stride[i] < 1 || g.dil[i] < 1 || k[i] < 1 {
			return g, shapeErr("strides %v, dilations %v, kernel %v", st, dl, k)
		}
		if len(pads) == 2*r {
			g.padB[i], g.padE[i] = int(pads[i]), int(pads[i+r])
		} else if len(pads) != 0 {
			return g, shapeErr("pads %v for %d spatial dims", pads, r)
		}
	}
	ap := n.Str("auto_pad", "NOTSET")
	for i := 0; i < r; i++ {
		ek := (k[i]-1)*g.dil[i] + 1
		switch ap {
		case "SAME_UPPER", "SAME_LOWER":
			o := (in[i] + g.stride[i] - 1) / g.stride[i]
			total := max(0, (o-1)*g.stride[i]+ek-in[i])
			if ap == "SAME_UPPER" || total < 0 {
				// A negative total grows the output at the end, like
				// output_padding.
				g.padB[i], g.padE[i] = total/2, total-total/2
			} else {
				g.padB[i], g.padE[i] = total-total/2, total/2
			}
			g.out[i] = o
			continue
		case "VALID":
			g.padB[i], g.padE[i] = 0, 0
		case "NOTSET", "":
		default:
			return g, unsupported("auto_pad %q", ap)
		}
		span := in[i] + g.padB[i] + g.padE[i] - ek
		if span < 0 {
			return g, shapeErr("kernel %v larger than padded input %v", k, in)
		}
		o := span/g.stride[i] + 1
		if ceil && span%g.stride[i] != 0 {
			o++
			// The last window must start inside the input or left padding.
			if (o-1)*g.stride[i] >= in[i]+g.padB[i] {
				o--
			}
		}
		g.out[i] = o
	}
	return g, nil
}

type convOp struct {
	constWB     bool
	packed      sync.Map // packKey -> *kernels.PackedConv
	group       int
	act         actFunc
	actName     string
	alpha, beta float32
}

func compileConv(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	c := &convOp{group: int(n.Int("group", 1))}
	if c.group < 1 {
		return nil, shapeErr("group %d", c.group)
	}
	if a := n.Str(graph.AttrActivation, ""); a != "" {
		c.actName = a
		c.alpha, c.beta = n.Float(graph.AttrActAlpha, 0), n.Float(graph.AttrActBeta, 0)
		c.act = activation(a, c.alpha, c.beta)
		if c.act == nil {
			return nil, unsupported("fused activation %q", a)
		}
	}
	c.constWB = isConst(n.Input(1)) && (n.Input(2) == "" || isConst(n.Input(2)))
	return func(x *exec, ins []*nn.Tensor) error {
		X, err := f32in(ins[0], "X")
		if err != nil {
			return err
		}
		W, err := f32in(ins[1], "W")
		if err != nil {
			return err
		}
		var B []float32
		if len(ins) > 2 && ins[2] != nil {
			if B, err = f32in(ins[2], "B"); err != nil {
				return err
			}
		}
		xs, ws := ins[0].Shape, ins[1].Shape
		if len(xs) < 3 || len(ws) != len(xs) {
			return shapeErr("Conv of X %v with W %v", xs, ws)
		}
		N, C, M := xs[0], xs[1], ws[0]
		if C%c.group != 0 || M%c.group != 0 || ws[1] != C/c.group {
			return shapeErr("Conv X %v, W %v, group %d", xs, ws, c.group)
		}
		if B != nil && len(B) != M {
			return shapeErr("Conv bias of %d for %d output channels", len(B), M)
		}
		geo, err := resolvePads(n, xs[2:], ws[2:], false)
		if err != nil {
			return err
		}
		outShape := append([]int{N, M}, geo.out...)
		if len(ins) > 3 && ins[3] != nil {
			return c.residual(x, geo, N, C, M, X, W, B, outShape, ins[3])
		}
		t := x.out(0, nn.Float32, outShape)
		Y := t.F32()
		if pc := c.kernel(geo, C, M, W, B); pc != nil {
			pc.RunThreads(N, x.threads, X, Y)
			return nil
		}
		conv(x, geo, N, C, M, c.group, X, W, B, Y)
		if c.act != nil {
			parallelChunks(x, len(Y), func(lo, hi int) { c.act(Y[lo:hi]) })
		}
		return nil
	}, nil
}

type packKey struct{ c, h, w int }

// residual computes act(conv(X) + skip) for a Conv fused with the Add
// that follows it (graph.AttrResidual).
func (c *convOp) residual(x *exec, geo convGeom, N, C, M int, X, W, B []float32, convShape []int, skipT *nn.Tensor) error {
	skip, err := f32in(skipT, "residual")
	if err != nil {
		return err
	}
	if slicesEqual(skipT.Shape, convShape) {
		t := x.out(0, nn.Float32, convShape)
		Y := t.F32()
		if pc := c.kernel(geo, C, M, W, B); pc != nil {
			pc.RunResidual(N, x.threads, X, skip, Y)
			return nil
		}
		conv(x, geo, N, C, M, c.group, X, W, B, Y)
		applyF32(opAdd, Y, Y, skip)
		if c.act != nil {
			parallelChunks(x, len(Y), func(lo, hi int) { c.act(Y[lo:hi]) })
		}
		return nil
	}
	// Broadcasting skip: convolve into scratch, then add as Add would.
	out, err := broadcastShape(convShape, skipT.Shape)
	if err != nil {
		return err
	}
	tmp := make([]float32, nn.NumElements(convShape))
	conv(x, geo, N, C, M, c.group, X, W, B, tmp)
	t := x.out(0, nn.Float32, out)
	binaryF32(x, opAdd, t.F32(), tmp, skip, out, bstrides(convShape, out), bstrides(skipT.Shape, out),
		len(tmp) == t.Len(), len(skip) == t.Len(), c.act)
	return nil
}

// kernel returns nn/kernels' packed convolution for this geometry (1-D and
// 2-D, constant weights), packing it on first use; nil when it does not
// apply.
func (c *convOp) kernel(g convGeom, C, M int, W, B []float32) *kernels.PackedConv {
	if !useKernelConv || !c.constWB || len(g.in) > 2 {
		return nil
	}
	p := kernels.ConvParams{C: C, M: M, Group: c.group, H: 1, W: g.in[0], KH: 1, KW: g.k[0], OH: 1, OW: g.out[0],
		StrideH: 1, StrideW: g.stride[0], DilH: 1, DilW: g.dil[0], PadLeft: g.padB[0], PadRight: g.padE[0]}
	if len(g.in) == 2 {
		p.H, p.W, p.KH, p.KW, p.OH, p.OW = g.in[0], g.in[1], g.k[0], g.k[1], g.out[0], g.out[1]
		p.StrideH, p.StrideW, p.DilH, p.DilW = g.stride[0], g.stride[1], g.dil[0], g.dil[1]
		p.PadTop, p.PadLeft, p.PadBottom, p.PadRight = g.padB[0], g.padB[1], g.padE[0], g.padE[1]
	}
	// Padding past the kernel's reach (allowed by ONNX) is left to the
	// reference path.
	if p.PadTop < 0 || p.PadLeft < 0 || p.PadBottom < 0 || p.PadRight < 0 {
		return nil
	}
	switch c.actName {
	case "":
	case "Relu":
		p.Act = kernels.ActRelu
	case "Clip":
		p.Act, p.Alpha, p.Beta = kernels.ActClip, c.alpha, c.beta
	case "LeakyRelu":
		p.Act, p.Alpha = kernels.ActLeakyRelu, c.alpha
	default:
		return nil
	}
	key := packKey{C, p.H, p.W}
	if v, ok := c.packed.Load(key); ok {
		return v.(*kernels.PackedConv)
	}
	pc, err := kernels.PackConvWeights(p, W, B)
	if err != nil {
		return nil
	}
	v, _ := c.packed.LoadOrStore(key, pc)
	return v.(*kernels.PackedConv)
}

// conv computes an N-D grouped convolution with im2col + GEMM.
func conv(x *exec, g convGeom, N, C, M, group int, X, W, B, Y []float32) {
	cg, mg := C/group, M/group
	kn := nn.NumElements(g.k)
	inN, outN := nn.NumElements(g.in), nn.NumElements(g.out)
	kdim := cg * kn
	pointwise := kn == 1 && allOne(g.stride) && allZeroI(g.padB) && allZeroI(g.padE)
	var col []float32
	if !pointwise {
		col = x.scratch(kdim * outN)
	}
	for b := 0; b < N; b++ {
		for gi := 0; gi < group; gi++ {
			xb := X[(b*C+gi*cg)*inN : (b*C+(gi+1)*cg)*inN]
			yb := Y[(b*M+gi*mg)*outN : (b*M+(gi+1)*mg)*outN]
			wb := W[gi*mg*kdim : (gi+1)*mg*kdim]
			src := xb
			if !pointwise {
				im2col(x, g, cg, xb, col)
				src = col
			}
			sgemm(x.threads, false, false, mg, outN, kdim, 1, wb, kdim, src, outN, 0, yb, outN)
			if B != nil {
				for m := 0; m < mg; m++ {
					bv := B[gi*mg+m]
					row := yb[m*outN : (m+1)*outN]
					for i := range row {
						row[i] += bv
					}
				}
			}
		}
	}
}

func allOne(s []int) bool {
	for _, v := range s {
		if v != 1 {
			return false
		}
	}
	return true
}

func allZeroI(s []int) bool {
	for _, v := range s {
		if v != 0 {
			return false
		}
	}
	return true
}

// im2col writes col[(c*kn + kpos) * outN + opos] = x at the input position
// of kernel offset kpos for output position opos (0 outside the input).
func im2col(x *exec, g convGeom, cg int, X, col []float32) {
	r := len(g.in)
	kn := nn.NumElements(g.k)
	inN, outN := nn.NumElements(g.in), nn.NumElements(g.out)
	if r == 2 {
		H, Wd := g.in[0], g.in[1]
		OH, OW := g.out[0], g.out[1]
		KH, KW := g.k[0], g.k[1]
		x.parallel(cg, func(c int) {
			xc := X[c*inN : (c+1)*inN]
			for kh := 0; kh < KH; kh++ {
				for kw := 0; kw < KW; kw++ {
					dst := col[(c*kn+kh*KW+kw)*outN : (c*kn+kh*KW+kw+1)*outN]
					for oh := 0; oh < OH; oh++ {
						ih := oh*g.stride[0] - g.padB[0] + kh*g.dil[0]
						row := dst[oh*OW : (oh+1)*OW]
						if ih < 0 || ih >= H {
							clear(row)
							continue
						}
						xr := xc[ih*Wd : (ih+1)*Wd]
						iw := -g.padB[1] + kw*g.dil[1]
						sw := g.stride[1]
						for ow := range row {
							if iw >= 0 && iw < Wd {
								row[ow] = xr[iw]
							} else {
								row[ow] = 0
							}
							iw += sw
						}
					}
				}
			}
		})
		return
	}
	// Generic N-D.
	kpos := make([]int, r)
	opos := make([]int, r)
	inSt := strides(g.in)
	for c := 0; c < cg; c++ {
		for kp := 0; kp < kn; kp++ {
			unravel(kp, g.k, kpos)
			dst := col[(c*kn+kp)*outN : (c*kn+kp+1)*outN]
			for op := 0; op < outN; op++ {
				unravel(op, g.out, opos)
				off, ok := c*inN, true
				for d := 0; d < r; d++ {
					i := opos[d]*g.stride[d] - g.padB[d] + kpos[d]*g.dil[d]
					if i < 0 || i >= g.in[d] {
						ok = false
						break
					}
					off += i * inSt[d]
				}
				if ok {
					dst[op] = X[off]
				} else {
					dst[op] = 0
				}
			}
		}
	}
}

func unravel(i int, shape, pos []int) {
	for d := len(shape) - 1; d >= 0; d-- {
		pos[d] = i % shape[d]
		i /= shape[d]
	}
}

func compileConvTranspose(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	group := int(n.Int("group", 1))
	if group < 1 {
		return nil, shapeErr("group %d", group)
	}
	return func(x *exec, ins []*nn.Tensor) error {
		X, err := f32in(ins[0], "X")
		if err != nil {
			return err
		}
		W, err := f32in(ins[1], "W")
		if err != nil {
			return err
		}
		var B []float32
		if len(ins) > 2 && ins[2] != nil {
			if B, err = f32in(ins[2], "B"); err != nil {
				return err
			}
		}
		xs, ws := ins[0].Shape, ins[1].Shape
		if len(xs) < 3 || len(ws) != len(xs) || ws[0] != xs[1] || xs[1]%group != 0 {
			return shapeErr("ConvTranspose of X %v with W %v, group %d", xs, ws, group)
		}
		r := len(xs) - 2
		N, C := xs[0], xs[1]
		cg, mg := C/group, ws[1]
		M := mg * group
		in, k := xs[2:], ws[2:]
		st, dl, pads := n.Ints("strides"), n.Ints("dilations"), n.Ints("pads")
		outPad, outShapeAttr := n.Ints("output_padding"), n.Ints("output_shape")
		g := convGeom{in: in, k: k, out: make([]int, r), stride: make([]int, r), dil: make([]int, r), padB: make([]int, r), padE: make([]int, r)}
		ap := n.Str("auto_pad", "NOTSET")
		for i := 0; i < r; i++ {
			g.stride[i], g.dil[i] = 1, 1
			if len(st) == r {
				g.stride[i] = int(st[i])
			}
			if len(dl) == r {
				g.dil[i] = int(dl[i])
			}
			if g.stride[i] < 1 || g.dil[i] < 1 {
				return shapeErr("strides %v dilations %v", st, dl)
			}
			op := 0
			if len(outPad) == r {
				op = int(outPad[i])
			}
			if len(pads) == 2*r {
				g.padB[i], g.padE[i] = int(pads[i]), int(pads[i+r])
			}
			full := g.stride[i]*(in[i]-1) + op + (k[i]-1)*g.dil[i] + 1
			var target int
			switch {
			case len(outShapeAttr) >= r:
				target = int(outShapeAttr[len(outShapeAttr)-r+i])
			case ap == "SAME_UPPER" || ap == "SAME_LOWER":
				target = in[i] * g.stride[i]
			default:
				g.out[i] = full - g.padB[i] - g.padE[i]
				if g.out[i] <= 0 {
					return shapeErr("ConvTranspose output size %d", g.out[i])
				}
				continue
			}
			total := full - target
			if ap == "SAME_UPPER" || total < 0 {
				// A negative total grows the output at the end, like
				// output_padding.
				g.padB[i], g.padE[i] = total/2, total-total/2
			} else {
				g.padB[i], g.padE[i] = total-total/2, total/2
			}
			g.out[i] = target
		}
		outShape := append([]int{N, M}, g.out...)
		t := x.out(0, nn.Float32, outShape)
		Y := t.F32()
		clear(Y)
		kn := nn.NumElements(k)
		inN, outN := nn.NumElements(in), nn.NumElements(g.out)
		col := x.scratch(mg * kn * inN)
		for b := 0; b < N; b++ {
			for gi := 0; gi < group; gi++ {
				xb := X[(b*C+gi*cg)*inN : (b*C+(gi+1)*cg)*inN]
				wb := W[gi*cg*mg*kn : (gi+1)*cg*mg*kn] // [cg, mg*kn]
				// col[mg*kn, inN] = wb^T · xb
				sgemm(x.threads, true, false, mg*kn, inN, cg, 1, wb, mg*kn, xb, inN, 0, col, inN)
				yb := Y[(b*M+gi*mg)*outN : (b*M+(gi+1)*mg)*outN]
				col2im(g, mg, col, yb)
			}
			if B != nil {
				for m := 0; m < M; m++ {
					row := Y[(b*M+m)*outN : (b*M+m+1)*outN]
					for i := range row {
						row[i] += B[m]
					}
				}
			}
		}
		return nil
	}, nil
}

// col2im scatter-adds col[(m*kn + kp)*inN + ip] into Y at output position
// ip*stride - padB + kp*dil.
func col2im(g convGeom, mg int, col, Y []float32) {
	r := len(g.in)
	kn := nn.NumElements(g.k)
	inN, outN := nn.NumElements(g.in), nn.NumElements(g.out)
	kpos := make([]int, r)
	ipos := make([]int, r)
	oSt := strides(g.out)
	for m := 0; m < mg; m++ {
		ym := Y[m*outN : (m+1)*outN]
		for kp := 0; kp < kn; kp++ {
			unravel(kp, g.k, kpos)
			src := col[(m*kn+kp)*inN : (m*kn+kp+1)*inN]
			for ip := 0; ip < inN; ip++ {
				unravel(ip, g.in, ipos)
				off, ok := 0, true
				for d := 0; d < r; d++ {
					o := ipos[d]*g.stride[d] - g.padB[d] + kpos[d]*g.dil[d]
					if o < 0 || o >= g.out[d] {
						ok = false
						break
					}
					off += o * oSt[d]
				}
				if ok {
					ym[off] += src[ip]
				}
			}
		}
	}
}
