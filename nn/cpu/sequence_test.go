package cpu

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/graph"
)

func seqInfo(name string, dt nn.DType, shape ...int) graph.ValueInfo {
	return graph.ValueInfo{Name: name, Kind: nn.KindSequence, Elem: &graph.ValueInfo{DType: dt, Shape: shape}}
}

func newTestSession(t *testing.T, g *graph.Graph) *Session {
	t.Helper()
	if g.Initializers == nil {
		g.Initializers = map[string]*nn.Tensor{}
	}
	if g.Overridable == nil {
		g.Overridable = map[string]bool{}
	}
	s, err := NewSession(context.Background(), g, Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestSequenceIdentityAndErrors: a sequence passes through Identity by
// RunValues; Run refuses it with a message naming RunValues; a tensor
// operator fed a sequence fails naming node and op; fed values are
// checked against the declaration.
func TestSequenceIdentityAndErrors(t *testing.T) {
	ctx := context.Background()
	g := &graph.Graph{
		Opset:   16,
		Inputs:  []graph.ValueInfo{seqInfo("x", nn.Float32, -1, 2)},
		Outputs: []graph.ValueInfo{{Name: "y", Kind: nn.KindSequence}},
		Nodes:   []*graph.Node{{Name: "id", Op: "Identity", Inputs: []string{"x"}, Outputs: []string{"y"}}},
	}
	s := newTestSession(t, g)
	in := nn.SequenceValue(nn.Float32, nn.FromFloat32([]float32{1, 2}, 1, 2), nn.FromFloat32([]float32{3, 4, 5, 6}, 2, 2))
	out, err := s.RunValues(ctx, map[string]*nn.Value{"x": in})
	if err != nil {
		t.Fatal(err)
	}
	y := out["y"]
	if y.Kind != nn.KindSequence || len(y.Seq) != 2 || fmt.Sprint(y.Seq[1].F32()) != "[3 4 5 6]" {
		t.Fatalf("Identity of a sequence: %v", y)
	}
	y.Seq[0].F32()[0] = 42 // the caller owns the output, not the input
	if in.Seq[0].F32()[0] != 1 {
		t.Error("RunValues returned the caller's own tensor")
	}

	if _, err := s.Run(ctx, map[string]*nn.Tensor{"x": nn.FromFloat32([]float32{1, 2}, 1, 2)}); !errors.Is(err, nn.ErrInputShape) || !strings.Contains(err.Error(), "RunValues") {
		t.Errorf("tensor fed for a sequence input: %v", err)
	}
	for name, bad := range map[string]*nn.Value{
		"wrong element type":  nn.SequenceValue(nn.Int64, nn.FromInt64([]int64{1, 2}, 1, 2)),
		"wrong element shape": nn.SequenceValue(nn.Float32, nn.FromFloat32([]float32{1, 2, 3}, 1, 3)),
		"optional":            nn.OptionalValue(nil),
		"tensor":              nn.TensorValue(nn.FromFloat32([]float32{1, 2}, 1, 2)),
		"invalid":             {Kind: nn.KindSequence, Seq: []*nn.Tensor{{DType: nn.Float32, Shape: []int{3}, Data: []float32{1}}}},
	} {
		if _, err := s.RunValues(ctx, map[string]*nn.Value{"x": bad}); !errors.Is(err, nn.ErrInputShape) {
			t.Errorf("%s: %v", name, err)
		}
	}

	// A tensor operator reading a sequence.
	g2 := &graph.Graph{
		Opset:   16,
		Inputs:  []graph.ValueInfo{seqInfo("x", nn.Float32)},
		Outputs: []graph.ValueInfo{{Name: "y", DType: nn.Float32}},
		Nodes:   []*graph.Node{{Name: "relu", Op: "Relu", Inputs: []string{"x"}, Outputs: []string{"y"}}},
	}
	s2 := newTestSession(t, g2)
	_, err = s2.RunValues(ctx, map[string]*nn.Value{"x": in})
	if err == nil || !strings.Contains(err.Error(), `Relu node "relu"`) || !strings.Contains(err.Error(), "tensors only") {
		t.Errorf("Relu of a sequence: %v", err)
	}
}

// TestSequenceOps runs a graph over the sequence and optional operators
// that the ONNX test data covers only inside larger tests (or not at all):
// SplitToSequence (sizes, chunks, keepdims=0), SequenceErase, SequenceEmpty,
// SequenceConstruct, Optional and stacking ConcatFromSequence.
func TestSequenceOps(t *testing.T) {
	ctx := context.Background()
	i64 := func(v ...int64) *nn.Tensor { return nn.FromInt64(v, len(v)) }
	g := &graph.Graph{
		Opset:  16,
		Inputs: []graph.ValueInfo{{Name: "x", DType: nn.Float32, Shape: []int{2, 5}}},
		Outputs: []graph.ValueInfo{
			{Name: "n_chunks", DType: nn.Int64}, {Name: "last_chunk", DType: nn.Float32},
			{Name: "n_cols", DType: nn.Int64}, {Name: "col3", DType: nn.Float32},
			{Name: "erased", DType: nn.Float32}, {Name: "stacked", DType: nn.Float32},
			{Name: "empty_len", DType: nn.Int64}, {Name: "opt", Kind: nn.KindOptional},
			{Name: "none", Kind: nn.KindOptional}, {Name: "has_none", DType: nn.Bool},
			{Name: "got", DType: nn.Float32}, {Name: "lens", Kind: nn.KindSequence},
		},
		Initializers: map[string]*nn.Tensor{
			"two": {DType: nn.Int64, Shape: []int{}, Data: []int64{2}}, "lens": i64(1, 4),
			"m1": {DType: nn.Int64, Shape: []int{}, Data: []int64{-1}}, "z": {DType: nn.Int32, Shape: []int{}, Data: []int32{0}},
		},
		Nodes: []*graph.Node{
			// Chunks of 2 columns: [2,2], [2,2], [2,1].
			{Name: "chunks", Op: "SplitToSequence", Inputs: []string{"x", "two"}, Outputs: []string{"ch"}, Attrs: map[string]*graph.Attr{"axis": {Type: graph.AttrInt, I: 1}}},
			{Name: "nch", Op: "SequenceLength", Inputs: []string{"ch"}, Outputs: []string{"n_chunks"}},
			{Name: "last", Op: "SequenceAt", Inputs: []string{"ch", "m1"}, Outputs: []string{"last_chunk"}},
			// Single columns, squeezed: five of shape [2].
			{Name: "cols", Op: "SplitToSequence", Inputs: []string{"x"}, Outputs: []string{"cs"}, Attrs: map[string]*graph.Attr{"axis": {Type: graph.AttrInt, I: -1}, "keepdims": {Type: graph.AttrInt, I: 0}}},
			{Name: "ncols", Op: "SequenceLength", Inputs: []string{"cs"}, Outputs: []string{"n_cols"}},
			{Name: "c3", Op: "SequenceAt", Inputs: []string{"cs", "two"}, Outputs: []string{"c3r"}},
			{Name: "c3id", Op: "Relu", Inputs: []string{"c3r"}, Outputs: []string{"col3"}},
			// Erase the first column, stack the rest along a new axis 1: [2,4].
			{Name: "erase", Op: "SequenceErase", Inputs: []string{"cs", "z"}, Outputs: []string{"cs2"}},
			{Name: "stack", Op: "ConcatFromSequence", Inputs: []string{"cs2"}, Outputs: []string{"stacked"}, Attrs: map[string]*graph.Attr{"axis": {Type: graph.AttrInt, I: -1}, "new_axis": {Type: graph.AttrInt, I: 1}}},
			{Name: "e0", Op: "SequenceAt", Inputs: []string{"cs2", "z"}, Outputs: []string{"erased"}},
			{Name: "empty", Op: "SequenceEmpty", Outputs: []string{"es"}, Attrs: map[string]*graph.Attr{"dtype": {Type: graph.AttrInt, I: int64(nn.Float32)}}},
			{Name: "elen", Op: "SequenceLength", Inputs: []string{"es"}, Outputs: []string{"empty_len"}},
			{Name: "opt", Op: "Optional", Inputs: []string{"col3"}, Outputs: []string{"opt"}},
			{Name: "none", Op: "Optional", Outputs: []string{"none"}},
			{Name: "has", Op: "OptionalHasElement", Inputs: []string{"none"}, Outputs: []string{"has_none"}},
			{Name: "get", Op: "OptionalGetElement", Inputs: []string{"opt"}, Outputs: []string{"got"}},
			{Name: "pair", Op: "SequenceConstruct", Inputs: []string{"two", "lens"}, Outputs: []string{"lens"}},
		},
	}
	g.Nodes[len(g.Nodes)-1].Outputs[0] = "lens_seq"
	g.Outputs[len(g.Outputs)-1].Name = "lens_seq"
	x := nn.FromFloat32([]float32{0, 1, 2, 3, 4, 10, 11, 12, 13, 14}, 2, 5)
	for _, noOpt := range []bool{false, true} {
		s, err := NewSession(ctx, cloneGraph(g), Options{Threads: 2, NoOptimize: noOpt})
		if err != nil {
			t.Fatal(err)
		}
		for run := 0; run < 2; run++ { // the second run reuses the state's buffers
			out, err := s.RunValues(ctx, map[string]*nn.Value{"x": nn.TensorValue(x)})
			if err != nil {
				t.Fatal(err)
			}
			str := func(name string) string {
				v := out[name]
				switch v.Kind {
				case nn.KindTensor:
					return fmt.Sprint(v.Tensor.Shape, v.Tensor.Data)
				case nn.KindOptional:
					if v.Elem == nil {
						return "empty"
					}
					return fmt.Sprint(v.Elem.Tensor.Shape, v.Elem.Tensor.Data)
				}
				var b strings.Builder
				for _, e := range v.Seq {
					fmt.Fprint(&b, e.Shape, e.Data)
				}
				return b.String()
			}
			for name, want := range map[string]string{
				"n_chunks": "[] [3]", "last_chunk": "[2 1] [4 14]", "n_cols": "[] [5]", "col3": "[2] [2 12]",
				"erased": "[2] [1 11]", "stacked": "[2 4] [1 2 3 4 11 12 13 14]", "empty_len": "[] [0]",
				"opt": "[2] [2 12]", "none": "empty", "has_none": "[] [false]", "got": "[2] [2 12]",
				"lens_seq": "[] [2][2] [1 4]",
			} {
				if got := str(name); got != want {
					t.Errorf("NoOptimize=%v run %d: %s = %s, want %s", noOpt, run, name, got, want)
				}
			}
		}
		s.Close()
	}
}

func cloneGraph(g *graph.Graph) *graph.Graph {
	c := *g
	c.Nodes = nil
	for _, n := range g.Nodes {
		m := *n
		m.Inputs = append([]string(nil), n.Inputs...)
		m.Outputs = append([]string(nil), n.Outputs...)
		c.Nodes = append(c.Nodes, &m)
	}
	c.Initializers = map[string]*nn.Tensor{}
	for k, v := range g.Initializers {
		c.Initializers[k] = v
	}
	c.Overridable = map[string]bool{}
	return &c
}

// TestSequenceKeepsReleasedBuffers: a tensor put into a sequence outlives
// the activation buffer it came from, which later operators reuse.
func TestSequenceKeepsReleasedBuffers(t *testing.T) {
	ctx := context.Background()
	g := &graph.Graph{
		Opset:   16,
		Inputs:  []graph.ValueInfo{{Name: "x", DType: nn.Float32, Shape: []int{4}}},
		Outputs: []graph.ValueInfo{{Name: "cat", DType: nn.Float32}},
		Nodes: []*graph.Node{
			{Name: "r1", Op: "Relu", Inputs: []string{"x"}, Outputs: []string{"a"}},
			{Name: "seq", Op: "SequenceConstruct", Inputs: []string{"a"}, Outputs: []string{"s"}},
			{Name: "neg", Op: "Neg", Inputs: []string{"x"}, Outputs: []string{"b"}},
			{Name: "r2", Op: "Relu", Inputs: []string{"b"}, Outputs: []string{"c"}}, // may take a's freed buffer
			{Name: "ins", Op: "SequenceInsert", Inputs: []string{"s", "c"}, Outputs: []string{"s2"}},
			{Name: "cat", Op: "ConcatFromSequence", Inputs: []string{"s2"}, Outputs: []string{"cat"}, Attrs: map[string]*graph.Attr{"axis": {Type: graph.AttrInt, I: 0}}},
		},
	}
	if _, ok := registry["Neg"]; !ok {
		g.Nodes[2] = &graph.Node{Name: "neg", Op: "Sub", Inputs: []string{"zero", "x"}, Outputs: []string{"b"}}
		g.Initializers = map[string]*nn.Tensor{"zero": nn.FromFloat32([]float32{0}, 1)}
	}
	s := newTestSession(t, g)
	out, err := s.Run(ctx, map[string]*nn.Tensor{"x": nn.FromFloat32([]float32{1, -2, 3, -4}, 4)})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(out["cat"].F32()); got != "[1 0 3 0 0 2 0 4]" {
		t.Errorf("cat = %s", got)
	}
}
