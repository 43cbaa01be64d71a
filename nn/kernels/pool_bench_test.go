package kernels

import (
	"math/rand/v2"
	"testing"
)

func BenchmarkMaxPool(b *testing.B) {
	for _, c := range []struct {
		name string
		p    PoolParams
	}{
		{"resnet18.maxpool", poolCase(8, 64, 112, 112, 3, 2, 1, false)},
		{"squeezenet.maxpool1", poolCase(8, 64, 111, 111, 3, 2, 0, true)},
		{"squeezenet.maxpool3", poolCase(8, 256, 27, 27, 3, 2, 0, true)},
	} {
		b.Run(c.name, func(b *testing.B) {
			p := c.p
			x := randSlice(rand.New(rand.NewPCG(1, 1)), p.N*p.C*p.H*p.W)
			y := make([]float32, p.N*p.C*p.OH*p.OW)
			MaxPool2D(p, 0, x, y)
			c0 := processCPU()
			for b.Loop() {
				MaxPool2D(p, 0, x, y)
			}
			cpu := processCPU() - c0
			b.ReportMetric(float64(len(x)*4*b.N)/b.Elapsed().Seconds()/1e9, "GB/s-in")
			if cpu > 0 {
				b.ReportMetric(float64(b.N)/cpu*float64(Threads()), "runs/cpu-s")
			}
		})
	}
}
