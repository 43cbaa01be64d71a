package kernels

import (
	"math/rand/v2"
	"runtime"
	"testing"
)

// TestPackedConvReusesScratch checks the no-big-buffers-per-call contract:
// once warm, a run allocates far less than the scratch it uses (phase
// planes, packed panels, wide outputs all come from the pool).
func TestPackedConvReusesScratch(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	defer SetThreads(Threads())
	SetThreads(1)
	cases := []ConvParams{
		convCase(1, 32, 56, 56, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActRelu),  // implicit, ~430 KB of planes
		convCase(1, 32, 56, 56, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 32, ActClip), // depthwise
		convCase(1, 64, 28, 28, 64, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActNone),  // pointwise
	}
	for _, p := range cases {
		r := rand.New(rand.NewPCG(1, 1))
		x := randSlice(r, p.N*p.C*p.H*p.W)
		pc, err := PackConvWeights(p, randSlice(r, p.M*p.C/p.Group*9), nil)
		if err != nil {
			t.Fatal(err)
		}
		y := make([]float32, p.N*p.M*p.OH*p.OW)
		pc.Run(1, x, y)
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		const runs = 10
		for range runs {
			pc.Run(1, x, y)
		}
		runtime.ReadMemStats(&m1)
		if per := (m1.TotalAlloc - m0.TotalAlloc) / runs; per > 16<<10 {
			t.Errorf("%s: %d bytes allocated per run, want < 16 KiB", pc.Algorithm(), per)
		}
	}
}
