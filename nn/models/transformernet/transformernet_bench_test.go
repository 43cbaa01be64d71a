package transformernet

import (
	"context"
	"fmt"
	"testing"

	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/cpu"
)

// BenchmarkFrames runs the .pth-built TransformerNet on one 3×H×W frame per op, 2 threads
// (frames/s = 1/(ns/op)·1e9).
func BenchmarkFrames(b *testing.B) {
	g, _, err := Load(fixture(b, "style_random_zip.pth"))
	if err != nil {
		b.Fatal(err)
	}
	s, err := cpu.NewSession(context.Background(), g, cpu.Options{Threads: 2})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for _, sz := range [][2]int{{160, 120}, {320, 240}} {
		b.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(b *testing.B) {
			x := nn.NewTensor(nn.Float32, 1, 3, sz[1], sz[0])
			for i, v := range x.F32() {
				x.F32()[i] = float32(i%251) + v
			}
			dst := map[string]*nn.Tensor{}
			for i := 0; i < b.N; i++ {
				if _, err := s.RunInto(context.Background(), map[string]*nn.Tensor{Input: x}, dst); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}
