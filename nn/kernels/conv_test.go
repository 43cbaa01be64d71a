package kernels

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// convCase builds ConvParams with OH/OW derived from the rest.
func convCase(n, c, h, w, m, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, g int, act Activation) ConvParams {
	p := ConvParams{N: n, C: c, H: h, W: w, M: m, KH: kh, KW: kw, StrideH: sh, StrideW: sw,
		PadTop: pt, PadLeft: pl, PadBottom: pb, PadRight: pr, DilH: dh, DilW: dw, Group: g, Act: act}
	p.OH = (h+pt+pb-dh*(kh-1)-1)/sh + 1
	p.OW = (w+pl+pr-dw*(kw-1)-1)/sw + 1
	switch act {
	case ActClip:
		p.Alpha, p.Beta = 0, 0.5
	case ActLeakyRelu:
		p.Alpha = 0.1
	case ActHardSigmoid:
		p.Alpha, p.Beta = 0.2, 0.5
	}
	return p
}

func convCases() []ConvParams {
	cs := []ConvParams{
		// pointwise
		convCase(2, 8, 5, 7, 6, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActNone),
		convCase(1, 13, 9, 9, 17, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActRelu),
		convCase(3, 12, 4, 4, 12, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 3, ActClip), // grouped 1x1
		// 1x1 strided / padded -> im2col
		convCase(2, 8, 9, 9, 16, 1, 1, 2, 2, 0, 0, 0, 0, 1, 1, 1, ActNone),
		convCase(1, 3, 5, 5, 4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActNone),
		// 3x3 classic
		convCase(2, 5, 11, 13, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActRelu),
		convCase(1, 4, 12, 12, 9, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, ActLeakyRelu),
		convCase(1, 3, 15, 15, 8, 7, 7, 2, 2, 3, 3, 3, 3, 1, 1, 1, ActNone), // resnet stem-like
		convCase(1, 6, 10, 8, 4, 3, 2, 1, 3, 0, 2, 1, 0, 1, 1, 2, ActNone),  // asymmetric everything, groups
		convCase(2, 4, 13, 11, 6, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 1, ActSigmoid),
		convCase(1, 4, 9, 9, 4, 3, 3, 2, 1, 3, 0, 1, 2, 3, 2, 2, ActTanh),
		convCase(1, 2, 4, 4, 3, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActHardSwish), // kernel larger than input after pad 0: 0 out? -> adjusted below
		convCase(1, 3, 6, 5, 3, 2, 2, 3, 2, 0, 1, 2, 0, 1, 1, 1, ActHardSigmoid),
		// 3x3 stride 1 (Winograd when C is large enough): odd sizes, asymmetric pads
		convCase(1, 3, 7, 6, 5, 3, 3, 1, 1, 0, 2, 1, 0, 1, 1, 1, ActNone),
		convCase(2, 4, 5, 9, 13, 3, 3, 1, 1, 2, 1, 0, 2, 1, 1, 1, ActClip),
		convCase(1, 2, 3, 3, 2, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActSigmoid),
		// depthwise
		convCase(2, 8, 9, 9, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 8, ActClip),
		convCase(1, 6, 10, 11, 6, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 6, ActRelu),
		convCase(1, 5, 17, 19, 5, 3, 3, 1, 1, 0, 0, 0, 0, 1, 1, 5, ActNone),
		convCase(1, 4, 12, 37, 4, 3, 3, 2, 2, 0, 1, 1, 0, 1, 1, 4, ActNone),
		convCase(1, 3, 9, 9, 6, 3, 3, 1, 1, 2, 2, 2, 2, 2, 2, 3, ActNone), // multiplier 2, dilation
		convCase(2, 4, 8, 8, 4, 5, 5, 2, 1, 2, 2, 2, 2, 1, 1, 4, ActLeakyRelu),
		convCase(1, 3, 33, 40, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3, ActClip),
		convCase(1, 3, 33, 41, 3, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 3, ActNone),
		convCase(1, 2, 7, 70, 2, 3, 3, 2, 2, 0, 0, 1, 1, 1, 1, 2, ActRelu),
		convCase(2, 4, 6, 50, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 4, ActLeakyRelu), // direct 3×3: blocks and overlapping tail
		convCase(1, 3, 5, 58, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 3, ActRelu),      // direct 3×3: blocks exact
		convCase(1, 2, 1, 48, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, ActClip),      // direct 3×3: one row
	}
	cs[11] = convCase(1, 2, 6, 6, 3, 5, 5, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActHardSwish)
	if !testing.Short() && !raceEnabled {
		cs = append(cs,
			convCase(2, 64, 28, 28, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActRelu),
			convCase(1, 32, 30, 30, 48, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, ActNone),
			convCase(3, 32, 56, 56, 32, 3, 3, 2, 2, 0, 0, 1, 1, 1, 1, 32, ActClip),
		)
	}
	return cs
}

func TestConv2DMatchesReference(t *testing.T) { testConvCases(t, nil) }

// TestWinogradMatchesReference routes every 3×3 stride-1 case to Winograd,
// small channel counts included, once with F(2×2, 3×3) tiles and once
// with F(4×4, 3×3).
func TestWinogradMatchesReference(t *testing.T) {
	for _, tile := range []int{2, 4} {
		t.Run(fmt.Sprintf("F%dx%d", tile, tile), func(t *testing.T) {
			defer setWinograd(tile)()
			n := 0
			for _, p := range convCases() {
				if winoOK(p.normalized()) {
					n++
				}
			}
			if n < 3 {
				t.Fatalf("only %d Winograd-eligible cases", n)
			}
			defer forceGoGemm(true)()
			testConvCases(t, func(p ConvParams) bool { return winoOK(p.normalized()) })
		})
	}
}

// setWinograd routes every eligible convolution to Winograd with the given
// output tile (2 or 4) and returns the function that restores the
// defaults.
func setWinograd(tile int) func() {
	oldC, oldW, oldT := winoMinC, wino43MinW, winoMinTiles
	winoMinC, winoMinTiles = 1, 0
	wino43MinW = 1 << 30
	if tile == 4 {
		wino43MinW = 1
	}
	return func() { winoMinC, wino43MinW, winoMinTiles = oldC, oldW, oldT }
}

// testConvCases checks every case of convCases (those keep accepts, when
// keep is not nil) on every backend against the reference.
func testConvCases(t *testing.T, keep func(ConvParams) bool) {
	withBackends(t, func(t *testing.T) {
		for i, p := range convCases() {
			if keep != nil && !keep(p) {
				continue
			}
			for _, withBias := range []bool{true, false} {
				p := p
				if p.Act == ActClip {
					p.Alpha, p.Beta = -0.2, 0.5
				}
				name := fmt.Sprintf("%d/%dx%dx%dx%d-M%d-k%dx%d-s%dx%d-p%d%d%d%d-d%dx%d-g%d-%v/bias=%v", i,
					p.N, p.C, p.H, p.W, p.M, p.KH, p.KW, p.StrideH, p.StrideW, p.PadTop, p.PadLeft, p.PadBottom, p.PadRight,
					p.DilH, p.DilW, p.Group, p.Act, withBias)
				t.Run(name, func(t *testing.T) {
					if err := p.Validate(); err != nil {
						t.Fatal(err)
					}
					r := rand.New(rand.NewPCG(uint64(i), 7))
					x := randSlice(r, p.N*p.C*p.H*p.W)
					w := randSlice(r, p.M*(p.C/p.Group)*p.KH*p.KW)
					var bias []float32
					if withBias {
						bias = randSlice(r, p.M)
					}
					want := make([]float32, p.N*p.M*p.OH*p.OW)
					refConv(p, x, w, bias, want)
					got := make([]float32, len(want))
					for i := range got {
						got[i] = float32(math.NaN())
					}
					Conv2D(p, x, w, bias, got)
					assertClose(t, got, want, 1e-5*math.Sqrt(float64(p.C*p.KH*p.KW)))
					// The packed form gives the same, with batch sizes other than p.N.
					pc, err := PackConvWeights(p, w, bias)
					if err != nil {
						t.Fatal(err)
					}
					got2 := make([]float32, len(want))
					pc.Run(p.N, x, got2)
					assertClose(t, got2, want, 1e-5*math.Sqrt(float64(p.C*p.KH*p.KW)))
					// Residual form: act(conv + bias + skip), skip separate and aliased to y.
					pn := p
					pn.Act = ActNone
					wantR := make([]float32, len(want))
					refConv(pn, x, w, bias, wantR)
					skip := randSlice(r, len(want))
					for i := range wantR {
						wantR[i] = float32(refAct(float64(wantR[i])+float64(skip[i]), p.Act, p.Alpha, p.Beta))
					}
					gotR := make([]float32, len(want))
					pc.RunResidual(p.N, 0, x, skip, gotR)
					assertClose(t, gotR, wantR, 1e-5*math.Sqrt(float64(p.C*p.KH*p.KW)))
					inPlace := append([]float32(nil), skip...)
					pc.RunResidual(p.N, 0, x, inPlace, inPlace)
					assertClose(t, inPlace, wantR, 1e-5*math.Sqrt(float64(p.C*p.KH*p.KW)))
					if p.N > 1 {
						one := p.M * p.OH * p.OW
						got1 := make([]float32, one)
						pc.Run(1, x[(p.N-1)*p.C*p.H*p.W:], got1)
						assertClose(t, got1, want[(p.N-1)*one:], 1e-5*math.Sqrt(float64(p.C*p.KH*p.KW)))
					}
				})
			}
		}
	})
}

func TestConv2DThreadCounts(t *testing.T) {
	defer SetThreads(Threads())
	p := convCase(1, 6, 23, 29, 10, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, ActRelu)
	r := rand.New(rand.NewPCG(3, 4))
	x, w, bias := randSlice(r, p.C*p.H*p.W), randSlice(r, p.M*p.C*9), randSlice(r, p.M)
	want := make([]float32, p.M*p.OH*p.OW)
	refConv(p, x, w, bias, want)
	pc, err := PackConvWeights(p, w, bias)
	if err != nil {
		t.Fatal(err)
	}
	for _, th := range []int{1, 2, 3, 8} {
		SetThreads(th)
		got := make([]float32, len(want))
		Conv2D(p, x, w, bias, got)
		assertClose(t, got, want, 1e-4)
		SetThreads(1)
		got2 := make([]float32, len(want))
		pc.RunThreads(1, th, x, got2) // per-call count overrides the global one
		assertClose(t, got2, want, 1e-4)
	}
}

func TestConvValidate(t *testing.T) {
	good := convCase(1, 4, 8, 8, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 2, ActNone)
	bad := map[string]func(p *ConvParams){
		"zero channels":   func(p *ConvParams) { p.C = 0 },
		"group divides C": func(p *ConvParams) { p.Group = 3 },
		"wrong OH":        func(p *ConvParams) { p.OH++ },
		"wrong OW":        func(p *ConvParams) { p.OW = 1 },
		"negative pad":    func(p *ConvParams) { p.PadLeft = -1 },
		"activation":      func(p *ConvParams) { p.Act = 99 },
	}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid params rejected: %v", err)
	}
	for name, f := range bad {
		t.Run(name, func(t *testing.T) {
			p := good
			f(&p)
			if err := p.Validate(); !errors.Is(err, ErrShape) {
				t.Fatalf("Validate = %v, want ErrShape", err)
			}
			if _, err := PackConvWeights(p, make([]float32, 1000), nil); !errors.Is(err, ErrShape) {
				t.Fatalf("PackConvWeights = %v, want ErrShape", err)
			}
		})
	}
	// Short buffers.
	x := make([]float32, 4*8*8-1)
	if err := CheckConv2D(good, x, make([]float32, 4*2*9), nil, make([]float32, 4*64)); !errors.Is(err, ErrShape) {
		t.Fatalf("CheckConv2D short x = %v", err)
	}
	defer func() {
		if r, ok := recover().(error); !ok || !errors.Is(r, ErrShape) {
			t.Fatalf("Conv2D short x panic = %v", r)
		}
	}()
	Conv2D(good, x, make([]float32, 4*2*9), nil, make([]float32, 4*64))
}
