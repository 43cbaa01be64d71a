package graph

import (
	"context"
	"errors"
	"testing"

	"github.com/sluice-ml/sluice/nn"
)

// addEval folds Add of two float32 vectors of equal length; anything else
// is "unsupported".
func addEval(_ context.Context, n *Node, _ int, in []*nn.Tensor) ([]*nn.Tensor, error) {
	if n.Op != "Add" {
		return nil, nn.ErrUnsupportedOp
	}
	a, b := in[0].F32(), in[1].F32()
	out := make([]float32, len(a))
	for i := range a {
		out[i] = a[i] + b[i]
	}
	return []*nn.Tensor{nn.FromFloat32(out, len(out))}, nil
}

func TestOptimizeFoldsConstantsAndRemovesDeadNodes(t *testing.T) {
	g := &Graph{
		Opset:   13,
		Inputs:  []ValueInfo{{Name: "x"}},
		Outputs: []ValueInfo{{Name: "y"}},
		Initializers: map[string]*nn.Tensor{
			"a": nn.FromFloat32([]float32{1, 2}, 2),
			"b": nn.FromFloat32([]float32{10, 20}, 2),
			"z": nn.FromFloat32([]float32{0}, 1), // read only by a dead node
		},
		Nodes: []*Node{
			{Name: "fold", Op: "Add", Inputs: []string{"a", "b"}, Outputs: []string{"ab"}},
			{Name: "id", Op: "Identity", Inputs: []string{"x"}, Outputs: []string{"x2"}},
			{Name: "use", Op: "Mul", Inputs: []string{"x2", "ab"}, Outputs: []string{"y"}},
			{Name: "dead", Op: "Mul", Inputs: []string{"x", "z"}, Outputs: []string{"unused"}},
		},
	}
	st, err := Optimize(context.Background(), g, addEval)
	if err != nil {
		t.Fatal(err)
	}
	if st.Folded != 1 || st.Removed != 2 {
		t.Errorf("stats %+v, want 1 folded and 2 removed (Identity, dead Mul)", st)
	}
	if len(g.Nodes) != 1 || g.Nodes[0].Name != "use" || g.Nodes[0].Inputs[0] != "x" {
		t.Fatalf("nodes after optimize: %+v", g.Nodes)
	}
	if ab := g.Initializers["ab"]; ab == nil || ab.F32()[1] != 22 {
		t.Fatalf("folded value %v", ab)
	}
	for _, gone := range []string{"a", "b", "z"} {
		if _, ok := g.Initializers[gone]; ok {
			t.Errorf("unused initializer %q kept", gone)
		}
	}
}

func TestOptimizeKeepsOverridableInitializers(t *testing.T) {
	g := &Graph{
		Opset:        13,
		Outputs:      []ValueInfo{{Name: "y"}},
		Initializers: map[string]*nn.Tensor{"a": nn.FromFloat32([]float32{1}, 1), "b": nn.FromFloat32([]float32{2}, 1)},
		Overridable:  map[string]bool{"a": true},
		Nodes:        []*Node{{Name: "add", Op: "Add", Inputs: []string{"a", "b"}, Outputs: []string{"y"}}},
	}
	if _, err := Optimize(context.Background(), g, addEval); err != nil {
		t.Fatal(err)
	}
	if len(g.Nodes) != 1 {
		t.Fatal("a node reading a feed-overridable initializer was folded")
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		g    *Graph
		ok   bool
	}{
		{"ok", &Graph{Inputs: []ValueInfo{{Name: "x"}}, Outputs: []ValueInfo{{Name: "y"}},
			Nodes: []*Node{{Op: "Relu", Inputs: []string{"x"}, Outputs: []string{"y"}}}}, true},
		{"use before definition", &Graph{Inputs: []ValueInfo{{Name: "x"}}, Outputs: []ValueInfo{{Name: "y"}},
			Nodes: []*Node{{Op: "Relu", Inputs: []string{"t"}, Outputs: []string{"y"}}, {Op: "Relu", Inputs: []string{"x"}, Outputs: []string{"t"}}}}, false},
		{"output not produced", &Graph{Inputs: []ValueInfo{{Name: "x"}}, Outputs: []ValueInfo{{Name: "nope"}}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.g.Validate()
			if (err == nil) != tc.ok || (err != nil && !errors.Is(err, nn.ErrMalformedModel)) {
				t.Fatalf("Validate = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
