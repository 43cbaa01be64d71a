package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// GEMM shapes (M = output channels, N = OH*OW, K = C*KH*KW) of
// representative convolutions of resnet18, mobilenet_v2 and squeezenet1_1
// at one image; batch 8 runs eight of them.
var gemmShapes = []struct {
	name    string
	m, n, k int
}{
	{"resnet18.conv1", 64, 12544, 147},
	{"resnet18.layer1", 64, 3136, 576},
	{"resnet18.layer2", 128, 784, 1152},
	{"resnet18.layer3", 256, 196, 2304},
	{"resnet18.layer4", 512, 49, 4608},
	{"mobilenet.expand56", 144, 3136, 24},
	{"mobilenet.project14", 96, 196, 576},
	{"mobilenet.expand7", 960, 49, 160},
	{"mobilenet.last", 1280, 49, 320},
	{"squeeze.expand3x3_55", 64, 3025, 144},
	{"squeeze.expand3x3_13", 256, 169, 576},
	{"squeeze.classifier", 1000, 169, 512},
}

func BenchmarkSgemm(b *testing.B) {
	for _, s := range gemmShapes {
		for _, be := range []string{"go", "blas"} {
			b.Run(fmt.Sprintf("%s/%dx%dx%d/%s", s.name, s.m, s.n, s.k, be), func(b *testing.B) {
				if be == "blas" && !useBLAS() {
					b.Skip("OpenBLAS not loaded")
				}
				defer forceGoGemm(be == "go")()
				r := rand.New(rand.NewPCG(1, 1))
				a, bb := randSlice(r, s.m*s.k), randSlice(r, s.k*s.n)
				c := make([]float32, s.m*s.n)
				// Single-threaded serial GEMM: the conv path runs one per worker.
				b.ResetTimer()
				c0 := processCPU()
				for b.Loop() {
					gemmSerial(false, false, s.m, s.n, s.k, 1, a, s.k, bb, s.n, 0, c, s.n)
				}
				// One goroutine: CPU rate is per core.
				defer SetThreads(Threads())
				SetThreads(1)
				reportRates(b, 2*float64(s.m*s.n*s.k), processCPU()-c0)
			})
		}
	}
}

func BenchmarkSgemmPackedA(b *testing.B) {
	for _, s := range gemmShapes {
		b.Run(fmt.Sprintf("%s/%dx%dx%d", s.name, s.m, s.n, s.k), func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 1))
			a, bb := randSlice(r, s.m*s.k), randSlice(r, s.k*s.n)
			ap := make([]float32, packedALen(s.m, s.k))
			packA(ap, false, s.m, s.k, 1, a, s.k)
			c := make([]float32, s.m*s.n)
			c0 := processCPU()
			for b.Loop() {
				gemmPackedA(ap, s.m, s.n, s.k, false, bb, s.n, c, s.n, nil)
			}
			defer SetThreads(Threads())
			SetThreads(1)
			reportRates(b, 2*float64(s.m*s.n*s.k), processCPU()-c0)
		})
	}
}
