package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestWinoTransformsMatchGo checks the AVX2 transforms against the Go
// ones (the reference for every other platform), lane for lane, including
// the spill of the last run of 8 past the tile row.
func TestWinoTransformsMatchGo(t *testing.T) {
	if !hasAVX2FMA {
		t.Skip("no AVX2/FMA: only the Go transforms run here")
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, chunks := range []int{1, 2, 4} {
		ld, xs := 8*chunks+8, 8*chunks+5
		src := randSlice(r, 8*ld)
		got, want := make([]float32, 16*xs), make([]float32, 16*xs)
		winoIn(src, ld, chunks, got, xs)
		winoIn8Go(src, ld, chunks, want, xs)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("winoIn chunks=%d: [%d] = %v, Go gives %v", chunks, i, got[i], want[i])
			}
		}
		ls, ldd := 8*chunks+3, 16*chunks+4
		m := randSlice(r, 16*ls)
		gotO, wantO := make([]float32, 2*ldd), make([]float32, 2*ldd)
		winoOut(m, ls, chunks, gotO, ldd, 0.25)
		winoOut8Go(m, ls, chunks, wantO, ldd, 0.25)
		for i := range wantO {
			if gotO[i] != wantO[i] {
				t.Fatalf("winoOut chunks=%d: [%d] = %v, Go gives %v", chunks, i, gotO[i], wantO[i])
			}
		}
	}
}

// TestWinogradPortableMatchesReference runs the Winograd path with the Go
// transforms and micro-kernels, as on a CPU without AVX2.
func TestWinogradPortableMatchesReference(t *testing.T) {
	old, oldAVX := winoMinC, hasAVX2FMA
	winoMinC, hasAVX2FMA = 1, false
	defer func() { winoMinC, hasAVX2FMA = old, oldAVX }()
	testConvCases(t, func(p ConvParams) bool { return winoOK(p.normalized()) })
}

// BenchmarkWinograd compares Winograd with the implicit GEMM on the 3×3
// stride-1 layers of resnet18 at batch 8.
//
//	go test ./nn/kernels -run '^$' -bench Winograd
func BenchmarkWinograd(b *testing.B) {
	for _, l := range convBenchLayers {
		p := l.p
		if p.KH != 3 || p.StrideH != 1 || p.Group != 1 {
			continue
		}
		for _, algo := range []string{"implicit", "winograd"} {
			b.Run(fmt.Sprintf("%s/%s", l.name, algo), func(b *testing.B) {
				old := winoMinC
				winoMinC = 1 << 30
				if algo == "winograd" {
					winoMinC = 1
				}
				defer func() { winoMinC = old }()
				defer forceGoGemm(true)()
				r := rand.New(rand.NewPCG(1, 1))
				x := randSlice(r, p.N*p.C*p.H*p.W)
				pc, err := PackConvWeights(p, randSlice(r, p.M*p.C*9), randSlice(r, p.M))
				if err != nil {
					b.Fatal(err)
				}
				if pc.Algorithm() != algo {
					b.Fatalf("algorithm %s, want %s", pc.Algorithm(), algo)
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
