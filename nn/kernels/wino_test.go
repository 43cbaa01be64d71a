package kernels

import (
	"fmt"
	"math"
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
		winoOut(m, ls, chunks, gotO, ldd, 0.25, -2, 2)
		winoOut8Go(m, ls, chunks, wantO, ldd, 0.25, -2, 2)
		for i := range wantO {
			if gotO[i] != wantO[i] {
				t.Fatalf("winoOut chunks=%d: [%d] = %v, Go gives %v", chunks, i, gotO[i], wantO[i])
			}
		}
	}
}

// TestWino43TransformsMatchGo checks the AVX2 F(4×4, 3×3) transforms
// against the Go ones. The assembly fuses multiply-adds, so values agree to
// rounding, not bit for bit.
func TestWino43TransformsMatchGo(t *testing.T) {
	if !hasAVX2FMA {
		t.Skip("no AVX2/FMA: only the Go transforms run here")
	}
	r := rand.New(rand.NewPCG(5, 6))
	close := func(what string, got, want []float32) {
		t.Helper()
		for i := range want {
			if d := float64(got[i] - want[i]); math.Abs(d) > 1e-5*(1+math.Abs(float64(want[i]))) {
				t.Fatalf("%s: [%d] = %v, Go gives %v", what, i, got[i], want[i])
			}
		}
	}
	tmp := make([]float32, 40*8)
	for _, chunks := range []int{1, 2, 3} {
		ld, xs := 8*chunks+8, 8*chunks+5
		src := randSlice(r, 6*4*ld)
		got, want := make([]float32, 36*xs), make([]float32, 36*xs)
		wino43In(src, ld, chunks, got, xs, tmp)
		winoIn43Go(src, ld, chunks, want, xs)
		close(fmt.Sprintf("wino43In chunks=%d", chunks), got, want)
		ls, ldd := 8*chunks+3, 32*chunks+4
		m := randSlice(r, 36*ls)
		gotO, wantO := make([]float32, 4*ldd), make([]float32, 4*ldd)
		wino43Out(m, ls, chunks, gotO, ldd, 0.25, -3, 3, tmp)
		winoOut43Go(m, ls, chunks, wantO, ldd, 0.25, -3, 3)
		close(fmt.Sprintf("wino43Out chunks=%d", chunks), gotO, wantO)
	}
}

// TestWinogradPortableMatchesReference runs the Winograd paths with the Go
// transforms and micro-kernels, as on a CPU without AVX2.
func TestWinogradPortableMatchesReference(t *testing.T) {
	oldAVX := hasAVX2FMA
	hasAVX2FMA = false
	defer func() { hasAVX2FMA = oldAVX }()
	for _, tile := range []int{2, 4} {
		t.Run(fmt.Sprintf("F%dx%d", tile, tile), func(t *testing.T) {
			defer setWinograd(tile)()
			testConvCases(t, func(p ConvParams) bool { return winoOK(p.normalized()) })
		})
	}
}

// TestWinogradSmallBatchUsesImplicit: with the default thresholds a
// Winograd layer run at batch 8 uses Winograd, and at batch 1 (too few
// tiles) the implicit GEMM, packed on first use; both match the reference.
func TestWinogradSmallBatchUsesImplicit(t *testing.T) {
	if !hasAVX2FMA {
		t.Skip("Winograd is off without AVX2")
	}
	for _, hw := range []int{14, 7} { // F(4×4) and F(2×2) tiles
		p := convCase(8, 64, hw, hw, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActRelu)
		r := rand.New(rand.NewPCG(9, uint64(hw)))
		x, w, bias := randSlice(r, p.N*p.C*p.H*p.W), randSlice(r, p.M*p.C*9), randSlice(r, p.M)
		pc, err := PackConvWeights(p, w, bias)
		if err != nil {
			t.Fatal(err)
		}
		if pc.algo != algoWinograd || pc.wp != nil {
			t.Fatalf("%d×%d: algorithm %s, GEMM weights packed %v; want Winograd only", hw, hw, pc.Algorithm(), pc.wp != nil)
		}
		if !pc.winoWorth(8) || pc.winoWorth(1) {
			t.Fatalf("%d×%d: winoWorth(batch 8) %v, (batch 1) %v; want true, false", hw, hw, pc.winoWorth(8), pc.winoWorth(1))
		}
		want := make([]float32, p.N*p.M*p.OH*p.OW)
		refConv(p, x, w, bias, want)
		got := make([]float32, len(want))
		pc.RunThreads(8, 2, x, got)
		assertClose(t, got, want, 1e-5*math.Sqrt(float64(p.C*9)))
		one := p.M * p.OH * p.OW
		got1 := make([]float32, one)
		pc.RunThreads(1, 2, x[7*p.C*p.H*p.W:], got1)
		if pc.wp == nil {
			t.Fatalf("%d×%d: batch 1 did not pack the GEMM weights", hw, hw)
		}
		assertClose(t, got1, want[7*one:], 1e-5*math.Sqrt(float64(p.C*9)))
		// The thread count never changes the result.
		got8 := make([]float32, len(want))
		pc.RunThreads(8, 1, x, got8)
		for i := range got {
			if got8[i] != got[i] {
				t.Fatalf("%d×%d: element %d is %v on 1 thread, %v on 2", hw, hw, i, got8[i], got[i])
			}
		}
	}
}

// BenchmarkWinograd compares Winograd with the implicit GEMM on the 3×3
// stride-1 layers of resnet18 (and squeezenet's expand3x3) at batch 1 and 8.
//
//	go test ./nn/kernels -run '^$' -bench Winograd
func BenchmarkWinograd(b *testing.B) {
	for _, l := range convBenchLayers {
		for _, batch := range []int{1, 8} {
			p := l.p
			p.N = batch
			if p.KH != 3 || p.StrideH != 1 || p.Group != 1 {
				continue
			}
			for _, algo := range []string{"implicit", "winograd", "winograd4"} {
				b.Run(fmt.Sprintf("%s/b%d/%s", l.name, batch, algo), func(b *testing.B) {
					switch algo {
					case "implicit":
						old := winoMinC
						winoMinC = 1 << 30
						defer func() { winoMinC = old }()
					case "winograd":
						defer setWinograd(2)()
					default:
						defer setWinograd(4)()
					}
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
}
