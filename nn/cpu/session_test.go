package cpu

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/graph"
)

func randTensor(r *rand.Rand, shape ...int) *nn.Tensor {
	t := nn.NewTensor(nn.Float32, shape...)
	for i := range t.F32() {
		t.F32()[i] = r.Float32()*2 - 1
	}
	return t
}

func positive(r *rand.Rand, n int) *nn.Tensor {
	t := nn.NewTensor(nn.Float32, n)
	for i := range t.F32() {
		t.F32()[i] = r.Float32() + 0.5
	}
	return t
}

// convBNReluGraph: x -> Conv(W, B) -> BatchNormalization -> Relu -> Identity
// -> y, plus a dead branch and a foldable constant subgraph (shape for a
// final Reshape).
func convBNReluGraph(r *rand.Rand, act string) *graph.Graph {
	g := &graph.Graph{
		Opset:        13,
		Inputs:       []graph.ValueInfo{{Name: "x", DType: nn.Float32, Shape: []int{-1, 3, 8, 8}}},
		Outputs:      []graph.ValueInfo{{Name: "y", DType: nn.Float32}},
		Initializers: map[string]*nn.Tensor{},
		Overridable:  map[string]bool{},
	}
	g.Initializers["W"] = randTensor(r, 4, 3, 3, 3)
	g.Initializers["B"] = randTensor(r, 4)
	g.Initializers["scale"] = positive(r, 4)
	g.Initializers["bias"] = randTensor(r, 4)
	g.Initializers["mean"] = randTensor(r, 4)
	g.Initializers["var"] = positive(r, 4)
	g.Initializers["lo"] = nn.FromFloat32([]float32{-0.1})
	g.Initializers["hi"] = nn.FromFloat32([]float32{0.4})
	g.Initializers["s1"] = nn.FromInt64([]int64{0, -1}, 2)
	g.Initializers["two"] = nn.FromInt64([]int64{1}, 1)
	conv := &graph.Node{Name: "conv", Op: "Conv", Inputs: []string{"x", "W", "B"}, Outputs: []string{"c"}, Attrs: map[string]*graph.Attr{}}
	conv.Attrs["pads"] = &graph.Attr{Type: graph.AttrInts, Ints: []int64{1, 1, 1, 1}}
	actNode := &graph.Node{Name: "act", Op: act, Inputs: []string{"bn"}, Outputs: []string{"a"}}
	if act == "Clip" {
		actNode.Inputs = append(actNode.Inputs, "lo", "hi")
	}
	g.Nodes = []*graph.Node{
		conv,
		{Name: "bn", Op: "BatchNormalization", Inputs: []string{"c", "scale", "bias", "mean", "var"}, Outputs: []string{"bn"}},
		actNode,
		{Name: "id", Op: "Identity", Inputs: []string{"a"}, Outputs: []string{"a2"}},
		{Name: "dead", Op: "Sigmoid", Inputs: []string{"a2"}, Outputs: []string{"unused"}},
		{Name: "shape", Op: "Mul", Inputs: []string{"s1", "two"}, Outputs: []string{"s2"}},
		{Name: "reshape", Op: "Reshape", Inputs: []string{"a2", "s2"}, Outputs: []string{"y"}},
	}
	return g
}

func TestRewritesPreserveResults(t *testing.T) {
	for _, act := range []string{"Relu", "Clip", "LeakyRelu"} {
		t.Run(act, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			ctx := context.Background()
			opt, err := NewSession(ctx, convBNReluGraph(r, act), Options{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			r = rand.New(rand.NewPCG(1, 2))
			plain, err := NewSession(ctx, convBNReluGraph(r, act), Options{Threads: 2, NoOptimize: true})
			if err != nil {
				t.Fatal(err)
			}
			st := opt.Stats()
			if st.BatchNormsFolded != 1 || st.Fused != 1 || st.Folded != 1 || st.Removed < 2 {
				t.Errorf("stats %+v: want 1 BN folded, 1 fused, 1 folded, >= 2 removed", st)
			}
			var ops []string
			for _, n := range opt.Graph().Nodes {
				ops = append(ops, n.Op)
			}
			if strings.Join(ops, ",") != "Conv,Reshape" {
				t.Errorf("optimized nodes %v, want [Conv Reshape]", ops)
			}
			x := randTensor(r, 2, 3, 8, 8)
			a, err := opt.Run(ctx, map[string]*nn.Tensor{"x": x})
			if err != nil {
				t.Fatal(err)
			}
			b, err := plain.Run(ctx, map[string]*nn.Tensor{"x": x})
			if err != nil {
				t.Fatal(err)
			}
			if err := compareTensors(a["y"], b["y"], 1e-5, 1e-6); err != nil {
				t.Fatal(err)
			}
			if a["y"].Shape[0] != 2 || a["y"].Shape[1] != 4*8*8 {
				t.Fatalf("y shape %v", a["y"].Shape)
			}
		})
	}
}

func TestRunInputErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	ctx := context.Background()
	s, err := NewSession(ctx, convBNReluGraph(r, "Relu"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tests := []struct {
		name  string
		feeds map[string]*nn.Tensor
		msg   string
	}{
		{"missing", map[string]*nn.Tensor{}, `missing input "x"`},
		{"unknown name", map[string]*nn.Tensor{"x": randTensor(r, 1, 3, 8, 8), "z": randTensor(r, 1)}, `no input "z"`},
		{"wrong rank", map[string]*nn.Tensor{"x": randTensor(r, 3, 8, 8)}, "has shape [3 8 8], the model wants [?,3,8,8]"},
		{"wrong dim", map[string]*nn.Tensor{"x": randTensor(r, 1, 3, 9, 8)}, "has shape [1 3 9 8]"},
		{"wrong type", map[string]*nn.Tensor{"x": nn.NewTensor(nn.Int64, 1, 3, 8, 8)}, "is int64, the model wants float32"},
		{"inconsistent tensor", map[string]*nn.Tensor{"x": nn.FromFloat32(make([]float32, 5), 1, 3, 8, 8)}, "needs 192 elements"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Run(ctx, tc.feeds)
			if !errors.Is(err, nn.ErrInputShape) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %v, want ErrInputShape mentioning %q", err, tc.msg)
			}
		})
	}
}

func TestUnsupportedOpError(t *testing.T) {
	g := &graph.Graph{
		Opset:        11,
		Inputs:       []graph.ValueInfo{{Name: "x", DType: nn.Float32}},
		Outputs:      []graph.ValueInfo{{Name: "y"}},
		Initializers: map[string]*nn.Tensor{},
		Nodes:        []*graph.Node{{Name: "fancy", Op: "NonMaxSuppression", Inputs: []string{"x"}, Outputs: []string{"y"}}},
	}
	_, err := NewSession(context.Background(), g, Options{})
	if !errors.Is(err, nn.ErrUnsupportedOp) {
		t.Fatalf("error %v, want ErrUnsupportedOp", err)
	}
	for _, want := range []string{"NonMaxSuppression", "opset 11", `"fancy"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
}

func TestConcurrentRunsAndClose(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	ctx := context.Background()
	s, err := NewSession(ctx, convBNReluGraph(r, "Relu"), Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	inputs := make([]*nn.Tensor, 4)
	wants := make([]*nn.Tensor, 4)
	for i := range inputs {
		inputs[i] = randTensor(r, 1+i%2, 3, 8, 8)
		out, err := s.Run(ctx, map[string]*nn.Tensor{"x": inputs[i]})
		if err != nil {
			t.Fatal(err)
		}
		wants[i] = out["y"]
	}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for k := 0; k < 10; k++ {
				i := (w + k) % 4
				out, err := s.Run(ctx, map[string]*nn.Tensor{"x": inputs[i]})
				if err != nil {
					t.Error(err)
					return
				}
				if err := compareTensors(out["y"], wants[i], 0, 0); err != nil {
					t.Errorf("worker %d run %d: %v", w, k, err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if _, err := s.Run(ctx, map[string]*nn.Tensor{"x": inputs[0]}); !errors.Is(err, nn.ErrClosed) {
		t.Fatalf("Run after Close: %v", err)
	}
	var nilSession *Session
	if err := nilSession.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestRunHonoursCancellation(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	s, err := NewSession(context.Background(), convBNReluGraph(r, "Relu"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out, err := s.Run(ctx, map[string]*nn.Tensor{"x": randTensor(r, 1, 3, 8, 8)})
	if !errors.Is(err, context.Canceled) || out != nil {
		t.Fatalf("Run on a cancelled context: %v, %v", out, err)
	}
}

// TestKernelConvMatchesReference runs convolutions of many geometries both
// through nn/kernels (constant weights) and the reference im2col path.
func TestKernelConvMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	type tc struct {
		c, m, h, w, k, stride, pad, dil, group int
		act                                    string
	}
	cases := []tc{
		{3, 8, 9, 9, 3, 1, 1, 1, 1, ""},
		{4, 4, 10, 7, 3, 2, 1, 1, 4, "Relu"},  // depthwise
		{8, 4, 6, 6, 1, 1, 0, 1, 1, "Clip"},   // pointwise
		{6, 6, 11, 11, 3, 1, 2, 2, 2, "Relu"}, // grouped, dilated
		{3, 5, 12, 12, 5, 3, 2, 1, 1, "LeakyRelu"},
	}
	for _, c := range cases {
		build := func() *graph.Graph {
			rr := rand.New(rand.NewPCG(uint64(c.c*100+c.k), 1))
			g := &graph.Graph{
				Opset:        13,
				Inputs:       []graph.ValueInfo{{Name: "x", DType: nn.Float32}},
				Outputs:      []graph.ValueInfo{{Name: "y"}},
				Initializers: map[string]*nn.Tensor{"W": randTensor(rr, c.m, c.c/c.group, c.k, c.k), "B": randTensor(rr, c.m)},
			}
			n := &graph.Node{Name: "conv", Op: "Conv", Inputs: []string{"x", "W", "B"}, Outputs: []string{"y"}}
			p := int64(c.pad)
			n.Attrs = map[string]*graph.Attr{
				"pads":      {Type: graph.AttrInts, Ints: []int64{p, p, p, p}},
				"strides":   {Type: graph.AttrInts, Ints: []int64{int64(c.stride), int64(c.stride)}},
				"dilations": {Type: graph.AttrInts, Ints: []int64{int64(c.dil), int64(c.dil)}},
				"group":     {Type: graph.AttrInt, I: int64(c.group)},
			}
			if c.act != "" {
				n.SetStr(graph.AttrActivation, c.act)
				n.SetFloat(graph.AttrActAlpha, 0.1)
				n.SetFloat(graph.AttrActBeta, 0.3)
			}
			g.Nodes = []*graph.Node{n}
			return g
		}
		x := randTensor(r, 2, c.c, c.h, c.w)
		ctx := context.Background()
		fast, err := NewSession(ctx, build(), Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		a, err := fast.Run(ctx, map[string]*nn.Tensor{"x": x})
		if err != nil {
			t.Fatal(err)
		}
		useKernelConv = false
		ref, err := NewSession(ctx, build(), Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		b, err := ref.Run(ctx, map[string]*nn.Tensor{"x": x})
		useKernelConv = true
		if err != nil {
			t.Fatal(err)
		}
		if err := compareTensors(a["y"], b["y"], 1e-4, 1e-5); err != nil {
			t.Errorf("%+v: %v", c, err)
		}
	}
}

// TestBuffersFollowLiveness: a chain of 20 element-wise ops needs two
// activation buffers (input of the step and its output), not 20, and a
// steady-state run allocates no new ones.
func TestBuffersFollowLiveness(t *testing.T) {
	g := &graph.Graph{
		Opset:        13,
		Inputs:       []graph.ValueInfo{{Name: "x", DType: nn.Float32}},
		Outputs:      []graph.ValueInfo{{Name: "v20"}},
		Initializers: map[string]*nn.Tensor{"shape": nn.FromInt64([]int64{-1}, 1)},
	}
	prev := "x"
	for i := 1; i <= 20; i++ {
		op := []string{"Relu", "Sigmoid", "Tanh", "Reshape"}[i%4]
		n := &graph.Node{Name: fmt.Sprint("n", i), Op: op, Inputs: []string{prev}, Outputs: []string{fmt.Sprint("v", i)}}
		if op == "Reshape" {
			n.Inputs = append(n.Inputs, "shape")
		}
		g.Nodes = append(g.Nodes, n)
		prev = n.Outputs[0]
	}
	ctx := context.Background()
	s, err := NewSession(ctx, g, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	x := randTensor(rand.New(rand.NewPCG(1, 1)), 1000)
	for run := 0; run < 3; run++ {
		if _, err := s.Run(ctx, map[string]*nn.Tensor{"x": x}); err != nil {
			t.Fatal(err)
		}
		if len(s.free) != 1 || len(s.free[0].free) > 3 {
			t.Fatalf("run %d: %d pooled states, %d float32 buffers; want 1 state, <= 3 buffers", run, len(s.free), len(s.free[0].free))
		}
	}
}

func TestRunBoundsDataDependentAllocation(t *testing.T) {
	g := &graph.Graph{
		Opset:        13,
		Inputs:       []graph.ValueInfo{{Name: "shape", DType: nn.Int64}},
		Outputs:      []graph.ValueInfo{{Name: "y"}},
		Initializers: map[string]*nn.Tensor{},
		Nodes:        []*graph.Node{{Name: "big", Op: "ConstantOfShape", Inputs: []string{"shape"}, Outputs: []string{"y"}}},
	}
	s, err := NewSession(context.Background(), g, Options{MaxTensorElements: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Run(context.Background(), map[string]*nn.Tensor{"shape": nn.FromInt64([]int64{1 << 15, 1 << 15}, 2)})
	if !errors.Is(err, nn.ErrTooLarge) || !strings.Contains(err.Error(), `"big"`) {
		t.Fatalf("Run = %v, %v; want ErrTooLarge naming the node", out, err)
	}
	if _, err := s.Run(context.Background(), map[string]*nn.Tensor{"shape": nn.FromInt64([]int64{4, 4}, 2)}); err != nil {
		t.Fatal(err)
	}
}

func TestResidualFusion(t *testing.T) {
	for _, tc := range []struct {
		name      string
		skipShape []int
		constW    bool
	}{
		{"same shape, packed kernel", []int{2, 4, 8, 8}, true},
		{"same shape, reference conv", []int{2, 4, 8, 8}, false},
		{"broadcast skip", []int{1, 4, 1, 8}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			build := func() *graph.Graph {
				r := rand.New(rand.NewPCG(11, 12))
				g := &graph.Graph{
					Opset:        13,
					Inputs:       []graph.ValueInfo{{Name: "x", DType: nn.Float32}, {Name: "skip", DType: nn.Float32}},
					Outputs:      []graph.ValueInfo{{Name: "y"}},
					Initializers: map[string]*nn.Tensor{"W": randTensor(r, 4, 3, 3, 3)},
					Overridable:  map[string]bool{"W": !tc.constW},
				}
				conv := &graph.Node{Name: "conv", Op: "Conv", Inputs: []string{"x", "W"}, Outputs: []string{"c"},
					Attrs: map[string]*graph.Attr{"pads": ints64(1, 1, 1, 1)}}
				g.Nodes = []*graph.Node{
					conv,
					{Name: "add", Op: "Add", Inputs: []string{"skip", "c"}, Outputs: []string{"s"}},
					{Name: "relu", Op: "Relu", Inputs: []string{"s"}, Outputs: []string{"y"}},
				}
				return g
			}
			r := rand.New(rand.NewPCG(13, 14))
			feeds := map[string]*nn.Tensor{"x": randTensor(r, 2, 3, 8, 8), "skip": randTensor(r, tc.skipShape...)}
			ctx := context.Background()
			fused, err := NewSession(ctx, build(), Options{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			if len(fused.Graph().Nodes) != 1 || !fused.Graph().Nodes[0].Has(graph.AttrResidual) {
				t.Fatalf("not fused: %d nodes", len(fused.Graph().Nodes))
			}
			plain, err := NewSession(ctx, build(), Options{Threads: 2, NoOptimize: true})
			if err != nil {
				t.Fatal(err)
			}
			a, err := fused.Run(ctx, feeds)
			if err != nil {
				t.Fatal(err)
			}
			b, err := plain.Run(ctx, feeds)
			if err != nil {
				t.Fatal(err)
			}
			if err := compareTensors(a["y"], b["y"], 1e-5, 1e-6); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestRunIntoReusesCallerBuffers(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	ctx := context.Background()
	s, err := NewSession(ctx, convBNReluGraph(r, "Relu"), Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	x := randTensor(r, 1, 3, 8, 8)
	want, err := s.Run(ctx, map[string]*nn.Tensor{"x": x})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]float32, 1000)
	dst := map[string]*nn.Tensor{"y": {DType: nn.Float32, Data: buf}}
	got, err := s.RunInto(ctx, map[string]*nn.Tensor{"x": x}, dst)
	if err != nil {
		t.Fatal(err)
	}
	if got["y"] != dst["y"] || &got["y"].F32()[0] != &buf[0] {
		t.Fatal("RunInto did not write into the caller's buffer")
	}
	if err := compareTensors(got["y"], want["y"], 0, 0); err != nil {
		t.Fatal(err)
	}
	small := map[string]*nn.Tensor{"y": {DType: nn.Float32, Data: make([]float32, 3)}}
	got, err = s.RunInto(ctx, map[string]*nn.Tensor{"x": x}, small)
	if err != nil || got["y"] == small["y"] || got["y"].Len() != want["y"].Len() {
		t.Fatalf("too-small destination: %v, %v", got["y"], err)
	}
}
