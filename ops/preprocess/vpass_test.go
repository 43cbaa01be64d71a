package preprocess

import (
	"math/rand/v2"
	"testing"
)

// TestVpassMatchesGo: the vertical pass gives the Go loop's bytes, for
// widths with and without a tail, taps of both signs and sums that
// saturate at 0 and 255.
func TestVpassMatchesGo(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, width := range []int{1, 7, 8, 9, 24, 672, 673} {
		for _, n := range []int{1, 2, 5, 9} {
			rows := 12
			src := make([]uint8, rows*width)
			for i := range src {
				src[i] = uint8(r.IntN(256))
			}
			offs := make([]int, n)
			k := make([]int32, n)
			for i := range offs {
				offs[i] = r.IntN(rows) * width
				// Up to ±1.5 in fixed point: sums leave 0..255 both ways.
				k[i] = int32(r.IntN(3<<precisionBits)) - 3<<(precisionBits-1)
			}
			got, want := make([]uint8, width), make([]uint8, width)
			vpass(got, src, offs, k)
			vpassGo(want, src, offs, k)
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("width %d, %d taps: [%d] = %d, Go gives %d", width, n, i, got[i], want[i])
				}
			}
		}
	}
}

// TestHpassMatchesGo: the horizontal pass gives the Go loop's bytes,
// windows reaching both ends of the row included (where the assembly must
// not read past the row).
func TestHpassMatchesGo(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, w := range []int{1, 3, 17, 500} {
		for _, ksize := range []int{1, 3, 7} {
			row := make([]uint8, 3*w)
			for i := range row {
				row[i] = uint8(r.IntN(256))
			}
			cw := w + 2
			bounds := make([]int, 2*cw)
			k := make([]int32, cw*ksize)
			for x := range cw {
				n := 1 + r.IntN(min(ksize, w))
				xmin := min(w-n, x*w/cw)
				if x == cw-1 {
					xmin = w - n // the last window ends the row
				}
				bounds[2*x], bounds[2*x+1] = xmin, n
				for i := range n {
					k[x*ksize+i] = int32(r.IntN(3<<precisionBits)) - 3<<(precisionBits-1)
				}
			}
			got, want := make([]uint8, 3*cw+1), make([]uint8, 3*cw+1)
			hpass(got, row, bounds, k, ksize, cw)
			hpassGo(want, row, bounds, k, ksize, cw)
			for i := range 3 * cw {
				if got[i] != want[i] {
					t.Fatalf("width %d, ksize %d: [%d] = %d, Go gives %d", w, ksize, i, got[i], want[i])
				}
			}
		}
	}
}

// BenchmarkResizeWindow: torchvision's preprocessing window (shorter side
// to 256, centre crop 224) of a 600×800 RGB image.
//
//	go test ./ops/preprocess -run '^$' -bench ResizeWindow
func BenchmarkResizeWindow(b *testing.B) {
	const w, h = 800, 600
	r := rand.New(rand.NewPCG(3, 4))
	src := make([]uint8, 3*w*h)
	for i := range src {
		src[i] = uint8(r.IntN(256))
	}
	ow, oh := 341, 256
	for _, simd := range []bool{false, true} {
		name := "go"
		if simd {
			name = "avx2"
		}
		b.Run(name, func(b *testing.B) {
			if simd && !hasAVX2 {
				b.Skip("no AVX2")
			}
			old := hasAVX2
			hasAVX2 = simd
			defer func() { hasAVX2 = old }()
			for b.Loop() {
				ResizeWindow(src, w, h, ow, oh, (ow-224)/2, (oh-224)/2, 224, 224)
			}
		})
	}
}
