package graph

import (
	"fmt"

	"github.com/sluice-ml/sluice/nn"
)

// InferShapes propagates element types and shapes from the graph inputs
// (or the given overrides, e.g. a concrete batch size) and initializers
// through every node, by the ONNX rules of the supported operators. A
// dimension that cannot be known before run time is -1; a value whose rank
// cannot be known has a nil Shape. Small integer values computed from
// shapes (the Shape → Gather → Concat → Reshape chains exporters emit) are
// tracked so that such reshapes still resolve.
//
// It returns the info of every value by name, and an error wrapping
// nn.ErrShape at the first node whose known input shapes are inconsistent
// (for example a Conv whose channels do not match its weights), naming it.
func InferShapes(g *Graph, inputs map[string][]int) (map[string]ValueInfo, error) {
	si := &shapeInf{g: g, vals: map[string]ValueInfo{}, consts: map[string][]int64{}}
	for _, in := range g.Inputs {
		vi := in
		if s, ok := inputs[in.Name]; ok {
			vi.Shape = append([]int(nil), s...)
		}
		si.vals[in.Name] = vi
	}
	for name, t := range g.Initializers {
		si.vals[name] = ValueInfo{Name: name, DType: t.DType, Shape: append([]int{}, t.Shape...)}
		if v, ok := t.Data.([]int64); ok && len(v) <= 64 {
			si.consts[name] = v
		}
	}
	for _, n := range g.Nodes {
		if err := si.node(n); err != nil {
			return si.vals, fmt.Errorf("shape inference: %v: %w", n, err)
		}
	}
	return si.vals, nil
}

type shapeInf struct {
	g      *Graph
	vals   map[string]ValueInfo
	consts map[string][]int64 // known small int64 values
}

func (si *shapeInf) in(n *Node, i int) (ValueInfo, bool) {
	name := n.Input(i)
	if name == "" {
		return ValueInfo{}, false
	}
	v, ok := si.vals[name]
	return v, ok
}

func (si *shapeInf) set(n *Node, i int, dt nn.DType, shape []int) {
	if i < len(n.Outputs) && n.Outputs[i] != "" {
		si.vals[n.Outputs[i]] = ValueInfo{Name: n.Outputs[i], DType: dt, Shape: shape}
	}
}

func (si *shapeInf) constInts(n *Node, i int) ([]int64, bool) {
	name := n.Input(i)
	if name == "" {
		return nil, false
	}
	v, ok := si.consts[name]
	return v, ok
}

// constFloats returns input i when it is a float32 initializer.
func (si *shapeInf) constFloats(n *Node, i int) []float32 {
	if t, ok := si.g.Const(n.Input(i)); ok {
		return t.F32()
	}
	return nil
}

func bad(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{nn.ErrShape}, args...)...)
}

// bcast broadcasts shapes with unknown (-1) dimensions.
func bcast(a, b []int) ([]int, error) {
	if a == nil || b == nil {
		return nil, nil
	}
	r := max(len(a), len(b))
	out := make([]int, r)
	for i := 0; i < r; i++ {
		x, y := 1, 1
		if j := i - (r - len(a)); j >= 0 {
			x = a[j]
		}
		if j := i - (r - len(b)); j >= 0 {
			y = b[j]
		}
		switch {
		case x == y:
			out[i] = x
		case x == 1:
			out[i] = y
		case y == 1:
			out[i] = x
		case x < 0:
			out[i] = y
		case y < 0:
			out[i] = x
		default:
			return nil, bad("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

func axisOf(a int64, r int) (int, bool) {
	if a < 0 {
		a += int64(r)
	}
	return int(a), a >= 0 && int(a) < r
}

func (si *shapeInf) node(n *Node) error {
	x, okX := si.in(n, 0)
	same := func() { si.set(n, 0, x.DType, x.Shape) }
	switch n.Op {
	case "Relu", "LeakyRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Clip", "Identity",
		"Dropout", "Softmax", "InstanceNormalization", "BatchNormalization":
		same()
		if n.Op == "Identity" && x.Kind != nn.KindTensor && len(n.Outputs) > 0 && n.Outputs[0] != "" {
			vi := x
			vi.Name = n.Outputs[0]
			si.vals[vi.Name] = vi // sequences and optionals pass through
		}
		if v, ok := si.consts[n.Input(0)]; ok && n.Op == "Identity" {
			si.consts[n.Outputs[0]] = v
		}
	case "Cast":
		si.set(n, 0, nn.DType(n.Int("to", 0)), x.Shape)
	case "Add", "Sub", "Mul", "Div":
		y, _ := si.in(n, 1)
		s, err := bcast(x.Shape, y.Shape)
		if err != nil {
			return err
		}
		si.set(n, 0, x.DType, s)
		a, okA := si.consts[n.Input(0)]
		b, okB := si.consts[n.Input(1)]
		if okA && okB && (len(a) == len(b) || len(a) == 1 || len(b) == 1) {
			out := make([]int64, max(len(a), len(b)))
			for i := range out {
				p, q := a[min(i, len(a)-1)], b[min(i, len(b)-1)]
				switch n.Op {
				case "Add":
					out[i] = p + q
				case "Sub":
					out[i] = p - q
				case "Mul":
					out[i] = p * q
				case "Div":
					if q == 0 {
						return nil
					}
					out[i] = p / q
				}
			}
			si.consts[n.Outputs[0]] = out
		}
	case "Conv", "MaxPool", "AveragePool":
		return si.convLike(n, x)
	case "ConvTranspose":
		w, _ := si.in(n, 1)
		if x.Shape == nil || w.Shape == nil || len(x.Shape) < 3 {
			si.set(n, 0, x.DType, nil)
			return nil
		}
		r := len(x.Shape) - 2
		out := []int{x.Shape[0], w.Shape[1] * int(n.Int("group", 1))}
		st, dl, pads, op, os := n.Ints("strides"), n.Ints("dilations"), n.Ints("pads"), n.Ints("output_padding"), n.Ints("output_shape")
		for i := 0; i < r; i++ {
			if len(os) >= r {
				out = append(out, int(os[len(os)-r+i]))
				continue
			}
			in := x.Shape[i+2]
			if in < 0 {
				out = append(out, -1)
				continue
			}
			s, d, o, pb, pe := 1, 1, 0, 0, 0
			if len(st) == r {
				s = int(st[i])
			}
			if len(dl) == r {
				d = int(dl[i])
			}
			if len(op) == r {
				o = int(op[i])
			}
			if len(pads) == 2*r {
				pb, pe = int(pads[i]), int(pads[i+r])
			}
			if ap := n.Str("auto_pad", "NOTSET"); ap == "SAME_UPPER" || ap == "SAME_LOWER" {
				out = append(out, in*s)
				continue
			}
			out = append(out, s*(in-1)+o+(w.Shape[i+2]-1)*d+1-pb-pe)
		}
		si.set(n, 0, x.DType, out)
	case "GlobalAveragePool":
		if x.Shape == nil {
			si.set(n, 0, x.DType, nil)
			return nil
		}
		out := append([]int(nil), x.Shape[:min(2, len(x.Shape))]...)
		for range x.Shape[min(2, len(x.Shape)):] {
			out = append(out, 1)
		}
		si.set(n, 0, x.DType, out)
	case "Gemm":
		b, _ := si.in(n, 1)
		if len(x.Shape) != 2 || len(b.Shape) != 2 {
			si.set(n, 0, x.DType, nil)
			return nil
		}
		m, k := x.Shape[0], x.Shape[1]
		if n.Int("transA", 0) != 0 {
			m, k = k, m
		}
		k2, nn_ := b.Shape[0], b.Shape[1]
		if n.Int("transB", 0) != 0 {
			k2, nn_ = nn_, k2
		}
		if k >= 0 && k2 >= 0 && k != k2 {
			return bad("Gemm of %v and %v", x.Shape, b.Shape)
		}
		si.set(n, 0, x.DType, []int{m, nn_})
	case "MatMul":
		b, _ := si.in(n, 1)
		if len(x.Shape) == 0 || len(b.Shape) == 0 {
			si.set(n, 0, x.DType, nil)
			return nil
		}
		a2, b2 := x.Shape, b.Shape
		if len(a2) == 1 {
			a2 = []int{1, a2[0]}
		}
		if len(b2) == 1 {
			b2 = []int{b2[0], 1}
		}
		k, k2 := a2[len(a2)-1], b2[len(b2)-2]
		if k >= 0 && k2 >= 0 && k != k2 {
			return bad("MatMul of %v and %v", x.Shape, b.Shape)
		}
		batch, err := bcast(a2[:len(a2)-2], b2[:len(b2)-2])
		if err != nil {
			return err
		}
		out := append([]int{}, batch...)
		if len(x.Shape) > 1 {
			out = append(out, a2[len(a2)-2])
		}
		if len(b.Shape) > 1 {
			out = append(out, b2[len(b2)-1])
		}
		si.set(n, 0, x.DType, out)
	case "Concat":
		var out []int
		var vals []int64
		constOK := true
		for i := range n.Inputs {
			v, ok := si.in(n, i)
			if !ok || v.Shape == nil {
				si.set(n, 0, x.DType, nil)
				return nil
			}
			if c, ok := si.consts[n.Inputs[i]]; ok {
				vals = append(vals, c...)
			} else {
				constOK = false
			}
			a, ok := axisOf(n.Int("axis", 0), len(v.Shape))
			if !ok {
				return bad("Concat axis %d of rank %d", n.Int("axis", 0), len(v.Shape))
			}
			if out == nil {
				out = append([]int(nil), v.Shape...)
				continue
			}
			if len(v.Shape) != len(out) {
				return bad("Concat of ranks %d and %d", len(out), len(v.Shape))
			}
			if out[a] >= 0 && v.Shape[a] >= 0 {
				out[a] += v.Shape[a]
			} else {
				out[a] = -1
			}
		}
		si.set(n, 0, x.DType, out)
		if constOK && len(n.Outputs) > 0 {
			si.consts[n.Outputs[0]] = vals
		}
	case "Reshape":
		want, ok := si.constInts(n, 1)
		if !ok && si.g.Opset < 5 {
			want, ok = n.Ints("shape"), n.Has("shape")
		}
		if !ok {
			si.set(n, 0, x.DType, nil)
			return nil
		}
		out := make([]int, len(want))
		neg := -1
		known, total := 1, 1
		for _, d := range x.Shape {
			total *= d
		}
		for i, d := range want {
			switch {
			case d == 0 && n.Int("allowzero", 0) == 0 && i < len(x.Shape):
				out[i] = x.Shape[i]
			case d == -1:
				neg = i
				continue
			default:
				out[i] = int(d)
			}
			if out[i] < 0 {
				known = -1 << 40
			}
			known *= out[i]
		}
		if neg >= 0 {
			out[neg] = -1
			if okX && x.Shape != nil && total > 0 && known > 0 && total%known == 0 {
				out[neg] = total / known
			}
		}
		si.set(n, 0, x.DType, out)
	case "Flatten":
		if x.Shape == nil {
			si.set(n, 0, x.DType, nil)
			return nil
		}
		a := int(n.Int("axis", 1))
		if a < 0 {
			a += len(x.Shape)
		}
		if a < 0 || a > len(x.Shape) {
			return bad("Flatten axis %d of rank %d", a, len(x.Shape))
		}
		prod := func(s []int) int {
			p := 1
			for _, d := range s {
				if d < 0 {
					return -1
				}
				p *= d
			}
			return p
		}
		si.set(n, 0, x.DType, []int{prod(x.Shape[:a]), prod(x.Shape[a:])})
	case "Transpose":
		if x.Shape == nil {
			si.set(n, 0, x.DType, nil)
			return nil
		}
		perm := n.Ints("perm")
		out := make([]int, len(x.Shape))
		for i := range out {
			p := len(out) - 1 - i
			if len(perm) == len(out) {
				p = int(perm[i])
			}
			if p < 0 || p >= len(out) {
				return bad("Transpose perm %v", perm)
			}
			out[i] = x.Shape[p]
		}
		si.set(n, 0, x.DType, out)
	case "Squeeze", "Unsqueeze":
		axes := n.Ints("axes")
		if si.g.Opset >= 13 {
			var ok bool
			if axes, ok = si.constInts(n, 1); !ok && n.Input(1) != "" {
				si.set(n, 0, x.DType, nil)
				return nil
			}
		}
		if x.Shape == nil {
			si.set(n, 0, x.DType, nil)
			return nil
		}
		if n.Op == "Squeeze" {
			drop := map[int]bool{}
			for _, a := range axes {
				ax, ok := axisOf(a, len(x.Shape))
				if !ok {
					return bad("Squeeze axis %d of rank %d", a, len(x.Shape))
				}
				drop[ax] = true
			}
			var out []int
			for i, d := range x.Shape {
				if drop[i] || (len(axes) == 0 && d == 1) {
					continue
				}
				out = append(out, d)
			}
			si.set(n, 0, x.DType, append([]int{}, out...))
			if v, ok := si.consts[n.Input(0)]; ok {
				si.consts[n.Outputs[0]] = v
			}
			return nil
		}
		r := len(x.Shape) + len(axes)
		ones := map[int]bool{}
		for _, a := range axes {
			ax, ok := axisOf(a, r)
			if !ok {
				return bad("Unsqueeze axis %d of rank %d", a, r)
			}
			ones[ax] = true
		}
		out := make([]int, 0, r)
		j := 0
		for i := 0; i < r; i++ {
			if ones[i] {
				out = append(out, 1)
			} else if j < len(x.Shape) {
				out = append(out, x.Shape[j])
				j++
			}
		}
		si.set(n, 0, x.DType, out)
		if v, ok := si.consts[n.Input(0)]; ok {
			si.consts[n.Outputs[0]] = v
		}
	case "Shape":
		if x.Shape == nil {
			si.set(n, 0, nn.Int64, []int{-1})
			return nil
		}
		r := len(x.Shape)
		s, e := int(n.Int("start", 0)), int(n.Int("end", int64(r)))
		if s < 0 {
			s += r
		}
		if e < 0 {
			e += r
		}
		s, e = min(max(s, 0), r), min(max(e, 0), r)
		e = max(e, s)
		si.set(n, 0, nn.Int64, []int{e - s})
		vals := make([]int64, 0, e-s)
		for _, d := range x.Shape[s:e] {
			if d < 0 {
				return nil
			}
			vals = append(vals, int64(d))
		}
		si.consts[n.Outputs[0]] = vals
	case "Gather":
		idx, _ := si.in(n, 1)
		if x.Shape == nil || idx.Shape == nil {
			si.set(n, 0, x.DType, nil)
			return nil
		}
		a, ok := axisOf(n.Int("axis", 0), len(x.Shape))
		if !ok {
			return bad("Gather axis of rank %d", len(x.Shape))
		}
		out := append(append(append([]int{}, x.Shape[:a]...), idx.Shape...), x.Shape[a+1:]...)
		si.set(n, 0, x.DType, out)
		if v, ok := si.consts[n.Input(0)]; ok && a == 0 {
			if ind, ok := si.consts[n.Input(1)]; ok {
				var g []int64
				for _, k := range ind {
					if k < 0 {
						k += int64(len(v))
					}
					if k < 0 || int(k) >= len(v) {
						return bad("Gather index %d of %d", k, len(v))
					}
					g = append(g, v[k])
				}
				si.consts[n.Outputs[0]] = g
			}
		}
	case "Constant":
		if a, ok := n.Attrs["value"]; ok && a.T != nil {
			si.set(n, 0, a.T.DType, append([]int{}, a.T.Shape...))
			if v, ok := a.T.Data.([]int64); ok {
				si.consts[n.Outputs[0]] = v
			}
		} else if v := n.Ints("value_ints"); v != nil {
			si.set(n, 0, nn.Int64, []int{len(v)})
			si.consts[n.Outputs[0]] = v
		} else {
			si.set(n, 0, nn.Undefined, nil)
		}
	case "ConstantOfShape", "Expand":
		dims, ok := si.constInts(n, map[string]int{"ConstantOfShape": 0, "Expand": 1}[n.Op])
		dt := nn.Float32
		if n.Op == "Expand" {
			dt = x.DType
		} else if a, ok := n.Attrs["value"]; ok && a.T != nil {
			dt = a.T.DType
		}
		if !ok {
			si.set(n, 0, dt, nil)
			return nil
		}
		out := make([]int, len(dims))
		for i, d := range dims {
			out[i] = int(d)
		}
		if n.Op == "Expand" {
			var err error
			if out, err = bcast(x.Shape, out); err != nil {
				return err
			}
		}
		si.set(n, 0, dt, out)
	case "Pad":
		pads, ok := si.constInts(n, 1)
		if si.g.Opset < 11 {
			pads, ok = n.Ints("pads"), n.Has("pads")
		}
		if x.Shape == nil {
			si.set(n, 0, x.DType, nil)
			return nil
		}
		r := len(x.Shape)
		out := make([]int, r)
		for i, d := range x.Shape {
			out[i] = -1
			if ok && len(pads) == 2*r && d >= 0 {
				out[i] = d + int(pads[i]) + int(pads[i+r])
			}
		}
		si.set(n, 0, x.DType, out)
	case "Resize", "Upsample":
		if x.Shape == nil {
			si.set(n, 0, x.DType, nil)
			return nil
		}
		r := len(x.Shape)
		out := make([]int, r)
		for i := range out {
			out[i] = -1
		}
		var scales []float32
		legacy := n.Op == "Upsample" || si.g.Opset < 11
		switch {
		case n.Op == "Upsample" && n.Has("scales"):
			scales = n.Floats("scales")
		case legacy:
			scales = si.constFloats(n, 1)
		default:
			if sizes, ok := si.constInts(n, 3); ok && len(sizes) == r {
				for i, v := range sizes {
					out[i] = int(v)
				}
				si.set(n, 0, x.DType, out)
				return nil
			}
			scales = si.constFloats(n, 2)
		}
		if len(scales) == r {
			for i, d := range x.Shape {
				if d >= 0 {
					out[i] = int(float64(d) * float64(scales[i]))
				}
			}
		}
		si.set(n, 0, x.DType, out)
	case "Slice", "ReduceMean":
		// Slice shapes depend on run-time values: the rank is known.
		if x.Shape == nil {
			si.set(n, 0, x.DType, nil)
			return nil
		}
		out := make([]int, len(x.Shape))
		for i := range out {
			out[i] = -1
		}
		if n.Op == "ReduceMean" {
			axes := n.Ints("axes")
			keep := n.Int("keepdims", 1) != 0
			red := map[int]bool{}
			for _, a := range axes {
				if ax, ok := axisOf(a, len(x.Shape)); ok {
					red[ax] = true
				}
			}
			out = out[:0]
			for i, d := range x.Shape {
				switch {
				case len(axes) == 0 || red[i]:
					if keep {
						out = append(out, 1)
					}
				default:
					out = append(out, d)
				}
			}
		}
		si.set(n, 0, x.DType, out)
	default:
		for i := range n.Outputs {
			si.set(n, i, nn.Undefined, nil)
		}
	}
	return nil
}

// convLike infers Conv and pooling output shapes.
func (si *shapeInf) convLike(n *Node, x ValueInfo) error {
	if x.Shape == nil || len(x.Shape) < 3 {
		si.set(n, 0, x.DType, nil)
		return nil
	}
	r := len(x.Shape) - 2
	var k []int
	c := x.Shape[1]
	if n.Op == "Conv" {
		w, _ := si.in(n, 1)
		if len(w.Shape) != len(x.Shape) {
			si.set(n, 0, x.DType, nil)
			return nil
		}
		g := int(n.Int("group", 1))
		if c >= 0 && w.Shape[1] >= 0 && w.Shape[1]*g != c {
			return bad("Conv input of %d channels, weights %v with group %d", c, w.Shape, g)
		}
		c = w.Shape[0]
		k = w.Shape[2:]
	} else {
		for _, v := range n.Ints("kernel_shape") {
			k = append(k, int(v))
		}
	}
	if len(k) != r {
		return bad("kernel %v for input %v", k, x.Shape)
	}
	st, dl, pads := n.Ints("strides"), n.Ints("dilations"), n.Ints("pads")
	ceil := n.Int("ceil_mode", 0) != 0
	ap := n.Str("auto_pad", "NOTSET")
	out := []int{x.Shape[0], c}
	for i := 0; i < r; i++ {
		in := x.Shape[i+2]
		s, d, pb, pe := 1, 1, 0, 0
		if len(st) == r {
			s = int(st[i])
		}
		if len(dl) == r {
			d = int(dl[i])
		}
		if len(pads) == 2*r {
			pb, pe = int(pads[i]), int(pads[i+r])
		}
		if in < 0 || s < 1 {
			out = append(out, -1)
			continue
		}
		switch ap {
		case "SAME_UPPER", "SAME_LOWER":
			out = append(out, (in+s-1)/s)
			continue
		case "VALID":
			pb, pe = 0, 0
		}
		span := in + pb + pe - ((k[i]-1)*d + 1)
		if span < 0 {
			return bad("kernel %v larger than padded input %v", k, x.Shape)
		}
		o := span/s + 1
		if ceil && span%s != 0 {
			o++
			if (o-1)*s >= in+pb {
				o--
			}
		}
		out = append(out, o)
	}
	si.set(n, 0, x.DType, out)
	return nil
}
