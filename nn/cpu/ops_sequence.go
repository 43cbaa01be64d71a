package cpu

import (
	"fmt"

	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/graph"
)

// Sequence and optional operators. Their values live in state.xvals; a
// tensor put into a sequence or an optional is copied, since the slot it
// came from may give its buffer back to the free list while the sequence
// still lives. Tensors taken out of one (SequenceAt, OptionalGetElement)
// are shared, not copied: no operator writes into its inputs.

// valueOps are the operators that accept sequence and optional inputs.
// All but Identity are never constant-folded (Evaluate refuses them).
var valueOps = map[string]bool{"Identity": true}

func registerValueOp(op string, f compileFunc) {
	register(op, f)
	valueOps[op] = true
}

func init() {
	registerValueOp("SequenceEmpty", compileSequenceEmpty)
	registerValueOp("SequenceConstruct", compileSequenceConstruct)
	registerValueOp("SequenceAt", compileSequenceAt)
	registerValueOp("SequenceInsert", compileSequenceInsert)
	registerValueOp("SequenceErase", compileSequenceErase)
	registerValueOp("SequenceLength", compileSequenceLength)
	registerValueOp("ConcatFromSequence", compileConcatFromSequence)
	registerValueOp("SplitToSequence", compileSplitToSequence)
	registerValueOp("Optional", compileOptional)
	registerValueOp("OptionalHasElement", compileOptionalHasElement)
	registerValueOp("OptionalGetElement", compileOptionalGetElement)
}

// value returns input i: a tensor (wrapped), a sequence or an optional;
// nil when the input is omitted.
func (x *exec) value(i int) *nn.Value {
	if i >= len(x.step.in) || x.step.in[i] < 0 {
		return nil
	}
	slot := x.step.in[i]
	if t := x.st.vals[slot]; t != nil {
		return nn.TensorValue(t)
	}
	if x.st.xvals != nil {
		return x.st.xvals[slot]
	}
	return nil
}

// setValue makes v output i: a tensor value goes where tensors go.
func (x *exec) setValue(i int, v *nn.Value) {
	if v.Kind == nn.KindTensor {
		x.set(i, v.Tensor)
		return
	}
	if i < len(x.step.out) && x.step.out[i] >= 0 {
		x.st.vals[x.step.out[i]] = nil
		x.st.xvals[x.step.out[i]] = v
	}
}

// seqIn returns input i, which must be a sequence.
func (x *exec) seqIn(i int) (*nn.Value, error) {
	v := x.value(i)
	if v == nil {
		return nil, shapeErr("missing sequence input %d", i)
	}
	if v.Kind != nn.KindSequence {
		return nil, shapeErr("input %d is a %v, not a sequence", i, v)
	}
	return v, nil
}

// tensorIn returns input i, which must be a tensor.
func (x *exec) tensorIn(ins []*nn.Tensor, i int, what string) (*nn.Tensor, error) {
	if i < len(ins) && ins[i] != nil {
		return ins[i], nil
	}
	if v := x.value(i); v != nil {
		return nil, shapeErr("input %s is a %v, not a tensor", what, v)
	}
	return nil, shapeErr("missing input %s", what)
}

// position reads a scalar position input of a sequence of n elements;
// valid positions are [-n, n+extra).
func position(t *nn.Tensor, n, extra int) (int, error) {
	p, err := ints(t)
	if err != nil || len(p) != 1 {
		return 0, shapeErr("position must be an integer scalar, got %v", t)
	}
	pos := int(p[0])
	if pos < -n || pos >= n+extra {
		return 0, shapeErr("position %d out of range for a sequence of %d", p[0], n)
	}
	if pos < 0 {
		pos += n
	}
	return pos, nil
}

func compileSequenceEmpty(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	dt := nn.DType(n.Int("dtype", int64(nn.Float32)))
	if nn.MakeData(dt, 0) == nil {
		return nil, unsupported("SequenceEmpty of dtype %d", dt)
	}
	return func(x *exec, ins []*nn.Tensor) error {
		x.setValue(0, nn.SequenceValue(dt))
		return nil
	}, nil
}

func compileSequenceConstruct(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	return func(x *exec, ins []*nn.Tensor) error {
		if len(ins) == 0 {
			return shapeErr("SequenceConstruct needs at least one input")
		}
		seq := make([]*nn.Tensor, len(ins))
		for i := range ins {
			t, err := x.tensorIn(ins, i, fmt.Sprint(i))
			if err != nil {
				return err
			}
			if t.DType != ins[0].DType {
				return shapeErr("SequenceConstruct of %v and %v", ins[0], t)
			}
			seq[i] = t.Clone()
		}
		x.setValue(0, &nn.Value{Kind: nn.KindSequence, Seq: seq, ElemType: ins[0].DType})
		return nil
	}, nil
}

func compileSequenceAt(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	return func(x *exec, ins []*nn.Tensor) error {
		s, err := x.seqIn(0)
		if err != nil {
			return err
		}
		p, err := x.tensorIn(ins, 1, "position")
		if err != nil {
			return err
		}
		pos, err := position(p, len(s.Seq), 0)
		if err != nil {
			return err
		}
		x.set(0, s.Seq[pos])
		return nil
	}, nil
}

func compileSequenceInsert(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	return func(x *exec, ins []*nn.Tensor) error {
		s, err := x.seqIn(0)
		if err != nil {
			return err
		}
		t, err := x.tensorIn(ins, 1, "tensor")
		if err != nil {
			return err
		}
		if s.ElemType != nn.Undefined && t.DType != s.ElemType {
			return shapeErr("inserting a %v tensor into a sequence of %v", t.DType, s.ElemType)
		}
		pos := len(s.Seq)
		if len(ins) > 2 && ins[2] != nil {
			if pos, err = position(ins[2], len(s.Seq), 1); err != nil {
				return err
			}
		}
		seq := make([]*nn.Tensor, 0, len(s.Seq)+1)
		seq = append(seq, s.Seq[:pos]...)
		seq = append(seq, t.Clone())
		seq = append(seq, s.Seq[pos:]...)
		x.setValue(0, &nn.Value{Kind: nn.KindSequence, Seq: seq, ElemType: t.DType})
		return nil
	}, nil
}

func compileSequenceErase(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	return func(x *exec, ins []*nn.Tensor) error {
		s, err := x.seqIn(0)
		if err != nil {
			return err
		}
		if len(s.Seq) == 0 {
			return shapeErr("SequenceErase of an empty sequence")
		}
		pos := len(s.Seq) - 1
		if len(ins) > 1 && ins[1] != nil {
			if pos, err = position(ins[1], len(s.Seq), 0); err != nil {
				return err
			}
		}
		seq := make([]*nn.Tensor, 0, len(s.Seq)-1)
		seq = append(seq, s.Seq[:pos]...)
		seq = append(seq, s.Seq[pos+1:]...)
		x.setValue(0, &nn.Value{Kind: nn.KindSequence, Seq: seq, ElemType: s.ElemType})
		return nil
	}, nil
}

func compileSequenceLength(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	return func(x *exec, ins []*nn.Tensor) error {
		s, err := x.seqIn(0)
		if err != nil {
			return err
		}
		x.out(0, nn.Int64, nil).I64()[0] = int64(len(s.Seq))
		return nil
	}, nil
}

func compileConcatFromSequence(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	if !n.Has("axis") {
		return nil, fmt.Errorf("%w: ConcatFromSequence needs an axis attribute", nn.ErrMalformedModel)
	}
	axis := n.Int("axis", 0)
	newAxis := n.Int("new_axis", 0) != 0
	concat, err := compileConcat(&graph.Node{Name: n.Name, Op: "Concat", Attrs: map[string]*graph.Attr{"axis": {Type: graph.AttrInt, I: axis}}}, 13, isConst)
	if err != nil {
		return nil, err
	}
	return func(x *exec, ins []*nn.Tensor) error {
		s, err := x.seqIn(0)
		if err != nil {
			return err
		}
		if len(s.Seq) == 0 {
			return shapeErr("ConcatFromSequence of an empty sequence")
		}
		parts := s.Seq
		if newAxis {
			// Stack: each tensor gets a dimension of 1 at axis (in
			// [-r-1, r]), then they are concatenated along it.
			r := len(parts[0].Shape)
			a, err := normAxis(axis, r+1)
			if err != nil {
				return err
			}
			parts = make([]*nn.Tensor, len(s.Seq))
			for i, t := range s.Seq {
				if len(t.Shape) != r {
					return shapeErr("ConcatFromSequence of %v and %v", s.Seq[0], t)
				}
				sh := make([]int, 0, r+1)
				sh = append(append(append(sh, t.Shape[:a]...), 1), t.Shape[a:]...)
				parts[i] = view(t, sh)
			}
		}
		return concat(x, parts)
	}, nil
}

func compileSplitToSequence(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	axis := n.Int("axis", 0)
	keepDims := n.Int("keepdims", 1) != 0
	return func(x *exec, ins []*nn.Tensor) error {
		in, err := x.tensorIn(ins, 0, "input")
		if err != nil {
			return err
		}
		r := len(in.Shape)
		a, err := normAxis(axis, r)
		if err != nil {
			return err
		}
		dim := in.Shape[a]
		var lens []int
		squeeze := false
		switch {
		case len(ins) < 2 || ins[1] == nil:
			lens = make([]int, dim)
			for i := range lens {
				lens[i] = 1
			}
			squeeze = !keepDims
		default:
			sp, err := ints(ins[1])
			if err != nil {
				return err
			}
			if len(ins[1].Shape) == 0 { // chunks of that size, the last may be shorter
				if len(sp) != 1 || sp[0] <= 0 {
					return shapeErr("split size %v must be positive", sp)
				}
				for left := dim; left > 0; left -= int(sp[0]) {
					lens = append(lens, min(left, int(sp[0])))
				}
			} else {
				sum := 0
				for _, l := range sp {
					if l < 0 || l > int64(dim) {
						return shapeErr("split lengths %v of dimension %d", sp, dim)
					}
					lens = append(lens, int(l))
					sum += int(l)
				}
				if sum != dim {
					return shapeErr("split lengths %v do not sum to dimension %d", sp, dim)
				}
			}
		}
		outer := nn.NumElements(in.Shape[:a])
		inner := nn.NumElements(in.Shape[a+1:])
		seq := make([]*nn.Tensor, len(lens))
		off := 0
		for i, l := range lens {
			sh := append([]int(nil), in.Shape...)
			sh[a] = l
			if squeeze {
				sh = append(sh[:a], sh[a+1:]...)
			}
			t := nn.NewTensor(in.DType, sh...)
			for o := 0; o < outer; o++ {
				copyRange(t.Data, o*l*inner, in.Data, (o*dim+off)*inner, l*inner)
			}
			seq[i] = t
			off += l
		}
		x.setValue(0, &nn.Value{Kind: nn.KindSequence, Seq: seq, ElemType: in.DType})
		return nil
	}, nil
}

func compileOptional(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	return func(x *exec, ins []*nn.Tensor) error {
		v := x.value(0)
		switch {
		case v == nil:
			x.setValue(0, nn.OptionalValue(nil))
		case v.Kind == nn.KindOptional:
			return shapeErr("Optional of an optional")
		default:
			x.setValue(0, nn.OptionalValue(v.Clone()))
		}
		return nil
	}, nil
}

func compileOptionalHasElement(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	return func(x *exec, ins []*nn.Tensor) error {
		v := x.value(0)
		if v == nil {
			return shapeErr("missing input")
		}
		has := v.Kind != nn.KindOptional || v.Elem != nil
		x.out(0, nn.Bool, nil).Data.([]bool)[0] = has
		return nil
	}, nil
}

func compileOptionalGetElement(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	return func(x *exec, ins []*nn.Tensor) error {
		v := x.value(0)
		if v == nil {
			return shapeErr("missing input")
		}
		if v.Kind == nn.KindOptional {
			if v.Elem == nil {
				return shapeErr("OptionalGetElement of an empty optional")
			}
			v = v.Elem
		}
		x.setValue(0, v)
		return nil
	}, nil
}
