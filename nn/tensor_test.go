package nn

import (
	"errors"
	"math"
	"testing"
)

func TestHalfConversions(t *testing.T) {
	tests := []struct {
		f float32
		h Half
	}{
		{0, 0}, {1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {1e6, 0x7c00},
		{float32(math.Inf(-1)), 0xfc00}, {5.960464477539063e-08, 0x0001}, {0.333251953125, 0x3555},
	}
	for _, tc := range tests {
		if got := Float32ToHalf(tc.f); got != tc.h {
			t.Errorf("Float32ToHalf(%v) = %#04x, want %#04x", tc.f, got, tc.h)
		}
		if tc.f != 1e6 {
			if got := HalfToFloat32(tc.h); got != tc.f {
				t.Errorf("HalfToFloat32(%#04x) = %v, want %v", tc.h, got, tc.f)
			}
		}
	}
	if b := Float32ToBHalf(1.00390625); BHalfToFloat32(b) != 1 { // ties to even
		t.Errorf("bfloat16 rounding of 1.00390625 gave %v", BHalfToFloat32(b))
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		t    *Tensor
		ok   bool
	}{
		{"ok", FromFloat32([]float32{1, 2}, 2), true},
		{"scalar", &Tensor{DType: Int64, Data: []int64{3}}, true},
		{"length mismatch", FromFloat32([]float32{1}, 2), false},
		{"type mismatch", &Tensor{DType: Float32, Shape: []int{1}, Data: []int64{1}}, false},
		{"negative dim", &Tensor{DType: Float32, Shape: []int{-1}, Data: []float32{}}, false},
		{"nil", nil, false},
	}
	for _, tc := range tests {
		err := tc.t.Validate()
		if (err == nil) != tc.ok || (err != nil && !errors.Is(err, ErrBadTensor)) {
			t.Errorf("%s: Validate = %v", tc.name, err)
		}
	}
}
