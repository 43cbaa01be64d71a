package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Representative convolution layers of resnet18, mobilenet_v2 and
// squeezenet1_1 at batch 8 (the full per-layer tables come from
// `go run ./bench/cmd/sluicebench layers`).
var convBenchLayers = []struct {
	name string
	p    ConvParams
}{
	{"resnet18.conv1", convCase(8, 3, 224, 224, 64, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1, ActRelu)},
	{"resnet18.layer1", convCase(8, 64, 56, 56, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActRelu)},
	{"resnet18.layer2.s2", convCase(8, 64, 56, 56, 128, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, ActRelu)},
	{"resnet18.layer3", convCase(8, 256, 14, 14, 256, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActRelu)},
	{"resnet18.layer4", convCase(8, 512, 7, 7, 512, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActNone)},
	{"mobilenet.features0", convCase(8, 3, 224, 224, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, ActClip)},
	{"mobilenet.expand112", convCase(8, 16, 112, 112, 96, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActClip)},
	{"mobilenet.dw112.s2", convCase(8, 96, 112, 112, 96, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 96, ActClip)},
	{"mobilenet.dw56", convCase(8, 144, 56, 56, 144, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 144, ActClip)},
	{"mobilenet.dw7", convCase(8, 960, 7, 7, 960, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 960, ActClip)},
	{"mobilenet.dw14.s2", convCase(8, 576, 14, 14, 576, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 576, ActClip)},
	{"mobilenet.project14", convCase(8, 576, 14, 14, 96, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActNone)},
	{"mobilenet.expand7", convCase(8, 160, 7, 7, 960, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActClip)},
	{"squeezenet.features0", convCase(8, 3, 224, 224, 64, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, 1, ActRelu)},
	{"squeezenet.expand1x1_55", convCase(8, 16, 55, 55, 64, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActRelu)},
	{"squeezenet.expand3x3_55", convCase(8, 16, 55, 55, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActRelu)},
	{"squeezenet.classifier", convCase(8, 512, 13, 13, 1000, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActRelu)},
}

func BenchmarkConv(b *testing.B) {
	for _, l := range convBenchLayers {
		for _, be := range []string{"go", "blas"} {
			b.Run(fmt.Sprintf("%s/%s", l.name, be), func(b *testing.B) {
				if be == "blas" && !useBLAS() {
					b.Skip("OpenBLAS not loaded")
				}
				defer forceGoGemm(be == "go")()
				defer UseOpenBLASForConv(UseOpenBLASForConv(be == "blas"))
				p := l.p
				if p.Act == ActClip {
					p.Alpha, p.Beta = 0, 6
				}
				r := rand.New(rand.NewPCG(1, 1))
				x := randSlice(r, p.N*p.C*p.H*p.W)
				w := randSlice(r, p.M*p.C/p.Group*p.KH*p.KW)
				pc, err := PackConvWeights(p, w, randSlice(r, p.M))
				if err != nil {
					b.Fatal(err)
				}
				y := make([]float32, p.N*p.M*p.OH*p.OW)
				pc.Run(p.N, x, y)
				b.ResetTimer()
				c0 := processCPU()
				for b.Loop() {
					pc.Run(p.N, x, y)
				}
				reportRates(b, p.FLOPs(), processCPU()-c0)
			})
		}
	}
}

// reportRates reports GFLOP/s of wall time and "cpuGF/s": GFLOP per
// CPU-second times the worker count, what the kernel would reach with its
// workers on otherwise idle cores.
func reportRates(b *testing.B, flop, cpu float64) {
	b.ReportMetric(flop*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	if cpu > 0 {
		b.ReportMetric(flop*float64(b.N)/(cpu/float64(Threads()))/1e9, "cpuGF/s")
	}
}
