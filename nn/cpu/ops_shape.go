package cpu

import (
	"fmt"
	"math"
	"time"

	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/graph"
)

func init() {
	register("Identity", compileIdentity)
	register("Dropout", compileDropout)
	register("Reshape", compileReshape)
	register("Flatten", compileFlatten)
	register("Squeeze", compileSqueeze)
	register("Unsqueeze", compileUnsqueeze)
	register("Shape", compileShape)
	register("Constant", compileConstant)
	register("ConstantOfShape", compileConstantOfShape)
	register("Transpose", compileTranspose)
	register("Concat", compileConcat)
	register("Gather", compileGather)
	register("Slice", compileSlice)
	register("Expand", compileExpand)
	register("Cast", compileCast)
}

// view returns a tensor sharing t's data with a new shape.
func view(t *nn.Tensor, shape []int) *nn.Tensor {
	return &nn.Tensor{DType: t.DType, Shape: shape, Data: t.Data}
}

func compileIdentity(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	return func(x *exec, ins []*nn.Tensor) error {
		if ins[0] == nil { // a sequence or an optional passes through too
			if v := x.value(0); v != nil {
				x.setValue(0, v)
				return nil
			}
			return shapeErr("missing input")
		}
		x.set(0, ins[0])
		return nil
	}, nil
}

func compileDropout(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	// Before opset 7 an is_test attribute chose training; like every
	// runtime asked for inference, nn/cpu treats it as inference.
	// With a training_mode input the output is not a view (dropoutIsView):
	// it is written here, masked when training.
	copyOut := !dropoutIsView(n)
	seed, hasSeed := uint32(0), n.Has("seed")
	if hasSeed {
		seed = uint32(n.Int("seed", 0))
	}
	return func(x *exec, ins []*nn.Tensor) error {
		training := false
		r := float32(0.5)
		if len(ins) > 2 && ins[2] != nil {
			if b, ok := ins[2].Data.([]bool); ok && len(b) == 1 && b[0] {
				if ins[1] != nil {
					if f, err := floats(ins[1]); err == nil && len(f) == 1 {
						r = f[0]
					}
				}
				if r < 0 || r >= 1 {
					return shapeErr("Dropout ratio %v outside [0, 1)", r)
				}
				training = r != 0 // ratio 0 is identity
			}
		}
		var mask []bool
		if len(x.step.out) > 1 && x.step.out[1] >= 0 {
			mask = x.out(1, nn.Bool, ins[0].Shape).Data.([]bool)
		}
		if !training {
			if copyOut {
				t := x.out(0, ins[0].DType, ins[0].Shape)
				copyRange(t.Data, 0, ins[0].Data, 0, ins[0].Len())
			} else {
				x.set(0, ins[0])
			}
			fill(mask, true)
			return nil
		}
		// Training: keep each element with probability 1-r, scaled by
		// 1/(1-r). The draws are MT19937 uniforms in [0, 1), seeded by the
		// seed attribute as numpy.random.seed does (the ONNX reference
		// implementation's generator), else from the clock.
		s := seed
		if !hasSeed {
			s = uint32(time.Now().UnixNano())
		}
		mt := newMT19937(s)
		scale := 1 / (1 - r)
		t := x.out(0, ins[0].DType, ins[0].Shape)
		keep := func(i int) bool {
			k := mt.float64() >= float64(r)
			if mask != nil {
				mask[i] = k
			}
			return k
		}
		switch d := ins[0].Data.(type) {
		case []float32:
			y := t.F32()
			for i, v := range d {
				y[i] = 0
				if keep(i) {
					y[i] = v * scale
				}
			}
		case []float64:
			y := t.Data.([]float64)
			for i, v := range d {
				y[i] = 0
				if keep(i) {
					y[i] = v * float64(scale)
				}
			}
		default:
			return unsupported("training-mode Dropout on %v", ins[0].DType)
		}
		return nil
	}, nil
}

// dropoutIsView reports whether Dropout's output 0 can be a view of its
// input: only without a training_mode input (inference for certain).
func dropoutIsView(n *graph.Node) bool {
	return len(n.Inputs) < 3 || n.Inputs[2] == ""
}

func compileReshape(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	allowZero := n.Int("allowzero", 0) != 0
	attrShape := n.Ints("shape")
	return func(x *exec, ins []*nn.Tensor) error {
		want := attrShape
		if opset >= 5 {
			if len(ins) < 2 || ins[1] == nil {
				return shapeErr("Reshape needs a shape input")
			}
			var err error
			if want, err = ints(ins[1]); err != nil {
				return err
			}
		}
		shape, err := reshapeDims(ins[0].Shape, want, allowZero)
		if err != nil {
			return err
		}
		x.set(0, view(ins[0], shape))
		return nil
	}, nil
}

func reshapeDims(in []int, want []int64, allowZero bool) ([]int, error) {
	total := nn.NumElements(in)
	out := make([]int, len(want))
	neg := -1
	known := 1
	for i, d := range want {
		switch {
		case d == -1:
			if neg >= 0 {
				return nil, shapeErr("reshape %v to %v: more than one -1", in, want)
			}
			neg = i
			continue
		case d == 0 && !allowZero:
			if i >= len(in) {
				return nil, shapeErr("reshape %v to %v: 0 copies a missing dimension", in, want)
			}
			out[i] = in[i]
		case d < 0:
			return nil, shapeErr("reshape %v to %v: negative dimension", in, want)
		default:
			if d > math.MaxInt32 {
				return nil, shapeErr("reshape to %v: dimension too large", want)
			}
			out[i] = int(d)
		}
		known *= out[i]
	}
	if neg >= 0 {
		if known == 0 || total%known != 0 {
			return nil, shapeErr("reshape %v to %v: cannot infer -1", in, want)
		}
		out[neg] = total / known
		known *= out[neg]
	}
	if known != total {
		return nil, shapeErr("reshape %v (%d elements) to %v", in, total, want)
	}
	return out, nil
}

func compileFlatten(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	axis := n.Int("axis", 1)
	return func(x *exec, ins []*nn.Tensor) error {
		r := len(ins[0].Shape)
		a := int(axis)
		if a < 0 {
			a += r
		}
		if a < 0 || a > r {
			return shapeErr("Flatten axis %d for rank %d", axis, r)
		}
		x.set(0, view(ins[0], []int{nn.NumElements(ins[0].Shape[:a]), nn.NumElements(ins[0].Shape[a:])}))
		return nil
	}, nil
}

func compileSqueeze(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	attrAxes := n.Ints("axes")
	return func(x *exec, ins []*nn.Tensor) error {
		axes := attrAxes
		if opset >= 13 && len(ins) > 1 && ins[1] != nil {
			var err error
			if axes, err = ints(ins[1]); err != nil {
				return err
			}
		}
		in := ins[0].Shape
		drop := make([]bool, len(in))
		if len(axes) == 0 {
			for i, d := range in {
				drop[i] = d == 1
			}
		}
		for _, a := range axes {
			ax, err := normAxis(a, len(in))
			if err != nil {
				return err
			}
			if in[ax] != 1 {
				return shapeErr("Squeeze axis %d of shape %v is not 1", a, in)
			}
			drop[ax] = true
		}
		var out []int
		for i, d := range in {
			if !drop[i] {
				out = append(out, d)
			}
		}
		x.set(0, view(ins[0], out))
		return nil
	}, nil
}

func compileUnsqueeze(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	attrAxes := n.Ints("axes")
	return func(x *exec, ins []*nn.Tensor) error {
		axes := attrAxes
		if opset >= 13 {
			if len(ins) < 2 || ins[1] == nil {
				return shapeErr("Unsqueeze needs axes")
			}
			var err error
			if axes, err = ints(ins[1]); err != nil {
				return err
			}
		}
		in := ins[0].Shape
		r := len(in) + len(axes)
		ones := make([]bool, r)
		for _, a := range axes {
			ax, err := normAxis(a, r)
			if err != nil {
				return err
			}
			if ones[ax] {
				return shapeErr("Unsqueeze repeats axis %d", a)
			}
			ones[ax] = true
		}
		out := make([]int, r)
		j := 0
		for i := range out {
			if ones[i] {
				out[i] = 1
			} else {
				out[i] = in[j]
				j++
			}
		}
		x.set(0, view(ins[0], out))
		return nil
	}, nil
}

func compileShape(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	start, hasEnd := n.Int("start", 0), n.Has("end")
	end := n.Int("end", 0)
	return func(x *exec, ins []*nn.Tensor) error {
		sh := ins[0].Shape
		r := int64(len(sh))
		s, e := start, r
		if hasEnd {
			e = end
		}
		clamp := func(v int64) int64 {
			if v < 0 {
				v += r
			}
			return min(max(v, 0), r)
		}
		s, e = clamp(s), clamp(e)
		if e < s {
			e = s
		}
		t := x.out(0, nn.Int64, []int{int(e - s)})
		for i := s; i < e; i++ {
			t.Data.([]int64)[i-s] = int64(sh[i])
		}
		return nil
	}, nil
}

func compileConstant(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	var val *nn.Tensor
	switch {
	case n.Has("value"):
		a := n.Attrs["value"]
		if a.Type != graph.AttrTensor || a.T == nil {
			return nil, fmt.Errorf("%w: Constant value is not a tensor", nn.ErrMalformedModel)
		}
		val = a.T
	case n.Has("value_float"):
		val = nn.FromFloat32([]float32{n.Float("value_float", 0)})
	case n.Has("value_floats"):
		f := n.Floats("value_floats")
		val = nn.FromFloat32(append([]float32(nil), f...), len(f))
	case n.Has("value_int"):
		val = nn.FromInt64([]int64{n.Int("value_int", 0)})
	case n.Has("value_ints"):
		v := n.Ints("value_ints")
		val = nn.FromInt64(append([]int64(nil), v...), len(v))
	default:
		return nil, unsupported("Constant without a value/value_float(s)/value_int(s) attribute")
	}
	return func(x *exec, ins []*nn.Tensor) error {
		x.set(0, val)
		return nil
	}, nil
}

func compileConstantOfShape(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	val := nn.FromFloat32([]float32{0}, 1)
	if a, ok := n.Attrs["value"]; ok {
		if a.Type != graph.AttrTensor || a.T == nil || a.T.Len() != 1 {
			return nil, fmt.Errorf("%w: ConstantOfShape value must be a one-element tensor", nn.ErrMalformedModel)
		}
		val = a.T
	}
	return func(x *exec, ins []*nn.Tensor) error {
		dims, err := ints(ins[0])
		if err != nil {
			return err
		}
		shape := make([]int, len(dims))
		total := int64(1)
		for i, d := range dims {
			if d < 0 || d > math.MaxInt32 {
				return shapeErr("ConstantOfShape dimension %d", d)
			}
			total *= d
			if total > 1<<31 {
				return shapeErr("ConstantOfShape of %v is too large", dims)
			}
			shape[i] = int(d)
		}
		t := x.out(0, val.DType, shape)
		if t.Len() > 0 {
			fillWith(t.Data, val.Data)
		}
		return nil
	}, nil
}

func compileTranspose(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	perm := n.Ints("perm")
	return func(x *exec, ins []*nn.Tensor) error {
		in := ins[0]
		r := len(in.Shape)
		p := make([]int, r)
		if len(perm) == 0 {
			for i := range p {
				p[i] = r - 1 - i
			}
		} else {
			if len(perm) != r {
				return shapeErr("Transpose perm %v for rank %d", perm, r)
			}
			seen := make([]bool, r)
			for i, v := range perm {
				if v < 0 || int(v) >= r || seen[v] {
					return shapeErr("Transpose perm %v", perm)
				}
				seen[v] = true
				p[i] = int(v)
			}
		}
		st := strides(in.Shape)
		out := make([]int, r)
		ost := make([]int, r)
		for i, a := range p {
			out[i] = in.Shape[a]
			ost[i] = st[a]
		}
		t := x.out(0, in.DType, out)
		idx := x.indexMapFor(append(append([]int(nil), out...), ost...), t.Len(), func(idx []int32) { indexMap(idx, out, ost, 0) })
		takeInto(t.Data, in.Data, idx)
		return nil
	}, nil
}

func compileConcat(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	if !n.Has("axis") && opset >= 4 {
		return nil, fmt.Errorf("%w: Concat needs an axis attribute", nn.ErrMalformedModel)
	}
	axis := n.Int("axis", 1)
	return func(x *exec, ins []*nn.Tensor) error {
		var first *nn.Tensor
		for _, t := range ins {
			if t != nil {
				first = t
				break
			}
		}
		if first == nil {
			return shapeErr("Concat without inputs")
		}
		r := len(first.Shape)
		a, err := normAxis(axis, r)
		if err != nil {
			return err
		}
		out := append([]int(nil), first.Shape...)
		out[a] = 0
		for _, t := range ins {
			if t == nil {
				continue
			}
			if len(t.Shape) != r || t.DType != first.DType {
				return shapeErr("Concat of %v and %v", first, t)
			}
			for i := range t.Shape {
				if i != a && t.Shape[i] != first.Shape[i] {
					return shapeErr("Concat of %v and %v on axis %d", first.Shape, t.Shape, a)
				}
			}
			out[a] += t.Shape[a]
		}
		res := x.out(0, first.DType, out)
		outer := nn.NumElements(out[:a])
		inner := nn.NumElements(out[a+1:])
		rowOut := out[a] * inner
		type part struct {
			t        *nn.Tensor
			row, off int
		}
		parts := make([]part, 0, len(ins))
		off := 0
		for _, t := range ins {
			if t == nil {
				continue
			}
			row := t.Shape[a] * inner
			parts = append(parts, part{t, row, off})
			off += row
		}
		copyPart := func(i int) {
			p, o := parts[i%len(parts)], i/len(parts)
			copyRange(res.Data, o*rowOut+p.off, p.t.Data, o*p.row, p.row)
		}
		if res.Len() < 1<<16 {
			for i := range outer * len(parts) {
				copyPart(i)
			}
			return nil
		}
		// Large concatenations (squeezenet's fire modules) copy on all
		// threads, one (outer index, input) block per item.
		x.parallel(outer*len(parts), copyPart)
		return nil
	}, nil
}

func compileGather(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	axis := n.Int("axis", 0)
	return func(x *exec, ins []*nn.Tensor) error {
		data, indT := ins[0], ins[1]
		r := len(data.Shape)
		a, err := normAxis(axis, r)
		if err != nil {
			return err
		}
		ind, err := ints(indT)
		if err != nil {
			return err
		}
		out := append(append(append([]int(nil), data.Shape[:a]...), indT.Shape...), data.Shape[a+1:]...)
		t := x.out(0, data.DType, out)
		outer := nn.NumElements(data.Shape[:a])
		inner := nn.NumElements(data.Shape[a+1:])
		dim := data.Shape[a]
		o := 0
		for i := 0; i < outer; i++ {
			for _, k := range ind {
				if k < 0 {
					k += int64(dim)
				}
				if k < 0 || k >= int64(dim) {
					return shapeErr("Gather index %d out of range [%d, %d)", k, -dim, dim)
				}
				copyRange(t.Data, o, data.Data, (i*dim+int(k))*inner, inner)
				o += inner
			}
		}
		return nil
	}, nil
}

func compileSlice(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	aStarts, aEnds, aAxes := n.Ints("starts"), n.Ints("ends"), n.Ints("axes")
	return func(x *exec, ins []*nn.Tensor) error {
		data := ins[0]
		starts, ends, axes := aStarts, aEnds, aAxes
		var steps []int64
		if opset >= 10 {
			var err error
			if len(ins) < 3 || ins[1] == nil || ins[2] == nil {
				return shapeErr("Slice needs starts and ends")
			}
			if starts, err = ints(ins[1]); err != nil {
				return err
			}
			if ends, err = ints(ins[2]); err != nil {
				return err
			}
			axes = nil
			if len(ins) > 3 && ins[3] != nil {
				if axes, err = ints(ins[3]); err != nil {
					return err
				}
			}
			if len(ins) > 4 && ins[4] != nil {
				if steps, err = ints(ins[4]); err != nil {
					return err
				}
			}
		}
		if len(starts) != len(ends) {
			return shapeErr("Slice starts %v and ends %v differ in length", starts, ends)
		}
		r := len(data.Shape)
		out := append([]int(nil), data.Shape...)
		st := strides(data.Shape)
		ost := append([]int(nil), st...)
		base := 0
		seen := make([]bool, r)
		for i := range starts {
			ax := i
			if axes != nil {
				if i >= len(axes) {
					return shapeErr("Slice axes %v shorter than starts", axes)
				}
				var err error
				if ax, err = normAxis(axes[i], r); err != nil {
					return err
				}
			} else if i >= r {
				return shapeErr("Slice of %d axes on rank %d", len(starts), r)
			}
			if seen[ax] {
				return shapeErr("Slice repeats axis %d", ax)
			}
			seen[ax] = true
			step := int64(1)
			if steps != nil {
				if i >= len(steps) {
					return shapeErr("Slice steps %v shorter than starts", steps)
				}
				step = steps[i]
			}
			if step == 0 {
				return shapeErr("Slice step 0")
			}
			dim := int64(data.Shape[ax])
			s, e := starts[i], ends[i]
			if s < 0 {
				s += dim
			}
			if e < 0 {
				e += dim
			}
			var cnt int64
			if step > 0 {
				s = min(max(s, 0), dim)
				e = min(max(e, 0), dim)
				if e > s {
					cnt = (e - s + step - 1) / step
				}
			} else {
				s = min(max(s, -1), dim-1)
				e = min(max(e, -1), dim-1)
				if s > e {
					cnt = (s - e - step - 1) / -step
				}
			}
			out[ax] = int(cnt)
			if cnt > 0 {
				base += int(s) * st[ax]
			}
			ost[ax] = st[ax] * int(step)
		}
		t := x.out(0, data.DType, out)
		key := append(append(append([]int(nil), out...), ost...), base)
		idx := x.indexMapFor(key, t.Len(), func(idx []int32) { indexMap(idx, out, ost, base) })
		takeInto(t.Data, data.Data, idx)
		return nil
	}, nil
}

func compileExpand(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	return func(x *exec, ins []*nn.Tensor) error {
		dims, err := ints(ins[1])
		if err != nil {
			return err
		}
		want := make([]int, len(dims))
		for i, d := range dims {
			if d < 0 || d > math.MaxInt32 {
				return shapeErr("Expand to %v", dims)
			}
			want[i] = int(d)
		}
		out, err := broadcastShape(ins[0].Shape, want)
		if err != nil {
			return err
		}
		if int64(nn.NumElements(out)) > 1<<31 {
			return shapeErr("Expand to %v is too large", out)
		}
		t := x.out(0, ins[0].DType, out)
		key := append(append([]int(nil), ins[0].Shape...), out...)
		idx := x.indexMapFor(key, t.Len(), func(idx []int32) { indexMap(idx, out, bstrides(ins[0].Shape, out), 0) })
		takeInto(t.Data, ins[0].Data, idx)
		return nil
	}, nil
}

func compileCast(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	to := nn.DType(n.Int("to", 0))
	if nn.MakeData(to, 0) == nil {
		return nil, unsupported("Cast to element type %d", to)
	}
	return func(x *exec, ins []*nn.Tensor) error {
		in := ins[0]
		t := x.out(0, to, in.Shape)
		if to == nn.String {
			castToString(t.Data.([]string), in)
			return nil
		}
		if s, ok := in.Data.([]string); ok {
			return castFromString(t, s)
		}
		castInto(t, in)
		return nil
	}, nil
}

func isIntegral(dt nn.DType) bool {
	switch dt {
	case nn.Int8, nn.Uint8, nn.Int16, nn.Uint16, nn.Int32, nn.Uint32, nn.Int64, nn.Uint64, nn.Bool:
		return true
	}
	return false
}

// castInto converts in's elements to t's type (ONNX Cast).
func castInto(t, in *nn.Tensor) {
	if in.DType == t.DType {
		copyRange(t.Data, 0, in.Data, 0, in.Len())
		return
	}
	if isIntegral(in.DType) && isIntegral(t.DType) {
		var src []int64
		switch s := in.Data.(type) {
		case []int64:
			src = s
		case []uint64:
			src = make([]int64, len(s))
			for i, v := range s {
				src[i] = int64(v)
			}
		default:
			f := toFloat64(in.Data)
			src = make([]int64, len(f))
			for i, v := range f {
				src[i] = int64(v)
			}
		}
		storeInts(t.Data, src)
		return
	}
	// Float sources convert directly to half types to avoid double rounding.
	if s, ok := in.Data.([]float32); ok {
		switch d := t.Data.(type) {
		case []nn.Half:
			for i, v := range s {
				d[i] = nn.Float32ToHalf(v)
			}
			return
		case []nn.BHalf:
			// Truncation, as the ONNX 1.12 reference and its conformance
			// data do (Cast does not specify the rounding).
			for i, v := range s {
				d[i] = nn.BHalf(math.Float32bits(v) >> 16)
			}
			return
		}
	}
	storeFloats(t.Data, toFloat64(in.Data))
}

func storeInts(dst any, src []int64) {
	switch d := dst.(type) {
	case []int64:
		copy(d, src)
	case []uint64:
		for i, v := range src {
			d[i] = uint64(v)
		}
	case []int32:
		for i, v := range src {
			d[i] = int32(v)
		}
	case []uint32:
		for i, v := range src {
			d[i] = uint32(v)
		}
	case []int16:
		for i, v := range src {
			d[i] = int16(v)
		}
	case []uint16:
		for i, v := range src {
			d[i] = uint16(v)
		}
	case []int8:
		for i, v := range src {
			d[i] = int8(v)
		}
	case []uint8:
		for i, v := range src {
			d[i] = uint8(v)
		}
	case []bool:
		for i, v := range src {
			d[i] = v != 0
		}
	}
}

func storeFloats(dst any, src []float64) {
	switch d := dst.(type) {
	case []float32:
		for i, v := range src {
			d[i] = float32(v)
		}
	case []float64:
		copy(d, src)
	case []nn.Half:
		for i, v := range src {
			d[i] = float64ToHalf(v)
		}
	case []nn.BHalf:
		for i, v := range src {
			d[i] = nn.Float32ToBHalf(float32(v))
		}
	case []bool:
		for i, v := range src {
			d[i] = v != 0
		}
	default:
		ints := make([]int64, len(src))
		for i, v := range src {
			ints[i] = int64(v)
		}
		storeInts(dst, ints)
	}
}

// float64ToHalf rounds a float64 directly to binary16 (round half to even).
func float64ToHalf(v float64) nn.Half {
	f := float32(v)
	h := nn.Float32ToHalf(f)
	// Correct a possible double rounding: compare the two neighbours.
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return h
	}
	hv := float64(nn.HalfToFloat32(h))
	if hv == v {
		return h
	}
	var lo, hi nn.Half
	if hv < v {
		lo, hi = h, nextHalf(h, true)
	} else {
		lo, hi = nextHalf(h, false), h
	}
	lv, uv := float64(nn.HalfToFloat32(lo)), float64(nn.HalfToFloat32(hi))
	switch {
	case v-lv < uv-v:
		return lo
	case v-lv > uv-v:
		return hi
	}
	if lo&1 == 0 {
		return lo
	}
	return hi
}

// nextHalf steps h one ulp up (toward +inf) or down.
func nextHalf(h nn.Half, up bool) nn.Half {
	neg := h&0x8000 != 0
	mag := h & 0x7fff
	if mag == 0 {
		if up {
			return 1
		}
		return 0x8001
	}
	if up != neg {
		return h + 1
	}
	return h - 1
}
