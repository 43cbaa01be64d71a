package nn

import (
	"errors"
	"testing"
)

func TestValue(t *testing.T) {
	a := FromFloat32([]float32{1, 2}, 2)
	s := SequenceValue(Undefined, a, FromFloat32([]float32{3}, 1))
	if s.ElemType != Float32 || s.Validate() != nil || s.String() != "sequence<float32> of 2" {
		t.Errorf("sequence: %v %v", s, s.Validate())
	}
	c := OptionalValue(s).Clone()
	c.Elem.Seq[0].F32()[0] = 9
	if a.F32()[0] != 1 || c.String() != "optional(sequence<float32> of 2)" {
		t.Errorf("Clone shares data or String is wrong: %v", c)
	}
	if OptionalValue(nil).Validate() != nil || OptionalValue(nil).String() != "optional(empty)" || TensorValue(a).String() != "float32[2]" {
		t.Error("empty optional or tensor value")
	}
	for name, bad := range map[string]*Value{
		"mixed sequence":       SequenceValue(Float32, a, FromInt64([]int64{1}, 1)),
		"nil element":          {Kind: KindSequence, Seq: []*Tensor{nil}},
		"bad element":          SequenceValue(Float32, &Tensor{DType: Float32, Shape: []int{3}, Data: []float32{1}}),
		"optional of optional": OptionalValue(OptionalValue(nil)),
		"tensor without one":   {Kind: KindTensor},
		"unknown kind":         {Kind: 7},
		"nil":                  nil,
	} {
		if err := bad.Validate(); !errors.Is(err, ErrBadTensor) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
