package cpu_test

import (
	"context"
	"fmt"

	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/cpu"
	"github.com/sluice-ml/sluice/nn/graph"
)

// A session over a hand-built graph: y = Relu(x + b). Models usually come
// from cpu.Open(ctx, "model.onnx", cpu.Options{Threads: 2}).
func ExampleSession_Run() {
	g := &graph.Graph{
		Opset:        13,
		Inputs:       []graph.ValueInfo{{Name: "x", DType: nn.Float32, Shape: []int{-1, 3}}},
		Outputs:      []graph.ValueInfo{{Name: "y"}},
		Initializers: map[string]*nn.Tensor{"b": nn.FromFloat32([]float32{1, -1, 0}, 3)},
		Nodes: []*graph.Node{
			{Name: "add", Op: "Add", Inputs: []string{"x", "b"}, Outputs: []string{"s"}},
			{Name: "relu", Op: "Relu", Inputs: []string{"s"}, Outputs: []string{"y"}},
		},
	}
	ctx := context.Background()
	s, err := cpu.NewSession(ctx, g, cpu.Options{Threads: 1})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	out, err := s.Run(ctx, map[string]*nn.Tensor{"x": nn.FromFloat32([]float32{0, 0, 0, 2, 2, -2}, 2, 3)})
	if err != nil {
		panic(err)
	}
	fmt.Println(out["y"].Shape, out["y"].F32())
	// Output: [2 3] [1 0 0 3 1 0]
}
