package cpu

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/graph"
)

// TestConcatLarge checks Concat on both sides of its parallel threshold
// (2^16 output elements), on axis 1 of NCHW tensors as squeezenet uses it
// and on the last axis, element by element.
func TestConcatLarge(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, tc := range []struct {
		axis  int64
		a, b  []int
		large bool
	}{
		{1, []int{3, 64, 20, 20}, []int{3, 32, 20, 20}, true},
		{3, []int{2, 8, 64, 30}, []int{2, 8, 64, 50}, true},
		{1, []int{2, 4, 5, 5}, []int{2, 3, 5, 5}, false},
	} {
		g := &graph.Graph{Opset: 13,
			Inputs:  []graph.ValueInfo{{Name: "a", DType: nn.Float32, Shape: tc.a}, {Name: "b", DType: nn.Float32, Shape: tc.b}},
			Outputs: []graph.ValueInfo{{Name: "y", DType: nn.Float32}},
			Nodes: []*graph.Node{{Op: "Concat", Inputs: []string{"a", "b"}, Outputs: []string{"y"},
				Attrs: map[string]*graph.Attr{"axis": {Type: graph.AttrInt, I: tc.axis}}}},
		}
		s, err := NewSession(context.Background(), g, Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		a, b := randTensor(r, tc.a...), randTensor(r, tc.b...)
		out, err := s.Run(context.Background(), map[string]*nn.Tensor{"a": a, "b": b})
		s.Close()
		if err != nil {
			t.Fatal(err)
		}
		y := out["y"]
		if large := y.Len() >= 1<<16; large != tc.large {
			t.Fatalf("case %v: %d elements, want large=%v", tc.a, y.Len(), tc.large)
		}
		ax := int(tc.axis)
		outer := nn.NumElements(tc.a[:ax])
		inner := nn.NumElements(tc.a[ax+1:])
		ra, rb := tc.a[ax]*inner, tc.b[ax]*inner
		for o := range outer {
			for i := range ra {
				if got, want := y.F32()[o*(ra+rb)+i], a.F32()[o*ra+i]; got != want {
					t.Fatalf("axis %d: y[%d] = %v, want a[%d] = %v", ax, o*(ra+rb)+i, got, o*ra+i, want)
				}
			}
			for i := range rb {
				if got, want := y.F32()[o*(ra+rb)+ra+i], b.F32()[o*rb+i]; got != want {
					t.Fatalf("axis %d: y[%d] = %v, want b[%d] = %v", ax, o*(ra+rb)+ra+i, got, o*rb+i, want)
				}
			}
		}
	}
}
