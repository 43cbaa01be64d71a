package cpu

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/graph"
)

// BenchmarkModels times batch-8 inference at 224×224 on the models of
// bench/models (written by bench/gen_models.py); it reports images/s.
//
//	go test ./nn/cpu -run '^$' -bench Models -benchtime 5x
func BenchmarkModels(b *testing.B) {
	for _, model := range []string{"resnet18", "mobilenet_v2", "squeezenet1_1"} {
		b.Run(model, func(b *testing.B) {
			path := filepath.Join("../../bench/models", model+"_op13.onnx")
			if _, err := os.Stat(path); err != nil {
				b.Skipf("%s absent: run /usr/bin/python3 bench/gen_models.py", path)
			}
			ctx := context.Background()
			s, err := Open(ctx, path, Options{Threads: 2})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			const batch = 8
			x := nn.NewTensor(nn.Float32, batch, 3, 224, 224)
			for i := range x.F32() {
				x.F32()[i] = rand.Float32()
			}
			feed := map[string]*nn.Tensor{s.Inputs()[0].Name: x}
			if _, err := s.Run(ctx, feed); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			c0 := processCPU()
			for i := 0; i < b.N; i++ {
				if _, err := s.Run(ctx, feed); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(batch*b.N)/b.Elapsed().Seconds(), "img/s")
			// CPU time per image is steadier than img/s on a shared machine.
			if c := processCPU() - c0; c > 0 {
				b.ReportMetric(c*1e3/float64(batch*b.N), "cpu-ms/img")
			}
		})
	}
}

// BenchmarkTransformerNet times one 256×256 frame through the
// fast-neural-style network of nn/testdata/models (gen_models.py).
func BenchmarkTransformerNet(b *testing.B) {
	path := filepath.Join(modelDir, "transformernet_op13.onnx")
	if _, err := os.Stat(path); err != nil {
		b.Skipf("%s absent: run /usr/bin/python3 nn/testdata/gen_models.py", path)
	}
	ctx := context.Background()
	s, err := Open(ctx, path, Options{Threads: 2})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	feed := map[string]*nn.Tensor{"input": nn.NewTensor(nn.Float32, 1, 3, 256, 256)}
	if _, err := s.Run(ctx, feed); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Run(ctx, feed); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}

// BenchmarkSessionOverhead times Run on a tiny chain of cheap operators
// (Add, Relu, Transpose, Reshape, Mul, Sigmoid on 1×64 values), where the
// interpreter's per-step bookkeeping, not arithmetic, is the cost; with
// -benchmem it shows what a steady-state Run allocates.
//
//	go test ./nn/cpu -run '^$' -bench SessionOverhead -benchmem
func BenchmarkSessionOverhead(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	g := &graph.Graph{
		Opset:        13,
		Inputs:       []graph.ValueInfo{{Name: "x", DType: nn.Float32, Shape: []int{1, 64}}},
		Outputs:      []graph.ValueInfo{{Name: "y", DType: nn.Float32}},
		Initializers: map[string]*nn.Tensor{"w": randTensor(r, 64), "shape": nn.FromInt64([]int64{8, 8}, 2)},
		Overridable:  map[string]bool{},
	}
	prev := "x"
	for i := 0; i < 8; i++ {
		a, c, t, s, m := fmt.Sprint("a", i), fmt.Sprint("c", i), fmt.Sprint("t", i), fmt.Sprint("s", i), fmt.Sprint("m", i)
		g.Nodes = append(g.Nodes,
			&graph.Node{Name: a, Op: "Add", Inputs: []string{prev, "w"}, Outputs: []string{a}},
			&graph.Node{Name: c, Op: "Relu", Inputs: []string{a}, Outputs: []string{c}},
			&graph.Node{Name: t, Op: "Reshape", Inputs: []string{c, "shape"}, Outputs: []string{t}},
			&graph.Node{Name: s, Op: "Transpose", Inputs: []string{t}, Outputs: []string{s}, Attrs: map[string]*graph.Attr{"perm": {Type: graph.AttrInts, Ints: []int64{1, 0}}}},
			&graph.Node{Name: m, Op: "Sigmoid", Inputs: []string{s}, Outputs: []string{m}},
		)
		prev = m
		if i < 7 {
			fl := fmt.Sprint("f", i)
			g.Nodes = append(g.Nodes, &graph.Node{Name: fl, Op: "Flatten", Inputs: []string{m}, Outputs: []string{fl}, Attrs: map[string]*graph.Attr{"axis": {Type: graph.AttrInt, I: 0}}})
			prev = fl
		}
	}
	g.Nodes[len(g.Nodes)-1].Outputs[0] = "y"
	ctx := context.Background()
	s, err := NewSession(ctx, g, Options{Threads: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	feed := map[string]*nn.Tensor{"x": randTensor(r, 1, 64)}
	dst := map[string]*nn.Tensor{"y": nn.NewTensor(nn.Float32, 8, 8)}
	if _, err := s.RunInto(ctx, feed, dst); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.RunInto(ctx, feed, dst); err != nil {
			b.Fatal(err)
		}
	}
}
