//go:build cuda

package gpu

import (
	"fmt"
	"math"
	"unsafe"

	"gorgonia.org/cu"

	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/graph"
)

// opFunc runs one node: ins are its inputs (nil for omitted optional
// ones); outputs are set through x.out / x.view.
type opFunc func(x *exec, ins []*dval) error

// cctx is what compile functions see of the session.
type cctx struct {
	s       *Session
	isConst func(string) bool
	constOf func(string) *nn.Tensor
}

type compileFunc func(n *graph.Node, opset int, c *cctx) (opFunc, error)

var registry = map[string]compileFunc{}

func init() {
	for op, f := range map[string]compileFunc{
		"Conv": compileConv, "Gemm": compileGemm, "MatMul": compileMatMul,
		"MaxPool": compilePool, "AveragePool": compilePool,
		"GlobalAveragePool":  compileGlobalPool,
		"BatchNormalization": compileBatchNorm, "InstanceNormalization": compileInstanceNorm,
		"Add": compileBinary, "Sub": compileBinary, "Mul": compileBinary, "Div": compileBinary,
		"Relu": compileUnary, "LeakyRelu": compileUnary, "Sigmoid": compileUnary, "Tanh": compileUnary, "Clip": compileUnary,
		"Concat": compileConcat, "Flatten": compileFlatten, "Reshape": compileReshape,
		"Squeeze": compileSqueeze, "Unsqueeze": compileSqueeze, "Identity": compileIdentity, "Dropout": compileIdentity,
		"Pad": compilePad, "Resize": compileResize, "Upsample": compileResize,
	} {
		registry[op] = f
	}
}

// SupportedOps lists the operators the GPU backend runs.
func SupportedOps() []string {
	var ops []string
	for op := range registry {
		ops = append(ops, op)
	}
	return ops
}

// viewOps produce output 0 as a view of input 0's data.
var viewOps = map[string]bool{"Reshape": true, "Flatten": true, "Squeeze": true, "Unsqueeze": true, "Identity": true, "Dropout": true}

func supported(n *graph.Node, opset int) error {
	if _, ok := registry[n.Op]; !ok || n.Domain != graph.DefaultDomain {
		dom := n.Domain
		if dom == "" {
			dom = "ai.onnx"
		}
		return fmt.Errorf("%w: %s (domain %s, opset %d) used by node %q is not implemented by the GPU backend", nn.ErrUnsupportedOp, n.Op, dom, opset, n.Name)
	}
	return nil
}

func compile(n *graph.Node, opset int, c *cctx) (opFunc, error) {
	if err := supported(n, opset); err != nil {
		return nil, err
	}
	op, err := registry[n.Op](n, opset, c)
	if err != nil {
		return nil, fmt.Errorf("%s (opset %d) node %q: %w", n.Op, opset, n.Name, err)
	}
	return op, nil
}

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{nn.ErrUnsupportedOp}, args...)...)
}

func shapeErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{nn.ErrShape}, args...)...)
}

// off advances a float32 device pointer by n elements.
func off(p cu.DevicePtr, n int) cu.DevicePtr { return p + cu.DevicePtr(4*n) }

// dev returns v's device pointer, or an error for a host-only constant.
func dev(v *dval, what string) (cu.DevicePtr, error) {
	if v == nil {
		return 0, shapeErr("missing %s", what)
	}
	if v.ptr == 0 && v.len() > 0 {
		dt := nn.Undefined
		if v.host != nil {
			dt = v.host.DType
		}
		return 0, unsupported("%s of type %v (the GPU backend computes float32)", what, dt)
	}
	return v.ptr, nil
}

// Activation codes of the kernels.
const (
	actNone = iota
	actRelu
	actClip
	actLeaky
	actSigmoid
	actTanh
)

// fusedAct reads the activation nn/graph fused into a node.
func fusedAct(n *graph.Node) (int, float32, float32, error) {
	a := n.Str(graph.AttrActivation, "")
	lo, hi := n.Float(graph.AttrActAlpha, 0), n.Float(graph.AttrActBeta, 0)
	switch a {
	case "":
		return actNone, 0, 0, nil
	case "Relu":
		return actRelu, 0, 0, nil
	case "Clip":
		return actClip, lo, hi, nil
	case "LeakyRelu":
		return actLeaky, lo, 0, nil
	}
	return 0, 0, 0, unsupported("fused activation %q", a)
}

// convGeom is a resolved 2-D convolution/pooling geometry.
type convGeom struct {
	in, k, out, stride, dil, padB, padE []int
}

// resolvePads computes explicit pads and output sizes for conv and pooling
// (ONNX auto_pad semantics; ceil for pooling's ceil_mode), as nn/cpu does.
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
			if ap == "SAME_UPPER" {
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
			if (o-1)*g.stride[i] >= in[i]+g.padB[i] {
				o--
			}
		}
		g.out[i] = o
	}
	return g, nil
}

// colLimit bounds the im2col scratch of one Conv chunk (floats).
var colLimit int64 = 1 << 26

func compileConv(n *graph.Node, opset int, c *cctx) (opFunc, error) {
	group := int(n.Int("group", 1))
	if group < 1 {
		return nil, shapeErr("group %d", group)
	}
	act, lo, hi, err := fusedAct(n)
	if err != nil {
		return nil, err
	}
	if w := c.constOf(n.Input(1)); w != nil && len(w.Shape) != 4 {
		return nil, unsupported("Conv with %d-D weights (only 2-D convolution)", len(w.Shape))
	}
	return func(x *exec, ins []*dval) error {
		X, W := ins[0], ins[1]
		xs, ws := X.shape, W.shape
		if len(xs) != 4 || len(ws) != 4 {
			return unsupported("Conv of X %v with W %v (only 2-D convolution)", xs, ws)
		}
		N, C, H, Wd, M := xs[0], xs[1], xs[2], xs[3], ws[0]
		if C%group != 0 || M%group != 0 || ws[1] != C/group {
			return shapeErr("Conv X %v, W %v, group %d", xs, ws, group)
		}
		xp, err := dev(X, "Conv input")
		if err != nil {
			return err
		}
		wp, err := dev(W, "Conv weights")
		if err != nil {
			return err
		}
		geo, err := resolvePads(n, xs[2:], ws[2:], false)
		if err != nil {
			return err
		}
		KH, KW, OH, OW := ws[2], ws[3], geo.out[0], geo.out[1]
		Y, err := x.out(0, []int{N, M, OH, OW})
		if err != nil {
			return err
		}
		var bias, res cu.DevicePtr
		if len(ins) > 2 && ins[2] != nil {
			if ins[2].len() != M {
				return shapeErr("Conv bias of %d for %d output channels", ins[2].len(), M)
			}
			if bias, err = dev(ins[2], "Conv bias"); err != nil {
				return err
			}
		}
		if len(ins) > 3 && ins[3] != nil {
			if !sameShape(ins[3].shape, Y.shape) {
				return shapeErr("Conv residual %v for output %v", ins[3].shape, Y.shape)
			}
			if res, err = dev(ins[3], "Conv residual"); err != nil {
				return err
			}
		}
		d := x.s.d
		if group > 1 {
			return d.launch("conv_direct", int64(Y.len()), pArg(xp), pArg(wp), pArg(bias), pArg(res), pArg(Y.ptr),
				iArg(N), iArg(C), iArg(H), iArg(Wd), iArg(M), iArg(group), iArg(KH), iArg(KW), iArg(OH), iArg(OW),
				iArg(geo.stride[0]), iArg(geo.stride[1]), iArg(geo.padB[0]), iArg(geo.padB[1]), iArg(geo.dil[0]), iArg(geo.dil[1]),
				iArg(act), fArg(lo), fArg(hi))
		}
		K, P := C*KH*KW, OH*OW
		pointwise := KH == 1 && KW == 1 && geo.stride[0] == 1 && geo.stride[1] == 1 && allZero(geo.padB) && allZero(geo.padE)
		nb := N
		if !pointwise {
			if per := int64(K) * int64(P); per > 0 && int64(nb)*per > colLimit {
				nb = max(1, int(colLimit/per))
			}
			if per := int64(M) * int64(P); per > 0 && int64(nb)*per > colLimit {
				nb = max(1, min(nb, int(colLimit/per)))
			}
		}
		epilogue := func(y, r cu.DevicePtr, n int64) error {
			if bias == 0 && r == 0 && act == actNone {
				return nil
			}
			return d.launch("conv_epilogue", n, pArg(y), pArg(bias), pArg(r), uint64(n), iArg(M), iArg(P), iArg(act), fArg(lo), fArg(hi))
		}
		resAt := func(n0 int) cu.DevicePtr {
			if res == 0 {
				return 0
			}
			return off(res, n0*M*P)
		}
		for n0 := 0; n0 < N; n0 += nb {
			cnt := min(nb, N-n0)
			y := off(Y.ptr, n0*M*P)
			switch {
			case pointwise && cnt > 1:
				// A 1×1 stride-1 convolution multiplies each image as it
				// lies: per image Y[M][P] = W[M][K] · X[K][P], one strided
				// batched GEMM (column-major Yᵀ = Xᵀ · Wᵀ), straight into NCHW.
				if err := d.sgemmBatched(x.s.tf32, P, M, K, off(xp, n0*C*P), P, int64(K)*int64(P), wp, K, 0, y, P, int64(M)*int64(P), cnt); err != nil {
					return err
				}
				if err := epilogue(y, resAt(n0), int64(cnt)*int64(M)*int64(P)); err != nil {
					return err
				}
			case cnt == 1:
				col := off(xp, n0*C*P)
				if !pointwise {
					if col, err = im2col(x, xp, n0, 1, C, H, Wd, KH, KW, OH, OW, geo); err != nil {
						return err
					}
				}
				if err := d.sgemm(x.s.tf32, false, false, P, M, K, 1, col, P, wp, K, 0, y, P); err != nil {
					return err
				}
				if err := epilogue(y, resAt(n0), int64(M)*int64(P)); err != nil {
					return err
				}
			default:
				// Wide layout: col[K][cnt·P], one GEMM tmp[M][cnt·P] =
				// W · col (column-major tmpᵀ = colᵀ · Wᵀ), and an epilogue that
				// adds bias and residual, activates and writes NCHW.
				cols := cnt * P
				col, err := im2col(x, xp, n0, cnt, C, H, Wd, KH, KW, OH, OW, geo)
				if err != nil {
					return err
				}
				tmp, err := x.tmp(int64(M) * int64(cols))
				if err != nil {
					return err
				}
				if err := d.sgemm(x.s.tf32, false, false, cols, M, K, 1, col, cols, wp, K, 0, tmp, cols); err != nil {
					return err
				}
				if err := d.launch("conv_epilogue_wide", int64(cnt)*int64(M)*int64(P), pArg(tmp), pArg(Y.ptr), pArg(bias), pArg(res),
					iArg(n0), iArg(cnt), iArg(M), iArg(P), iArg(act), fArg(lo), fArg(hi)); err != nil {
					return err
				}
			}
		}
		return nil
	}, nil
}

// im2col writes the columns of images n0..n0+nb of x into scratch:
// col[k][img·P + p].
func im2col(x *exec, xp cu.DevicePtr, n0, nb, C, H, W, KH, KW, OH, OW int, geo convGeom) (cu.DevicePtr, error) {
	n := int64(nb) * int64(C*KH*KW) * int64(OH*OW)
	col, err := x.tmp(n)
	if err != nil {
		return 0, err
	}
	return col, x.s.d.launch("im2col", n, pArg(xp), pArg(col), iArg(n0), iArg(nb), iArg(C), iArg(H), iArg(W),
		iArg(KH), iArg(KW), iArg(OH), iArg(OW), iArg(geo.stride[0]), iArg(geo.stride[1]), iArg(geo.padB[0]), iArg(geo.padB[1]),
		iArg(geo.dil[0]), iArg(geo.dil[1]))
}

func allZero(s []int) bool {
	for _, v := range s {
		if v != 0 {
			return false
		}
	}
	return true
}

func sameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func compileGemm(n *graph.Node, opset int, c *cctx) (opFunc, error) {
	alpha, beta := n.Float("alpha", 1), n.Float("beta", 1)
	tA, tB := n.Int("transA", 0) != 0, n.Int("transB", 0) != 0
	return func(x *exec, ins []*dval) error {
		as, bs := ins[0].shape, ins[1].shape
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
		ap, err := dev(ins[0], "Gemm A")
		if err != nil {
			return err
		}
		bp, err := dev(ins[1], "Gemm B")
		if err != nil {
			return err
		}
		Y, err := x.out(0, []int{M, N})
		if err != nil {
			return err
		}
		b := float32(0)
		if len(ins) > 2 && ins[2] != nil && beta != 0 {
			cs := ins[2].shape
			cr, cc := 1, 1
			switch len(cs) {
			case 0:
			case 1:
				cc = cs[0]
			case 2:
				cr, cc = cs[0], cs[1]
			default:
				return shapeErr("Gemm C of %v", cs)
			}
			if (cr != 1 && cr != M) || (cc != 1 && cc != N) {
				return shapeErr("Gemm C of %v for output [%d %d]", cs, M, N)
			}
			cp, err := dev(ins[2], "Gemm C")
			if err != nil {
				return err
			}
			if err := x.s.d.launch("gemm_bias", int64(M)*int64(N), pArg(cp), pArg(Y.ptr), iArg(M), iArg(N), iArg(cr), iArg(cc), fArg(beta)); err != nil {
				return err
			}
			b = 1
		}
		// Row-major Y = op(A)·op(B) is column-major Yᵀ = op(B)ᵀ·op(A)ᵀ.
		return x.s.d.sgemm(x.s.tf32, tB, tA, N, M, K, alpha, bp, bs[1], ap, as[1], b, Y.ptr, N)
	}, nil
}

func compileMatMul(n *graph.Node, opset int, c *cctx) (opFunc, error) {
	return func(x *exec, ins []*dval) error {
		as, bs := ins[0].shape, ins[1].shape
		if len(as) < 2 || len(bs) != 2 {
			return unsupported("MatMul of %v and %v (the GPU backend takes A [..., M, K] and a 2-D B)", as, bs)
		}
		K, N := bs[0], bs[1]
		if as[len(as)-1] != K {
			return shapeErr("MatMul of %v and %v", as, bs)
		}
		M := nn.NumElements(as[:len(as)-1])
		ap, err := dev(ins[0], "MatMul A")
		if err != nil {
			return err
		}
		bp, err := dev(ins[1], "MatMul B")
		if err != nil {
			return err
		}
		out := append(append([]int(nil), as[:len(as)-1]...), N)
		Y, err := x.out(0, out)
		if err != nil {
			return err
		}
		return x.s.d.sgemm(x.s.tf32, false, false, N, M, K, 1, bp, N, ap, K, 0, Y.ptr, N)
	}, nil
}

func compilePool(n *graph.Node, opset int, c *cctx) (opFunc, error) {
	isMax := n.Op == "MaxPool"
	ks := n.Ints("kernel_shape")
	if len(ks) != 2 {
		return nil, unsupported("%s with kernel_shape %v (only 2-D pooling)", n.Op, ks)
	}
	if len(n.Outputs) > 1 && n.Outputs[1] != "" {
		return nil, unsupported("MaxPool with an Indices output")
	}
	ceil := n.Int("ceil_mode", 0) != 0
	includePad := n.Int("count_include_pad", 0) != 0
	k := []int{int(ks[0]), int(ks[1])}
	return func(x *exec, ins []*dval) error {
		s := ins[0].shape
		if len(s) != 4 {
			return shapeErr("%s kernel %v on input %v", n.Op, ks, s)
		}
		xp, err := dev(ins[0], n.Op+" input")
		if err != nil {
			return err
		}
		g, err := resolvePads(n, s[2:], k, ceil)
		if err != nil {
			return err
		}
		Y, err := x.out(0, []int{s[0], s[1], g.out[0], g.out[1]})
		if err != nil {
			return err
		}
		return x.s.d.launch("pool2d", int64(Y.len()), pArg(xp), pArg(Y.ptr), iArg(s[0]*s[1]), iArg(s[2]), iArg(s[3]),
			iArg(g.out[0]), iArg(g.out[1]), iArg(k[0]), iArg(k[1]), iArg(g.stride[0]), iArg(g.stride[1]),
			iArg(g.padB[0]), iArg(g.padB[1]), iArg(g.padE[0]), iArg(g.padE[1]), iArg(g.dil[0]), iArg(g.dil[1]),
			iArg(b2i(isMax)), iArg(b2i(includePad)))
	}, nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func compileGlobalPool(n *graph.Node, opset int, c *cctx) (opFunc, error) {
	mode := 0
	if n.Op == "GlobalMaxPool" {
		mode = 1
	}
	return func(x *exec, ins []*dval) error {
		s := ins[0].shape
		if len(s) < 3 {
			return shapeErr("%s on %v", n.Op, s)
		}
		xp, err := dev(ins[0], n.Op+" input")
		if err != nil {
			return err
		}
		out := []int{s[0], s[1]}
		for range s[2:] {
			out = append(out, 1)
		}
		Y, err := x.out(0, out)
		if err != nil {
			return err
		}
		if Y.len() == 0 {
			return nil
		}
		return x.s.d.launchGrid("plane_reduce", s[0]*s[1], 256, pArg(xp), pArg(Y.ptr), iArg(nn.NumElements(s[2:])), iArg(mode))
	}, nil
}

func compileBatchNorm(n *graph.Node, opset int, c *cctx) (opFunc, error) {
	eps := float64(n.Float("epsilon", 1e-5))
	if n.Int("training_mode", 0) != 0 {
		return nil, unsupported("BatchNormalization in training mode")
	}
	for _, o := range n.Outputs[min(1, len(n.Outputs)):] {
		if o != "" {
			return nil, unsupported("BatchNormalization with statistics outputs")
		}
	}
	var p [4][]float32
	for i := range p {
		t := c.constOf(n.Input(i + 1))
		if t == nil || t.F32() == nil {
			return nil, unsupported("BatchNormalization with non-constant or non-float32 parameters")
		}
		p[i] = t.F32()
	}
	C := len(p[0])
	for i := range p {
		if len(p[i]) != C {
			return nil, shapeErr("BatchNormalization parameters of %d and %d channels", C, len(p[i]))
		}
	}
	ab := make([]float32, 2*C)
	for ch := 0; ch < C; ch++ {
		a := float32(float64(p[0][ch]) / math.Sqrt(float64(p[3][ch])+eps))
		ab[ch], ab[C+ch] = a, p[1][ch]-p[2][ch]*a
	}
	return func(x *exec, ins []*dval) error {
		s := ins[0].shape
		if len(s) < 2 || s[1] != C {
			return shapeErr("BatchNormalization of %d channels on %v", C, s)
		}
		xp, err := dev(ins[0], "BatchNormalization input")
		if err != nil {
			return err
		}
		abp, err := x.cached("ab", func() (unsafe.Pointer, int) { return unsafe.Pointer(&ab[0]), len(ab) })
		if err != nil {
			return err
		}
		Y, err := x.out(0, s)
		if err != nil {
			return err
		}
		return x.s.d.launch("channel_affine", int64(Y.len()), pArg(xp), pArg(Y.ptr), pArg(abp), pArg(off(abp, C)), iArg(C),
			iArg(max(1, nn.NumElements(s[2:]))), uint64(Y.len()), iArg(actNone), fArg(0), fArg(0))
	}, nil
}

func compileInstanceNorm(n *graph.Node, opset int, c *cctx) (opFunc, error) {
	eps := n.Float("epsilon", 1e-5)
	act, lo, hi, err := fusedAct(n)
	if err != nil {
		return nil, err
	}
	return func(x *exec, ins []*dval) error {
		s := ins[0].shape
		if len(s) < 3 || ins[1].len() != s[1] || ins[2].len() != s[1] {
			return shapeErr("InstanceNormalization of %v with %d scales", s, ins[1].len())
		}
		xp, err := dev(ins[0], "InstanceNormalization input")
		if err != nil {
			return err
		}
		sp, err := dev(ins[1], "InstanceNormalization scale")
		if err != nil {
			return err
		}
		bp, err := dev(ins[2], "InstanceNormalization bias")
		if err != nil {
			return err
		}
		Y, err := x.out(0, s)
		if err != nil {
			return err
		}
		if Y.len() == 0 {
			return nil
		}
		planes, spn := s[0]*s[1], nn.NumElements(s[2:])
		const chunk = 8192
		nchunks := (spn + chunk - 1) / chunk
		part, err := x.tmp(int64(4 * planes * nchunks)) // 2 doubles per block
		if err != nil {
			return err
		}
		ab, err := x.tmp(int64(2 * planes))
		if err != nil {
			return err
		}
		d := x.s.d
		if err := d.launchGrid("in_partial", planes*nchunks, 256, pArg(xp), pArg(part), iArg(spn), iArg(chunk), iArg(nchunks)); err != nil {
			return err
		}
		if err := d.launch("in_final", int64(planes), pArg(part), pArg(ab), pArg(sp), pArg(bp), iArg(planes), iArg(s[1]),
			iArg(spn), iArg(nchunks), fArg(eps)); err != nil {
			return err
		}
		return d.launch("in_apply", int64(Y.len()), pArg(xp), pArg(Y.ptr), pArg(ab), iArg(spn), uint64(Y.len()), iArg(act), fArg(lo), fArg(hi))
	}, nil
}

func compileUnary(n *graph.Node, opset int, c *cctx) (opFunc, error) {
	var act int
	var lo, hi float32
	switch n.Op {
	case "Relu":
		act = actRelu
	case "LeakyRelu":
		act, lo = actLeaky, n.Float("alpha", 0.01)
	case "Sigmoid":
		act = actSigmoid
	case "Tanh":
		act = actTanh
	case "Clip":
		act = actClip
		lo, hi = n.Float("min", float32(math.Inf(-1))), n.Float("max", float32(math.Inf(1)))
		if opset >= 11 {
			lo, hi = float32(math.Inf(-1)), float32(math.Inf(1))
			for i, dst := range []*float32{&lo, &hi} {
				name := n.Input(i + 1)
				if name == "" {
					continue
				}
				t := c.constOf(name)
				if t == nil || t.Len() != 1 || t.F32() == nil {
					return nil, unsupported("Clip with a non-constant or non-float32 bound %q", name)
				}
				*dst = t.F32()[0]
			}
		}
	}
	return func(x *exec, ins []*dval) error {
		xp, err := dev(ins[0], n.Op+" input")
		if err != nil {
			return err
		}
		Y, err := x.out(0, ins[0].shape)
		if err != nil {
			return err
		}
		return x.s.d.launch("unary", int64(Y.len()), pArg(xp), pArg(Y.ptr), uint64(Y.len()), iArg(act), fArg(lo), fArg(hi))
	}, nil
}

func broadcastShape(a, b []int) ([]int, error) {
	r := max(len(a), len(b))
	out := make([]int, r)
	for i := 0; i < r; i++ {
		da, db := 1, 1
		if j := i - (r - len(a)); j >= 0 {
			da = a[j]
		}
		if j := i - (r - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db, db == 1:
			out[i] = da
		case da == 1:
			out[i] = db
		default:
			return nil, shapeErr("cannot broadcast %v with %v", a, b)
		}
	}
	return out, nil
}

// bstrides4 returns the element strides of a tensor of shape s broadcast
// to a rank-4 output (s right-aligned), 0 along broadcast dims.
func bstrides4(s []int) [4]int {
	var st [4]int
	stride := 1
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] != 1 {
			st[4-len(s)+i] = stride
		}
		stride *= s[i]
	}
	return st
}

func pad4(s []int) [4]int {
	d := [4]int{1, 1, 1, 1}
	copy(d[4-len(s):], s)
	return d
}

func compileBinary(n *graph.Node, opset int, c *cctx) (opFunc, error) {
	op := map[string]int{"Add": 0, "Sub": 1, "Mul": 2, "Div": 3}[n.Op]
	if opset < 7 && n.Int("broadcast", 0) != 0 {
		return nil, unsupported("legacy broadcast (opset %d)", opset)
	}
	act, lo, hi, err := fusedAct(n)
	if err != nil {
		return nil, err
	}
	return func(x *exec, ins []*dval) error {
		a, b := ins[0], ins[1]
		ap, err := dev(a, n.Op+" input A")
		if err != nil {
			return err
		}
		bp, err := dev(b, n.Op+" input B")
		if err != nil {
			return err
		}
		out, err := broadcastShape(a.shape, b.shape)
		if err != nil {
			return err
		}
		Y, err := x.out(0, out)
		if err != nil {
			return err
		}
		if op == 0 && sameShape(a.shape, b.shape) {
			return x.s.d.launch("add_same", int64(Y.len()), pArg(ap), pArg(bp), pArg(Y.ptr), uint64(Y.len()), iArg(act), fArg(lo), fArg(hi))
		}
		if len(out) > 4 {
			return unsupported("%s broadcasting over %d dims (at most 4)", n.Op, len(out))
		}
		d, as, bs := pad4(out), bstrides4(a.shape), bstrides4(b.shape)
		return x.s.d.launch("binary", int64(Y.len()), pArg(ap), pArg(bp), pArg(Y.ptr), uint64(Y.len()),
			iArg(d[0]), iArg(d[1]), iArg(d[2]), iArg(d[3]), iArg(as[0]), iArg(as[1]), iArg(as[2]), iArg(as[3]),
			iArg(bs[0]), iArg(bs[1]), iArg(bs[2]), iArg(bs[3]), iArg(op), iArg(act), fArg(lo), fArg(hi))
	}, nil
}

func normAxis(axis int64, rank int) (int, error) {
	a := int(axis)
	if a < 0 {
		a += rank
	}
	if a < 0 || a >= rank {
		return 0, shapeErr("axis %d for rank %d", axis, rank)
	}
	return a, nil
}

func compileConcat(n *graph.Node, opset int, c *cctx) (opFunc, error) {
	axis := n.Int("axis", 1)
	return func(x *exec, ins []*dval) error {
		if len(ins) == 0 || ins[0] == nil {
			return shapeErr("Concat of nothing")
		}
		r := len(ins[0].shape)
		ax, err := normAxis(axis, r)
		if err != nil {
			return err
		}
		out := append([]int(nil), ins[0].shape...)
		out[ax] = 0
		for _, in := range ins {
			if in == nil || len(in.shape) != r {
				return shapeErr("Concat of ranks differing")
			}
			for i := range out {
				if i != ax && in.shape[i] != out[i] {
					return shapeErr("Concat on axis %d of %v and %v", ax, ins[0].shape, in.shape)
				}
			}
			out[ax] += in.shape[ax]
		}
		Y, err := x.out(0, out)
		if err != nil {
			return err
		}
		outer := nn.NumElements(out[:ax])
		outInner := nn.NumElements(out[ax:])
		o := 0
		for i, in := range ins {
			inner := nn.NumElements(in.shape[ax:])
			if inner > 0 && outer > 0 {
				p, err := dev(in, fmt.Sprintf("Concat input %d", i))
				if err != nil {
					return err
				}
				if err := x.s.d.launch("copy_block", int64(outer)*int64(inner), pArg(p), pArg(Y.ptr), uint64(outer), uint64(inner),
					uint64(outInner), uint64(o)); err != nil {
					return err
				}
			}
			o += inner
		}
		return nil
	}, nil
}

func compileIdentity(n *graph.Node, opset int, c *cctx) (opFunc, error) {
	if n.Op == "Dropout" && len(n.Outputs) > 1 && n.Outputs[1] != "" {
		return nil, unsupported("Dropout with a mask output")
	}
	return func(x *exec, ins []*dval) error {
		x.view(0, ins[0], ins[0].shape)
		return nil
	}, nil
}

func compileFlatten(n *graph.Node, opset int, c *cctx) (opFunc, error) {
	axis := n.Int("axis", 1)
	return func(x *exec, ins []*dval) error {
		s := ins[0].shape
		a := int(axis)
		if a < 0 {
			a += len(s)
		}
		if a < 0 || a > len(s) {
			return shapeErr("Flatten axis %d of %v", axis, s)
		}
		x.view(0, ins[0], []int{nn.NumElements(s[:a]), nn.NumElements(s[a:])})
		return nil
	}, nil
}

func constInts(t *nn.Tensor) ([]int64, bool) {
	if t == nil {
		return nil, false
	}
	switch d := t.Data.(type) {
	case []int64:
		return d, true
	case []int32:
		out := make([]int64, len(d))
		for i, v := range d {
			out[i] = int64(v)
		}
		return out, true
	}
	return nil, false
}

func compileReshape(n *graph.Node, opset int, c *cctx) (opFunc, error) {
	var want []int64
	if opset < 5 {
		want = n.Ints("shape")
	} else {
		var ok bool
		if want, ok = constInts(c.constOf(n.Input(1))); !ok {
			return nil, unsupported("Reshape with a shape computed at run time")
		}
	}
	allowZero := n.Int("allowzero", 0) != 0
	return func(x *exec, ins []*dval) error {
		in := ins[0].shape
		out := make([]int, len(want))
		infer := -1
		known := 1
		for i, w := range want {
			switch {
			case w == 0 && !allowZero:
				if i >= len(in) {
					return shapeErr("Reshape %v to %v", in, want)
				}
				out[i] = in[i]
			case w == -1:
				if infer >= 0 {
					return shapeErr("Reshape to %v with two -1", want)
				}
				infer = i
				continue
			case w < 0:
				return shapeErr("Reshape to %v", want)
			default:
				out[i] = int(w)
			}
			known *= out[i]
		}
		total := nn.NumElements(in)
		if infer >= 0 {
			if known == 0 || total%known != 0 {
				return shapeErr("Reshape %v to %v", in, want)
			}
			out[infer] = total / known
		}
		if nn.NumElements(out) != total {
			return shapeErr("Reshape %v to %v", in, want)
		}
		x.view(0, ins[0], out)
		return nil
	}, nil
}

func compileSqueeze(n *graph.Node, opset int, c *cctx) (opFunc, error) {
	axes := n.Ints("axes")
	if opset >= 13 && n.Input(1) != "" {
		var ok bool
		if axes, ok = constInts(c.constOf(n.Input(1))); !ok {
			return nil, unsupported("%s with axes computed at run time", n.Op)
		}
	}
	squeeze := n.Op == "Squeeze"
	return func(x *exec, ins []*dval) error {
		s := ins[0].shape
		var out []int
		if squeeze {
			drop := map[int]bool{}
			for _, a := range axes {
				ax, err := normAxis(a, len(s))
				if err != nil {
					return err
				}
				if s[ax] != 1 {
					return shapeErr("Squeeze axis %d of %v", a, s)
				}
				drop[ax] = true
			}
			for i, d := range s {
				if (len(axes) == 0 && d == 1) || drop[i] {
					continue
				}
				out = append(out, d)
			}
		} else {
			r := len(s) + len(axes)
			ins := map[int]bool{}
			for _, a := range axes {
				ax, err := normAxis(a, r)
				if err != nil {
					return err
				}
				ins[ax] = true
			}
			j := 0
			for i := 0; i < r; i++ {
				if ins[i] {
					out = append(out, 1)
				} else {
					if j >= len(s) {
						return shapeErr("Unsqueeze axes %v of %v", axes, s)
					}
					out = append(out, s[j])
					j++
				}
			}
		}
		x.view(0, ins[0], out)
		return nil
	}, nil
}

// gather4 runs the per-dimension gather kernel: maps[d][o] is the source
// index along dim d of output coordinate o (-1: cval).
func gather4(x *exec, key string, in *dval, Y *dval, maps [][]int, cval float32) error {
	xp, err := dev(in, "input")
	if err != nil {
		return err
	}
	if Y.len() == 0 {
		return nil
	}
	r := len(in.shape)
	if r > 4 {
		return unsupported("%d-D tensors (at most 4)", r)
	}
	full := make([][]int, 4)
	for d := 0; d < 4-r; d++ {
		full[d] = []int{0}
	}
	copy(full[4-r:], maps)
	mp, err := x.cached(key, func() (unsafe.Pointer, int) {
		var flat []int32
		for _, m := range full {
			for _, v := range m {
				flat = append(flat, int32(v))
			}
		}
		return unsafe.Pointer(&flat[0]), len(flat)
	})
	if err != nil {
		return err
	}
	o := pad4(Y.shape)
	st := [4]int{}
	stride := 1
	for d := r - 1; d >= 0; d-- {
		st[4-r+d] = stride
		stride *= in.shape[d]
	}
	return x.s.d.launch("gather4", int64(Y.len()), pArg(xp), pArg(Y.ptr), pArg(mp), uint64(Y.len()),
		iArg(o[0]), iArg(o[1]), iArg(o[2]), iArg(o[3]), iArg(st[0]), iArg(st[1]), iArg(st[2]), iArg(st[3]), fArg(cval))
}

func compilePad(n *graph.Node, opset int, c *cctx) (opFunc, error) {
	mode := n.Str("mode", "constant")
	switch mode {
	case "constant", "reflect", "edge":
	default:
		return nil, unsupported("Pad mode %q", mode)
	}
	pads := n.Ints("pads")
	if opset < 2 && pads == nil {
		pads = n.Ints("paddings")
	}
	cval := n.Float("value", 0)
	if opset >= 11 {
		var ok bool
		if pads, ok = constInts(c.constOf(n.Input(1))); !ok {
			return nil, unsupported("Pad with pads computed at run time")
		}
		if name := n.Input(2); name != "" {
			t := c.constOf(name)
			if t == nil || t.F32() == nil || t.Len() != 1 {
				return nil, unsupported("Pad with a non-constant or non-float32 value")
			}
			cval = t.F32()[0]
		}
	}
	return func(x *exec, ins []*dval) error {
		s := ins[0].shape
		r := len(s)
		if len(pads) != 2*r {
			return shapeErr("Pad pads %v for rank %d", pads, r)
		}
		out := make([]int, r)
		maps := make([][]int, r)
		for d, dim := range s {
			out[d] = dim + int(pads[d]) + int(pads[d+r])
			if out[d] < 0 {
				return shapeErr("Pad pads %v on %v", pads, s)
			}
			if mode == "reflect" && (pads[d] > 0 || pads[d+r] > 0) && (dim < 2 || int(pads[d]) > dim-1 || int(pads[d+r]) > dim-1) {
				return shapeErr("reflect Pad %v larger than dimension %d", pads, dim)
			}
			if mode == "edge" && dim == 0 && out[d] > 0 {
				return shapeErr("edge Pad of an empty dimension")
			}
			maps[d] = make([]int, out[d])
			for o := range maps[d] {
				i := o - int(pads[d])
				if i < 0 || i >= dim {
					switch mode {
					case "constant":
						i = -1
					case "edge":
						i = min(max(i, 0), dim-1)
					case "reflect":
						if dim == 1 {
							i = 0
							break
						}
						period := 2 * (dim - 1)
						i = ((i % period) + period) % period
						if i >= dim {
							i = period - i
						}
					}
				}
				maps[d][o] = i
			}
		}
		Y, err := x.out(0, out)
		if err != nil {
			return err
		}
		return gather4(x, fmt.Sprint(s), ins[0], Y, maps, cval)
	}, nil
}

func compileResize(n *graph.Node, opset int, c *cctx) (opFunc, error) {
	if mode := n.Str("mode", "nearest"); mode != "nearest" {
		return nil, unsupported("%s mode %q (the GPU backend has nearest)", n.Op, mode)
	}
	legacy := n.Op == "Upsample" || opset < 11
	ctm := n.Str("coordinate_transformation_mode", "half_pixel")
	nearestMode := n.Str("nearest_mode", "round_prefer_floor")
	if legacy {
		ctm, nearestMode = "asymmetric", "legacy"
	}
	switch ctm {
	case "half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn":
	default:
		return nil, unsupported("coordinate_transformation_mode %q", ctm)
	}
	switch nearestMode {
	case "round_prefer_floor", "round_prefer_ceil", "floor", "ceil", "legacy":
	default:
		return nil, unsupported("nearest_mode %q", nearestMode)
	}
	var sc []float32
	var sizes []int64
	constF := func(name string) ([]float32, error) {
		t := c.constOf(name)
		if t == nil || t.F32() == nil {
			return nil, unsupported("%s with scales computed at run time", n.Op)
		}
		return t.F32(), nil
	}
	var err error
	switch {
	case n.Op == "Upsample" && (opset < 9 || n.Floats("scales") != nil):
		sc = n.Floats("scales")
	case legacy:
		if sc, err = constF(n.Input(1)); err != nil {
			return nil, err
		}
	default:
		if name := n.Input(2); name != "" {
			if t := c.constOf(name); t == nil || t.Len() > 0 {
				if sc, err = constF(name); err != nil {
					return nil, err
				}
			}
		}
		if name := n.Input(3); name != "" {
			var ok bool
			if sizes, ok = constInts(c.constOf(name)); !ok {
				return nil, unsupported("%s with sizes computed at run time", n.Op)
			}
			if len(sizes) == 0 {
				sizes = nil
			}
		}
	}
	return func(x *exec, ins []*dval) error {
		s := ins[0].shape
		r := len(s)
		scales := make([]float64, r)
		out := make([]int, r)
		switch {
		case sizes != nil:
			if len(sizes) != r {
				return shapeErr("Resize sizes %v for rank %d", sizes, r)
			}
			for i := range out {
				if sizes[i] < 0 || sizes[i] > math.MaxInt32 {
					return shapeErr("Resize sizes %v", sizes)
				}
				out[i] = int(sizes[i])
				scales[i] = float64(out[i]) / float64(s[i])
			}
		case sc != nil:
			if len(sc) != r {
				return shapeErr("%s scales %v for rank %d", n.Op, sc, r)
			}
			for i := range out {
				if !(sc[i] > 0) || float64(sc[i])*float64(s[i]) > math.MaxInt32 {
					return shapeErr("%s scales %v", n.Op, sc)
				}
				scales[i] = float64(sc[i])
				out[i] = int(math.Floor(float64(s[i]) * scales[i]))
			}
		default:
			return shapeErr("%s needs scales or sizes", n.Op)
		}
		maps := make([][]int, r)
		for d := 0; d < r; d++ {
			maps[d] = make([]int, out[d])
			in := s[d]
			for o := range maps[d] {
				fo, scale := float64(o), scales[d]
				lr := float64(in) * scale
				var xo float64
				switch ctm {
				case "half_pixel":
					xo = (fo+0.5)/scale - 0.5
				case "pytorch_half_pixel":
					if lr > 1 {
						xo = (fo+0.5)/scale - 0.5
					}
				case "align_corners":
					if lr > 1 {
						xo = fo * float64(in-1) / (lr - 1)
					}
				case "asymmetric":
					xo = fo / scale
				case "tf_half_pixel_for_nn":
					xo = (fo + 0.5) / scale
				}
				var i int
				switch nearestMode {
				case "round_prefer_floor":
					if xo == math.Floor(xo)+0.5 {
						i = int(math.Floor(xo))
					} else {
						i = int(math.Round(xo))
					}
				case "round_prefer_ceil":
					i = int(math.Round(xo))
					if xo == math.Floor(xo)+0.5 {
						i = int(math.Ceil(xo))
					}
				case "floor":
					i = int(math.Floor(xo))
				case "ceil":
					i = int(math.Ceil(xo))
				case "legacy":
					if scale < 1 {
						i = int(math.Ceil(xo))
					} else {
						i = int(math.Floor(xo))
					}
				}
				maps[d][o] = min(max(i, 0), in-1)
			}
		}
		Y, err := x.out(0, out)
		if err != nil {
			return err
		}
		return gather4(x, fmt.Sprint(s, out), ins[0], Y, maps, 0)
	}, nil
}
