package nn

import (
	"fmt"
	"strings"
)

// Kind says what a Value holds: ONNX's tensor, sequence and optional types
// (maps and sparse tensors are not supported).
type Kind uint8

// Value kinds.
const (
	KindTensor   Kind = iota // a tensor
	KindSequence             // a sequence of tensors (possibly empty)
	KindOptional             // an optional: empty, or holding a tensor or a sequence
)

func (k Kind) String() string {
	switch k {
	case KindTensor:
		return "tensor"
	case KindSequence:
		return "sequence"
	case KindOptional:
		return "optional"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Value is a run-time value of a model: a tensor, a sequence of tensors, or
// an optional. Models of plain tensors never need it; sessions take and
// return *Tensor for those.
type Value struct {
	Kind Kind
	// Tensor is set for KindTensor.
	Tensor *Tensor
	// Seq holds a KindSequence's tensors, in order; all have the same
	// element type. ElemType is that type, known even when Seq is empty
	// (Undefined: not known).
	Seq      []*Tensor
	ElemType DType
	// Elem is a KindOptional's content: nil when the optional is empty,
	// else a KindTensor or KindSequence value.
	Elem *Value
}

// TensorValue wraps t (not copied).
func TensorValue(t *Tensor) *Value { return &Value{Kind: KindTensor, Tensor: t} }

// SequenceValue makes a sequence of ts (the slice is copied, the tensors
// are not) with element type dt; dt may be Undefined when ts is not empty,
// which takes the type of ts[0].
func SequenceValue(dt DType, ts ...*Tensor) *Value {
	if dt == Undefined && len(ts) > 0 && ts[0] != nil {
		dt = ts[0].DType
	}
	return &Value{Kind: KindSequence, Seq: append([]*Tensor{}, ts...), ElemType: dt}
}

// OptionalValue makes an optional holding v, or an empty one when v is nil.
func OptionalValue(v *Value) *Value { return &Value{Kind: KindOptional, Elem: v} }

// Validate checks that v is well formed: the field of its kind set, every
// tensor valid, a sequence's tensors all of its element type, an
// optional holding a tensor or a sequence. Errors wrap ErrBadTensor.
func (v *Value) Validate() error {
	if v == nil {
		return fmt.Errorf("%w: nil value", ErrBadTensor)
	}
	switch v.Kind {
	case KindTensor:
		if v.Tensor == nil {
			return fmt.Errorf("%w: tensor value without a tensor", ErrBadTensor)
		}
		return v.Tensor.Validate()
	case KindSequence:
		for i, t := range v.Seq {
			if t == nil {
				return fmt.Errorf("%w: sequence element %d is nil", ErrBadTensor, i)
			}
			if err := t.Validate(); err != nil {
				return fmt.Errorf("sequence element %d: %w", i, err)
			}
			if v.ElemType != Undefined && t.DType != v.ElemType {
				return fmt.Errorf("%w: sequence element %d is %v in a sequence of %v", ErrBadTensor, i, t.DType, v.ElemType)
			}
		}
		return nil
	case KindOptional:
		if v.Elem == nil {
			return nil
		}
		if v.Elem.Kind == KindOptional {
			return fmt.Errorf("%w: an optional cannot hold an optional", ErrBadTensor)
		}
		return v.Elem.Validate()
	}
	return fmt.Errorf("%w: value of %v", ErrBadTensor, v.Kind)
}

// Clone returns a deep copy of v (tensor data included).
func (v *Value) Clone() *Value {
	if v == nil {
		return nil
	}
	c := &Value{Kind: v.Kind, ElemType: v.ElemType}
	if v.Tensor != nil {
		c.Tensor = v.Tensor.Clone()
	}
	if v.Seq != nil {
		c.Seq = make([]*Tensor, len(v.Seq))
		for i, t := range v.Seq {
			if t != nil {
				c.Seq[i] = t.Clone()
			}
		}
	}
	c.Elem = v.Elem.Clone()
	return c
}

// String describes v briefly ("float32[2,3]", "sequence<int64> of 3",
// "optional(empty)") for messages.
func (v *Value) String() string {
	if v == nil {
		return "<nil>"
	}
	switch v.Kind {
	case KindTensor:
		return v.Tensor.String()
	case KindSequence:
		return fmt.Sprintf("sequence<%v> of %d", v.ElemType, len(v.Seq))
	case KindOptional:
		if v.Elem == nil {
			return "optional(empty)"
		}
		var b strings.Builder
		b.WriteString("optional(")
		b.WriteString(v.Elem.String())
		b.WriteString(")")
		return b.String()
	}
	return v.Kind.String()
}
