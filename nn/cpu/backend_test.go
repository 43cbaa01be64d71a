package cpu

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestReferenceSgemmAgrees keeps the reference GEMM (the one-line fallback
// of backend.go) honest against the nn/kernels one in use.
func TestReferenceSgemmAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, tc := range []struct {
		tA, tB  bool
		m, n, k int
	}{
		{false, false, 7, 19, 5}, {true, false, 16, 3, 33}, {false, true, 1, 40, 9}, {true, true, 12, 12, 12},
	} {
		t.Run(fmt.Sprint(tc), func(t *testing.T) {
			a := make([]float32, tc.m*tc.k)
			b := make([]float32, tc.k*tc.n)
			for i := range a {
				a[i] = r.Float32() - 0.5
			}
			for i := range b {
				b[i] = r.Float32() - 0.5
			}
			lda, ldb := tc.k, tc.n
			if tc.tA {
				lda = tc.m
			}
			if tc.tB {
				ldb = tc.k
			}
			c1 := make([]float32, tc.m*tc.n)
			c2 := make([]float32, tc.m*tc.n)
			for i := range c1 {
				c1[i] = r.Float32()
				c2[i] = c1[i]
			}
			refSgemm(2, tc.tA, tc.tB, tc.m, tc.n, tc.k, 0.5, a, lda, b, ldb, 2, c1, tc.n)
			sgemm(2, tc.tA, tc.tB, tc.m, tc.n, tc.k, 0.5, a, lda, b, ldb, 2, c2, tc.n)
			for i := range c1 {
				if d := c1[i] - c2[i]; d > 1e-4 || d < -1e-4 {
					t.Fatalf("element %d: reference %v, kernels %v", i, c1[i], c2[i])
				}
			}
		})
	}
}
