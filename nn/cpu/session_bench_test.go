package cpu

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluice-ml/sluice/nn"
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
