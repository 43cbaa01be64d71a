package graph

import (
	"context"
	"errors"
	"fmt"
	"strings"
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

func TestInferShapes(t *testing.T) {
	ints := func(v ...int64) *Attr { return &Attr{Type: AttrInts, Ints: v} }
	g := &Graph{
		Opset:   13,
		Inputs:  []ValueInfo{{Name: "x", DType: nn.Float32, Shape: []int{-1, 3, 32, 32}}},
		Outputs: []ValueInfo{{Name: "y"}},
		Initializers: map[string]*nn.Tensor{
			"w":  nn.NewTensor(nn.Float32, 8, 3, 3, 3),
			"fc": nn.NewTensor(nn.Float32, 10, 8*8*8),
			"b1": nn.FromInt64([]int64{1}, 1),
		},
		Nodes: []*Node{
			{Op: "Conv", Inputs: []string{"x", "w"}, Outputs: []string{"c"}, Attrs: map[string]*Attr{"pads": ints(1, 1, 1, 1), "strides": ints(2, 2)}},
			{Op: "MaxPool", Inputs: []string{"c"}, Outputs: []string{"p"}, Attrs: map[string]*Attr{"kernel_shape": ints(3, 3), "strides": ints(2, 2), "pads": ints(1, 1, 1, 1)}},
			{Op: "Shape", Inputs: []string{"p"}, Outputs: []string{"s"}},
			{Op: "Flatten", Inputs: []string{"p"}, Outputs: []string{"f"}},
			{Op: "Gemm", Inputs: []string{"f", "fc"}, Outputs: []string{"y"}, Attrs: map[string]*Attr{"transB": {Type: AttrInt, I: 1}}},
		},
	}
	tests := []struct {
		batch []int
		want  map[string]string
	}{
		{nil, map[string]string{"c": "[-1 8 16 16]", "p": "[-1 8 8 8]", "s": "[4]", "f": "[-1 512]", "y": "[-1 10]"}},
		{[]int{4, 3, 32, 32}, map[string]string{"c": "[4 8 16 16]", "f": "[4 512]", "y": "[4 10]"}},
	}
	for _, tc := range tests {
		in := map[string][]int{}
		if tc.batch != nil {
			in["x"] = tc.batch
		}
		vals, err := InferShapes(g, in)
		if err != nil {
			t.Fatal(err)
		}
		for name, want := range tc.want {
			if got := fmt.Sprint(vals[name].Shape); got != want {
				t.Errorf("%s: shape %s, want %s", name, got, want)
			}
		}
	}
	g.Initializers["w"] = nn.NewTensor(nn.Float32, 8, 4, 3, 3) // 4 input channels for 3
	if _, err := InferShapes(g, nil); !errors.Is(err, nn.ErrShape) || !strings.Contains(err.Error(), "Conv") {
		t.Fatalf("inconsistent Conv: %v", err)
	}
}

func TestFLOPs(t *testing.T) {
	ints := func(v ...int64) *Attr { return &Attr{Type: AttrInts, Ints: v} }
	g := &Graph{
		Opset:        13,
		Inputs:       []ValueInfo{{Name: "x", DType: nn.Float32, Shape: []int{2, 3, 8, 8}}},
		Outputs:      []ValueInfo{{Name: "y"}},
		Initializers: map[string]*nn.Tensor{"w": nn.NewTensor(nn.Float32, 4, 3, 3, 3), "fc": nn.NewTensor(nn.Float32, 256, 5)},
		Nodes: []*Node{
			{Op: "Conv", Inputs: []string{"x", "w"}, Outputs: []string{"c"}, Attrs: map[string]*Attr{"pads": ints(1, 1, 1, 1)}},
			{Op: "Relu", Inputs: []string{"c"}, Outputs: []string{"r"}},
			{Op: "Flatten", Inputs: []string{"r"}, Outputs: []string{"f"}},
			{Op: "MatMul", Inputs: []string{"f", "fc"}, Outputs: []string{"y"}},
		},
	}
	shapes, err := InferShapes(g, nil)
	if err != nil {
		t.Fatal(err)
	}
	total, per, known := FLOPs(g, shapes)
	conv := 2.0 * (2 * 4 * 8 * 8) * (3 * 3 * 3)
	relu := 2.0 * 4 * 8 * 8
	mm := 2.0 * 2 * 5 * 256
	if known != 4 || per[0] != conv || per[1] != relu || per[2] != 0 || per[3] != mm || total != conv+relu+mm {
		t.Fatalf("FLOPs = %v %v %d", total, per, known)
	}
}
