package kernels

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/sluice-ml/sluice/internal/testenv"
)

// withBackends runs f once per GEMM backend available in this build: the
// pure-Go path (always), and OpenBLAS when it was loaded.
func withBackends(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	for _, name := range []string{"go", "blas"} {
		t.Run(name, func(t *testing.T) {
			if name == "blas" && forceGo.Load() {
				t.Skip("the caller pinned the pure-Go GEMM")
			}
			if name == "blas" && !OpenBLASLoaded() {
				testenv.Missing(t, "OpenBLAS not loaded (apt-get install libopenblas0-pthread)")
			}
			restore := forceGoGemm(name == "go")
			defer restore()
			defer UseOpenBLASForConv(UseOpenBLASForConv(name == "blas"))
			f(t)
		})
	}
}

func TestSgemmMatchesReference(t *testing.T) {
	sizes := [][3]int{{1, 1, 1}, {1, 17, 3}, {6, 16, 1}, {7, 17, 5}, {13, 33, 29}, {5, 3, 300}, {64, 49, 96}, {37, 70, 513}, {2, 1, 0}}
	big := [][3]int{{150, 700, 270}, {530, 40, 300}} // past the MC / KC blocking
	if !testing.Short() && !raceEnabled {
		sizes = append(sizes, big...)
	}
	withBackends(t, func(t *testing.T) {
		for _, s := range sizes {
			for _, tr := range [][2]bool{{false, false}, {true, false}, {false, true}, {true, true}} {
				for _, ab := range [][2]float32{{1, 0}, {0.5, 1}, {-2, 0.25}} {
					m, n, k := s[0], s[1], s[2]
					if m*n*k > 1e6 && (tr != [2]bool{} || ab[1] != 0) {
						continue // big sizes: one combination is enough
					}
					name := fmt.Sprintf("%dx%dx%d/tA=%v/tB=%v/alpha=%v/beta=%v", m, n, k, tr[0], tr[1], ab[0], ab[1])
					r := rand.New(rand.NewPCG(uint64(m*1000+n), uint64(k)))
					lda, ldb, ldc := k+3, n+1, n+2
					if tr[0] {
						lda = m + 2
					}
					if tr[1] {
						ldb = k + 5
					}
					ar, br := m, k
					if tr[0] {
						ar = k
					}
					if tr[1] {
						br = n
					}
					a := randSlice(r, ar*lda)
					b := randSlice(r, br*ldb)
					c := randSlice(r, m*ldc)
					if ab[1] == 0 {
						for i := range c {
							c[i] = float32(math.NaN()) // beta==0 must overwrite
						}
					}
					want := append([]float32(nil), c...)
					refGemm(tr[0], tr[1], m, n, k, ab[0], a, lda, b, ldb, ab[1], want, ldc)
					Sgemm(tr[0], tr[1], m, n, k, ab[0], a, lda, b, ldb, ab[1], c, ldc)
					// Padding columns between rows must be left alone.
					for i := range m {
						for j := n; j < ldc && i*ldc+j < len(c); j++ {
							if c[i*ldc+j] != want[i*ldc+j] && !(math.IsNaN(float64(c[i*ldc+j])) && math.IsNaN(float64(want[i*ldc+j]))) {
								t.Fatalf("%s: wrote outside C at (%d,%d)", name, i, j)
							}
						}
					}
					gotV, wantV := dense(c, m, n, ldc), dense(want, m, n, ldc)
					t.Run(name, func(t *testing.T) { assertClose(t, gotV, wantV, 1e-5*math.Sqrt(float64(k+1))) })
				}
			}
		}
	})
}

func dense(c []float32, m, n, ldc int) []float32 {
	out := make([]float32, 0, m*n)
	for i := range m {
		out = append(out, c[i*ldc:i*ldc+n]...)
	}
	return out
}

func TestSgemmThreadsAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	m, n, k := 70, 300, 130
	a, b := randSlice(r, m*k), randSlice(r, k*n)
	want := make([]float32, m*n)
	refGemm(false, false, m, n, k, 1, a, k, b, n, 0, want, n)
	defer SetThreads(Threads())
	for _, th := range []int{1, 2, 3, 7} {
		SetThreads(th)
		c := make([]float32, m*n)
		Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, c, n)
		assertClose(t, c, want, 1e-4)
		// tall: split over rows
		ct := make([]float32, n*m)
		wantT := make([]float32, n*m)
		refGemm(true, true, n, m, k, 1, b, n, a, k, 0, wantT, m)
		Sgemm(true, true, n, m, k, 1, b, n, a, k, 0, ct, m)
		assertClose(t, ct, wantT, 1e-4)
		// A per-call count is used regardless of the global one.
		SetThreads(1)
		c2 := make([]float32, m*n)
		SgemmThreads(th, false, false, m, n, k, 1, a, k, b, n, 0, c2, n)
		assertClose(t, c2, want, 1e-4)
	}
}

func TestSgemmRejectsBadShapes(t *testing.T) {
	cases := []struct {
		name          string
		m, n, k       int
		la, lb, lc    int
		lda, ldb, ldc int
	}{
		{"negative", -1, 2, 2, 4, 4, 4, 2, 2, 2},
		{"short A", 2, 2, 2, 3, 4, 4, 2, 2, 2},
		{"short C", 2, 2, 2, 4, 4, 3, 2, 2, 2},
		{"small ldb", 2, 3, 2, 4, 6, 6, 2, 2, 3},
		{"huge stride", 1, 1, 1, 1, 1, 1, 1 << 32, 1, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b, cc := make([]float32, c.la), make([]float32, c.lb), make([]float32, c.lc)
			err := CheckSgemm(false, false, c.m, c.n, c.k, a, c.lda, b, c.ldb, cc, c.ldc)
			if !errors.Is(err, ErrShape) {
				t.Fatalf("CheckSgemm = %v, want ErrShape", err)
			}
			defer func() {
				r := recover()
				if e, ok := r.(error); !ok || !errors.Is(e, ErrShape) {
					t.Fatalf("Sgemm panic = %v, want ErrShape", r)
				}
			}()
			Sgemm(false, false, c.m, c.n, c.k, 1, a, c.lda, b, c.ldb, 0, cc, c.ldc)
		})
	}
}

// TestPortableKernels runs the pure-Go micro-kernel and packing (used where
// AVX2/FMA is missing) against the reference.
func TestPortableKernels(t *testing.T) {
	if !hasAVX2FMA {
		t.Skip("portable kernels are the default here; covered by the other tests")
	}
	defer forceGoGemm(true)()
	hasAVX2FMA = false
	defer func() { hasAVX2FMA = true }()
	r := rand.New(rand.NewPCG(5, 6))
	for _, s := range [][3]int{{7, 33, 19}, {12, 16, 300}, {1, 5, 2}} {
		m, n, k := s[0], s[1], s[2]
		a, b := randSlice(r, m*k), randSlice(r, k*n)
		want, got := make([]float32, m*n), make([]float32, m*n)
		refGemm(false, false, m, n, k, 1.5, a, k, b, n, 0, want, n)
		Sgemm(false, false, m, n, k, 1.5, a, k, b, n, 0, got, n)
		assertClose(t, got, want, 1e-5*math.Sqrt(float64(k)))
	}
	p := convCase(2, 5, 11, 13, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActRelu)
	x, w := randSlice(r, p.N*p.C*p.H*p.W), randSlice(r, p.M*p.C*9)
	want, got := make([]float32, p.N*p.M*p.OH*p.OW), make([]float32, p.N*p.M*p.OH*p.OW)
	refConv(p, x, w, nil, want)
	Conv2D(p, x, w, nil, got)
	assertClose(t, got, want, 1e-4)
	dw := convCase(1, 4, 10, 11, 4, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 4, ActClip)
	dw.Alpha, dw.Beta = 0, 0.5
	x, w = randSlice(r, dw.C*dw.H*dw.W), randSlice(r, dw.M*9)
	want, got = make([]float32, dw.M*dw.OH*dw.OW), make([]float32, dw.M*dw.OH*dw.OW)
	refConv(dw, x, w, nil, want)
	Conv2D(dw, x, w, nil, got)
	assertClose(t, got, want, 1e-5)
}
