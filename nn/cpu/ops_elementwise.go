package cpu

import (
	"math"

	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/graph"
)

func init() {
	for _, op := range []string{"Relu", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh"} {
		register(op, compileUnary)
	}
	register("Clip", compileClip)
	for _, op := range []string{"Add", "Sub", "Mul", "Div"} {
		register(op, compileBinary)
	}
}

// actFunc is an element-wise float32 activation applied in place.
type actFunc func(y []float32)

func activation(op string, alpha, beta float32) actFunc {
	switch op {
	case "Relu":
		return func(y []float32) {
			for i, v := range y {
				if v < 0 {
					y[i] = 0
				}
			}
		}
	case "LeakyRelu":
		return func(y []float32) {
			for i, v := range y {
				if v < 0 {
					y[i] = v * alpha
				}
			}
		}
	case "Clip":
		return func(y []float32) {
			for i, v := range y {
				y[i] = min(max(v, alpha), beta)
			}
		}
	case "Sigmoid":
		return func(y []float32) {
			for i, v := range y {
				y[i] = float32(1 / (1 + math.Exp(-float64(v))))
			}
		}
	case "Tanh":
		return func(y []float32) {
			for i, v := range y {
				y[i] = float32(math.Tanh(float64(v)))
			}
		}
	case "HardSigmoid":
		return func(y []float32) {
			for i, v := range y {
				y[i] = max(0, min(1, alpha*v+beta))
			}
		}
	case "HardSwish":
		return func(y []float32) {
			for i, v := range y {
				y[i] = v * max(0, min(1, v/6+0.5))
			}
		}
	}
	return nil
}

func compileUnary(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	var alpha, beta float32
	switch n.Op {
	case "LeakyRelu":
		alpha = n.Float("alpha", 0.01)
	case "HardSigmoid":
		alpha, beta = n.Float("alpha", 0.2), n.Float("beta", 0.5)
	}
	f := activation(n.Op, alpha, beta)
	return func(x *exec, ins []*nn.Tensor) error {
		in := ins[0]
		switch d := in.Data.(type) {
		case []float32:
			t := x.out(0, nn.Float32, in.Shape)
			y := t.F32()
			copy(y, d)
			parallelChunks(x, len(y), func(lo, hi int) { f(y[lo:hi]) })
		case []float64:
			t := x.out(0, nn.Float64, in.Shape)
			y := make([]float32, len(d))
			for i, v := range d {
				y[i] = float32(v)
			}
			f(y)
			for i, v := range y {
				t.Data.([]float64)[i] = float64(v)
			}
		default:
			if n.Op == "Relu" {
				t := x.out(0, in.DType, in.Shape)
				v := toFloat64(in.Data)
				for i := range v {
					v[i] = max(v[i], 0)
				}
				storeFloats(t.Data, v)
				return nil
			}
			return unsupported("%s on %v", n.Op, in.DType)
		}
		return nil
	}, nil
}

// parallelChunks splits [0, n) into chunks for the session's threads when
// n is large enough to pay for it.
func parallelChunks(x *exec, n int, fn func(lo, hi int)) {
	const grain = 1 << 15
	chunks := min(x.threads, (n+grain-1)/grain)
	if chunks <= 1 {
		fn(0, n)
		return
	}
	size := (n + chunks - 1) / chunks
	x.parallel(chunks, func(c int) {
		lo := c * size
		fn(lo, min(n, lo+size))
	})
}

func compileClip(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	aMin, aMax := n.Float("min", float32(math.Inf(-1))), n.Float("max", float32(math.Inf(1)))
	return func(x *exec, ins []*nn.Tensor) error {
		in := ins[0]
		if opset < 11 {
			t := x.out(0, in.DType, in.Shape)
			if d, ok := in.Data.([]float32); ok {
				y := t.F32()
				for i, v := range d {
					y[i] = min(max(v, aMin), aMax)
				}
				return nil
			}
			v := toFloat64(in.Data)
			for i := range v {
				v[i] = min(max(v[i], float64(aMin)), float64(aMax))
			}
			storeFloats(t.Data, v)
			return nil
		}
		lo, hi := math.Inf(-1), math.Inf(1)
		if len(ins) > 1 && ins[1] != nil {
			if ins[1].Len() != 1 {
				return shapeErr("Clip min must be a scalar")
			}
			lo = toFloat64(ins[1].Data)[0]
		}
		if len(ins) > 2 && ins[2] != nil {
			if ins[2].Len() != 1 {
				return shapeErr("Clip max must be a scalar")
			}
			hi = toFloat64(ins[2].Data)[0]
		}
		t := x.out(0, in.DType, in.Shape)
		if d, ok := in.Data.([]float32); ok {
			y := t.F32()
			l, h := float32(lo), float32(hi)
			for i, v := range d {
				y[i] = min(max(v, l), h)
			}
			return nil
		}
		v := toFloat64(in.Data)
		for i := range v {
			v[i] = min(max(v[i], lo), hi)
		}
		storeFloats(t.Data, v)
		return nil
	}, nil
}

type binOp int

const (
	opAdd binOp = iota
	opSub
	opMul
	opDiv
)

func compileBinary(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	op := map[string]binOp{"Add": opAdd, "Sub": opSub, "Mul": opMul, "Div": opDiv}[n.Op]
	legacyBroadcast := opset < 7 && n.Int("broadcast", 0) != 0
	legacyAxis := n.Int("axis", -1)
	var act actFunc
	if a := n.Str(graph.AttrActivation, ""); a != "" {
		if act = activation(a, n.Float(graph.AttrActAlpha, 0), n.Float(graph.AttrActBeta, 0)); act == nil {
			return nil, unsupported("fused activation %q", a)
		}
	}
	return func(x *exec, ins []*nn.Tensor) error {
		a, b := ins[0], ins[1]
		if a == nil || b == nil {
			return shapeErr("missing operand")
		}
		if a.DType != b.DType {
			return shapeErr("%s of %v and %v", n.Op, a.DType, b.DType)
		}
		bShape := b.Shape
		if legacyBroadcast && legacyAxis >= 0 {
			// Opset < 7: b's shape aligns at axis, not at the end.
			pad := len(a.Shape) - int(legacyAxis) - len(b.Shape)
			if pad < 0 {
				return shapeErr("legacy broadcast axis %d", legacyAxis)
			}
			bShape = append(append([]int(nil), b.Shape...), make([]int, pad)...)
			for i := len(b.Shape); i < len(bShape); i++ {
				bShape[i] = 1
			}
		}
		out, err := broadcastShape(a.Shape, bShape)
		if err != nil {
			return err
		}
		t := x.out(0, a.DType, out)
		as, bs := bstrides(a.Shape, out), bstrides(bShape, out)
		switch ad := a.Data.(type) {
		case []float32:
			binaryF32(x, op, t.F32(), ad, b.Data.([]float32), out, as, bs, a.Len() == t.Len(), b.Len() == t.Len(), act)
			return nil
		case []float64:
			binaryGen(op, t.Data.([]float64), ad, b.Data.([]float64), out, as, bs)
		case []int64:
			binaryGen(op, t.Data.([]int64), ad, b.Data.([]int64), out, as, bs)
		case []int32:
			binaryGen(op, t.Data.([]int32), ad, b.Data.([]int32), out, as, bs)
		case []int8:
			binaryGen(op, t.Data.([]int8), ad, b.Data.([]int8), out, as, bs)
		case []uint8:
			binaryGen(op, t.Data.([]uint8), ad, b.Data.([]uint8), out, as, bs)
		case []int16:
			binaryGen(op, t.Data.([]int16), ad, b.Data.([]int16), out, as, bs)
		case []uint16:
			binaryGen(op, t.Data.([]uint16), ad, b.Data.([]uint16), out, as, bs)
		case []uint32:
			binaryGen(op, t.Data.([]uint32), ad, b.Data.([]uint32), out, as, bs)
		case []uint64:
			binaryGen(op, t.Data.([]uint64), ad, b.Data.([]uint64), out, as, bs)
		default:
			return unsupported("%s on %v", n.Op, a.DType)
		}
		if act != nil {
			v := toFloat64(t.Data)
			f := make([]float32, len(v))
			for i := range v {
				f[i] = float32(v[i])
			}
			act(f)
			for i := range v {
				v[i] = float64(f[i])
			}
			storeFloats(t.Data, v)
		}
		return nil
	}, nil
}

func applyF32(op binOp, c, a, b []float32) {
	switch op {
	case opAdd:
		for i := range c {
			c[i] = a[i] + b[i]
		}
	case opSub:
		for i := range c {
			c[i] = a[i] - b[i]
		}
	case opMul:
		for i := range c {
			c[i] = a[i] * b[i]
		}
	case opDiv:
		for i := range c {
			c[i] = a[i] / b[i]
		}
	}
}

func applyF32Scalar(op binOp, c, a []float32, s float32, scalarLeft bool) {
	switch {
	case op == opAdd:
		for i := range c {
			c[i] = a[i] + s
		}
	case op == opMul:
		for i := range c {
			c[i] = a[i] * s
		}
	case op == opSub && !scalarLeft:
		for i := range c {
			c[i] = a[i] - s
		}
	case op == opSub:
		for i := range c {
			c[i] = s - a[i]
		}
	case op == opDiv && !scalarLeft:
		for i := range c {
			c[i] = a[i] / s
		}
	default:
		for i := range c {
			c[i] = s / a[i]
		}
	}
}

// binaryF32 computes c = a op b over broadcast strides, with fast paths for
// equal shapes and for rows where one side is a constant.
func binaryF32(x *exec, op binOp, c, a, b []float32, out, as, bs []int, aFull, bFull bool, act actFunc) {
	if aFull && bFull {
		parallelChunks(x, len(c), func(lo, hi int) {
			applyF32(op, c[lo:hi], a[lo:hi], b[lo:hi])
			if act != nil {
				act(c[lo:hi])
			}
		})
		return
	}
	if act != nil {
		defer parallelChunks(x, len(c), func(lo, hi int) { act(c[lo:hi]) })
	}
	if len(b) == 1 && aFull {
		parallelChunks(x, len(c), func(lo, hi int) { applyF32Scalar(op, c[lo:hi], a[lo:hi], b[0], false) })
		return
	}
	if len(a) == 1 && bFull {
		parallelChunks(x, len(c), func(lo, hi int) { applyF32Scalar(op, c[lo:hi], b[lo:hi], a[0], true) })
		return
	}
	r := len(out)
	if r == 0 {
		applyF32(op, c, a, b)
		return
	}
	// Collapse the innermost dims where each operand is either contiguous
	// or constant (stride 0) into rows.
	inner, k := 1, r
	aC, aZ, bC, bZ := true, true, true, true
	for k > 0 {
		d := k - 1
		if out[d] != 1 {
			naC, naZ := aC && as[d] == inner, aZ && as[d] == 0
			nbC, nbZ := bC && bs[d] == inner, bZ && bs[d] == 0
			if !(naC || naZ) || !(nbC || nbZ) {
				break
			}
			aC, aZ, bC, bZ = naC, naZ, nbC, nbZ
		}
		inner *= out[d]
		k--
	}
	aRow, bRow := !aZ, !bZ
	rows := len(c) / max(inner, 1)
	outer := out[:k]
	pos := make([]int, k)
	ao, bo := 0, 0
	for row := 0; row < rows; row++ {
		cc := c[row*inner : (row+1)*inner]
		switch {
		case aRow && bRow:
			applyF32(op, cc, a[ao:ao+inner], b[bo:bo+inner])
		case aRow:
			applyF32Scalar(op, cc, a[ao:ao+inner], b[bo], false)
		case bRow:
			applyF32Scalar(op, cc, b[bo:bo+inner], a[ao], true)
		default:
			applyF32Scalar(op, cc[:1], a[ao:ao+1], b[bo], false)
			for i := range cc {
				cc[i] = cc[0]
			}
		}
		for d := k - 1; d >= 0; d-- {
			pos[d]++
			ao += as[d]
			bo += bs[d]
			if pos[d] < outer[d] {
				break
			}
			ao -= as[d] * pos[d]
			bo -= bs[d] * pos[d]
			pos[d] = 0
		}
	}
}

func allZero(s []int) bool {
	for _, v := range s {
		if v != 0 {
			return false
		}
	}
	return true
}

type number interface {
	~float64 | ~int8 | ~uint8 | ~int16 | ~uint16 | ~int32 | ~uint32 | ~int64 | ~uint64
}

func binaryGen[T number](op binOp, c, a, b []T, out, as, bs []int) {
	idxA := make([]int32, len(c))
	idxB := make([]int32, len(c))
	indexMap(idxA, out, as, 0)
	indexMap(idxB, out, bs, 0)
	var zero T
	isFloat := false
	if _, ok := any(zero).(float64); ok {
		isFloat = true
	}
	for i := range c {
		x, y := a[idxA[i]], b[idxB[i]]
		switch op {
		case opAdd:
			c[i] = x + y
		case opSub:
			c[i] = x - y
		case opMul:
			c[i] = x * y
		case opDiv:
			if y == 0 && !isFloat {
				c[i] = 0 // undefined in ONNX; never a panic
			} else {
				c[i] = x / y
			}
		}
	}
}
