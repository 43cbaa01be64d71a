package kernels

import "testing"

// BenchmarkMicroKernel measures the 6×16 micro-kernel on L1-resident data:
// the ceiling of the Go GEMM path on one core.
func BenchmarkMicroKernel(b *testing.B) {
	const kc = 256
	a := make([]float32, kc*gemmMR)
	bb := make([]float32, kc*gemmNR)
	c := make([]float32, gemmMR*gemmNR)
	c0 := processCPU()
	for b.Loop() {
		microKernel(kc, a, bb, c, gemmNR)
	}
	defer SetThreads(Threads())
	SetThreads(1)
	reportRates(b, 2*gemmMR*gemmNR*kc, processCPU()-c0)
}
