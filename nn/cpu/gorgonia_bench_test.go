//go:build gorgoniabench

// The comparison that decided how nn/cpu runs graphs: the same layer block
// (3×3 convolution, ReLU, 2×2 max-pool) through gorgonia's TapeMachine and
// through a Session. Kept behind a build tag because compiling gorgonia
// costs CI a minute for a figure that does not change:
//
//	go test ./nn/cpu -tags gorgoniabench -run '^$' -bench Gorgonia -benchtime 5x
package cpu

import (
	"context"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/graph"
)

const (
	gbN, gbC, gbM, gbH = 8, 64, 64, 56
)

func BenchmarkGorgoniaTapeMachine(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	x := randTensor(r, gbN, gbC, gbH, gbH)
	w := randTensor(r, gbM, gbC, 3, 3)
	g := G.NewGraph()
	xv := G.NewTensor(g, tensor.Float32, 4, G.WithShape(gbN, gbC, gbH, gbH), G.WithName("x"))
	wv := G.NewTensor(g, tensor.Float32, 4, G.WithShape(gbM, gbC, 3, 3), G.WithName("w"),
		G.WithValue(tensor.New(tensor.WithShape(gbM, gbC, 3, 3), tensor.WithBacking(w.F32()))))
	c, err := G.Conv2d(xv, wv, tensor.Shape{3, 3}, []int{1, 1}, []int{1, 1}, []int{1, 1})
	if err != nil {
		b.Fatal(err)
	}
	a, err := G.Rectify(c)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := G.MaxPool2D(a, tensor.Shape{2, 2}, []int{0, 0}, []int{2, 2}); err != nil {
		b.Fatal(err)
	}
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	xd := tensor.New(tensor.WithShape(gbN, gbC, gbH, gbH), tensor.WithBacking(x.F32()))
	if err := G.Let(xv, xd); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := vm.RunAll(); err != nil {
			b.Fatal(err)
		}
		vm.Reset()
	}
	b.ReportMetric(float64(gbN*b.N)/b.Elapsed().Seconds(), "img/s")
}

func BenchmarkGorgoniaSameBlockOnSession(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	x := randTensor(r, gbN, gbC, gbH, gbH)
	w := randTensor(r, gbM, gbC, 3, 3)
	gr := &graph.Graph{
		Opset:        13,
		Inputs:       []graph.ValueInfo{{Name: "x", DType: nn.Float32}},
		Outputs:      []graph.ValueInfo{{Name: "y"}},
		Initializers: map[string]*nn.Tensor{"w": w},
		Nodes: []*graph.Node{
			{Op: "Conv", Inputs: []string{"x", "w"}, Outputs: []string{"c"}, Attrs: map[string]*graph.Attr{"pads": {Type: graph.AttrInts, Ints: []int64{1, 1, 1, 1}}}},
			{Op: "Relu", Inputs: []string{"c"}, Outputs: []string{"a"}},
			{Op: "MaxPool", Inputs: []string{"a"}, Outputs: []string{"y"}, Attrs: map[string]*graph.Attr{
				"kernel_shape": {Type: graph.AttrInts, Ints: []int64{2, 2}}, "strides": {Type: graph.AttrInts, Ints: []int64{2, 2}}}},
		},
	}
	s, err := NewSession(context.Background(), gr, Options{Threads: 2})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	feed := map[string]*nn.Tensor{"x": x}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Run(context.Background(), feed); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(gbN*b.N)/b.Elapsed().Seconds(), "img/s")
}
