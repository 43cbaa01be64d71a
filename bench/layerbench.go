package bench

import (
	"fmt"
	"io"
	"math/rand/v2"
	"text/tabwriter"
	"time"

	"github.com/sluice-ml/sluice/nn/kernels"
)

// PeakGFLOPs is the fp32 peak of the reference machine (2 Zen 4 cores at
// ~3.6 GHz, 2×256-bit FMA per cycle): 2 × 32 flop/cycle × 3.6 GHz ≈ 233.
// Per-layer tables divide by it scaled to the thread count used.
const PeakGFLOPs = 233.0

// LayerResult is the measured speed of one convolution layer.
type LayerResult struct {
	Layer     Layer
	Algorithm string  // on the pure-Go backend
	BLASAlgo  string  // on OpenBLAS ("" when not loaded)
	GFLOP     float64 // work per run
	// Best seconds per run for each backend; 0 when not measured.
	GoSec, BLASSec, GemmSec float64
	// Mean CPU seconds per run (all threads) for each backend: on a busy
	// machine, GFLOP/(CPU/threads) estimates the uncontended speed.
	GoCPU, BLASCPU float64
}

// GFLOPs returns work/seconds, or 0 when sec is 0.
func (r LayerResult) GFLOPs(sec float64) float64 {
	if sec == 0 {
		return 0
	}
	return r.GFLOP / sec
}

// timeBest runs f until minTime has passed (at least 3 times) after one
// warm-up call and returns the fastest run in seconds and the mean process
// CPU seconds per run.
func timeBest(minTime time.Duration, f func()) (best, cpu float64) {
	f()
	start := time.Now()
	c0 := processCPU()
	i := 0
	for ; i < 3 || time.Since(start) < minTime; i++ {
		t0 := time.Now()
		f()
		d := time.Since(t0).Seconds()
		if best == 0 || d < best {
			best = d
		}
	}
	return best, (processCPU() - c0) / float64(i)
}

// MeasureLayers times every convolution of model at the given batch with
// the current kernels.Threads(): the packed convolution on the pure-Go
// backend and (when loaded) on OpenBLAS, and, as a ceiling, the OpenBLAS
// GEMMs the layer amounts to without im2col. The backends alternate
// within each layer, so machine noise hits them alike; each figure is the
// best of its runs.
func MeasureLayers(model string, batch int, minTime time.Duration) ([]LayerResult, error) {
	layers, err := ModelLayers(model, batch)
	if err != nil {
		return nil, err
	}
	defer kernels.UsePureGo(kernels.UsePureGo(false))
	defer kernels.UseOpenBLASForConv(kernels.UseOpenBLASForConv(true))
	r := rand.New(rand.NewPCG(1, 2))
	var out []LayerResult
	for _, l := range layers {
		p := l.P
		x := randVec(r, p.N*p.C*p.H*p.W)
		w := randVec(r, p.M*p.C/p.Group*p.KH*p.KW)
		bias := randVec(r, p.M)
		y := make([]float32, p.N*p.M*p.OH*p.OW)
		pc, err := kernels.PackConvWeights(p, w, bias)
		if err != nil {
			return nil, fmt.Errorf("bench: layer %s: %w", l.Name, err)
		}
		kernels.UsePureGo(true)
		res := LayerResult{Layer: l, Algorithm: pc.Algorithm(), GFLOP: p.FLOPs() / 1e9}
		if kernels.OpenBLASLoaded() {
			kernels.UsePureGo(false)
			res.BLASAlgo = pc.Algorithm()
		}
		run := func() { pc.Run(p.N, x, y) }
		for range 2 {
			kernels.UsePureGo(true)
			t, c := timeBest(minTime/4, run)
			res.GoSec, res.GoCPU = minPos(res.GoSec, t), minPos(res.GoCPU, c)
			if kernels.OpenBLASLoaded() {
				kernels.UsePureGo(false)
				t, c := timeBest(minTime/4, run)
				res.BLASSec, res.BLASCPU = minPos(res.BLASSec, t), minPos(res.BLASCPU, c)
			}
		}
		if kernels.OpenBLASLoaded() && res.Algorithm != "depthwise" {
			// The GEMM alone: batch*group products of mg×(OH*OW)×(cg*KH*KW),
			// spread over the workers like the convolution.
			mg, ohw, kd := p.M/p.Group, p.OH*p.OW, p.C/p.Group*p.KH*p.KW
			bm := randVec(r, kd*ohw)
			kernels.UsePureGo(false)
			res.GemmSec, _ = timeBest(minTime/2, func() {
				parallelImages(p.N*p.Group, func(i int) {
					g := i % p.Group
					kernels.SgemmSerial(false, false, mg, ohw, kd, 1, w[g*mg*kd:], kd, bm, ohw, 0, y[i*mg*ohw:], ohw)
				})
			})
		}
		out = append(out, res)
	}
	return out, nil
}

func minPos(a, b float64) float64 {
	if a == 0 || b < a {
		return b
	}
	return a
}

func randVec(r *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = r.Float32()*2 - 1
	}
	return v
}

// WriteLayerTable prints results as a table with totals: per layer the
// GFLOP/s of each backend, the share of peak (for threads threads) and the
// ratio to the bare OpenBLAS GEMM of the same shape.
func WriteLayerTable(w io.Writer, model string, threads int, rs []LayerResult) {
	peak := PeakGFLOPs * float64(threads) / 2
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "layer\tgo algo\tblas algo\tMFLOP\tgo ms\tgo GF/s\tgo cpuGF/s\tblas ms\tblas GF/s\tblas cpuGF/s\tgemm GF/s\tbest %%peak\tbest/gemm\t\n")
	var tf, tg, tb, tbest, tgc, tbc float64
	cpuRate := func(gf, cpu float64) float64 {
		if cpu == 0 {
			return 0
		}
		return gf / (cpu / float64(threads))
	}
	for _, r := range rs {
		best := r.GoSec
		if r.BLASSec > 0 && r.BLASSec < best {
			best = r.BLASSec
		}
		ratio := "-"
		if r.GemmSec > 0 {
			ratio = fmt.Sprintf("%.2f", r.GFLOPs(best)/r.GFLOPs(r.GemmSec))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.0f\t%.3f\t%.1f\t%.1f\t%.3f\t%.1f\t%.1f\t%.1f\t%.0f%%\t%s\t\n", r.Layer.Name, r.Algorithm, r.BLASAlgo, r.GFLOP*1e3,
			r.GoSec*1e3, r.GFLOPs(r.GoSec), cpuRate(r.GFLOP, r.GoCPU), r.BLASSec*1e3, r.GFLOPs(r.BLASSec), cpuRate(r.GFLOP, r.BLASCPU),
			r.GFLOPs(r.GemmSec), 100*r.GFLOPs(best)/peak, ratio)
		tf += r.GFLOP
		tg += r.GoSec
		tb += r.BLASSec
		tbest += best
		tgc += r.GoCPU
		tbc += r.BLASCPU
	}
	fmt.Fprintf(tw, "TOTAL %s\t\t\t%.0f\t%.2f\t%.1f\t%.1f\t%.2f\t%.1f\t%.1f\t\t%.0f%%\t\t\n", model, tf*1e3, tg*1e3, tf/tg, cpuRate(tf, tgc),
		tb*1e3, tf/max(tb, 1e-12), cpuRate(tf, tbc), 100*tf/tbest/peak)
	tw.Flush()
	n := rs[0].Layer.P.N
	fmt.Fprintf(w, "conv-only bound at batch %d: go %.1f img/s (CPU-time estimate %.1f), openblas %.1f img/s (%.1f), best-per-layer %.1f img/s\n\n",
		n, float64(n)/tg, float64(n)*float64(threads)/max(tgc, 1e-12), float64(n)/max(tb, 1e-12), float64(n)*float64(threads)/max(tbc, 1e-12), float64(n)/tbest)
}
