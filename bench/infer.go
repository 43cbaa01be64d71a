package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/cpu"
	"github.com/sluice-ml/sluice/nn/kernels"
)

// ErrBench reports a benchmark that could not run (bad model, bad input
// shape, a peer that failed).
var ErrBench = errors.New("bench")

// InferResult is the outcome of one throughput measurement. Its JSON form
// is what `sluice bench infer --json` prints and what the peer scripts
// print.
type InferResult struct {
	Runtime    string  `json:"runtime"` // "sluice", "onnxruntime-node", "pytorch"
	Model      string  `json:"model"`
	Batch      int     `json:"batch"`
	Threads    int     `json:"threads"`
	ImagesPerS float64 `json:"images_per_s"`      // batch × runs / timed seconds
	BestPerS   float64 `json:"best_images_per_s"` // from the fastest single run
	// CPUPerS is batch × runs / (process CPU seconds / threads): the rate
	// with every thread on an otherwise idle core. On a shared machine it
	// is steadier than ImagesPerS; runtimes whose idle threads spin (ORT)
	// are undercounted by it.
	CPUPerS float64   `json:"cpu_images_per_s,omitempty"`
	Runs    int       `json:"runs"`
	WarmupS float64   `json:"warmup_s"`
	RunS    []float64 `json:"run_s,omitempty"` // seconds of each timed run
	Note    string    `json:"note,omitempty"`
}

// MeasureRate calls run warmup times, then repeatedly until d has passed
// (at least 3 times), and returns the throughput of batch images per call.
// It stops early with ctx.Err() when ctx is done, and with run's error.
func MeasureRate(ctx context.Context, batch, warmup int, d time.Duration, run func(context.Context) error) (InferResult, error) {
	res := InferResult{Batch: batch}
	t0 := time.Now()
	for range max(warmup, 1) {
		if err := run(ctx); err != nil {
			return res, err
		}
	}
	res.WarmupS = time.Since(t0).Seconds()
	start := time.Now()
	c0 := processCPU()
	for len(res.RunS) < 3 || time.Since(start) < d {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		t := time.Now()
		if err := run(ctx); err != nil {
			return res, err
		}
		res.RunS = append(res.RunS, time.Since(t).Seconds())
	}
	total := time.Since(start).Seconds()
	cpu := processCPU() - c0
	res.Runs = len(res.RunS)
	if cpu > 0 {
		res.CPUPerS = float64(batch*res.Runs) / cpu // × threads by the caller
	}
	res.ImagesPerS = float64(batch*res.Runs) / total
	res.BestPerS = float64(batch) / slices.Min(res.RunS)
	return res, nil
}

// BenchInfer is the in-process measurement behind `sluice bench infer`: it
// opens modelPath on the CPU backend with threads workers (kernels too),
// feeds a random float32 batch of the model's first input (unknown
// dimensions past the batch: size, e.g. 224), warms up with 2 runs and
// times runs for d. The session is closed before it returns.
func BenchInfer(ctx context.Context, modelPath string, batch, threads, size int, d time.Duration) (InferResult, error) {
	kernels.SetThreads(threads)
	s, err := cpu.Open(ctx, modelPath, cpu.Options{Threads: threads})
	if err != nil {
		return InferResult{}, fmt.Errorf("%w: open %s: %w", ErrBench, modelPath, err)
	}
	defer s.Close()
	g := s.Graph()
	if len(g.Inputs) == 0 {
		return InferResult{}, fmt.Errorf("%w: %s has no inputs", ErrBench, modelPath)
	}
	in := g.Inputs[0]
	if in.DType != nn.Float32 || len(in.Shape) == 0 {
		return InferResult{}, fmt.Errorf("%w: %s: input %q is %v %v, want a float32 tensor", ErrBench, modelPath, in.Name, in.DType, in.Shape)
	}
	shape := slices.Clone(in.Shape)
	shape[0] = batch
	for i := 1; i < len(shape); i++ {
		if shape[i] < 0 {
			shape[i] = size
		}
	}
	r := rand.New(rand.NewPCG(1, 1))
	data := make([]float32, nn.NumElements(shape))
	for i := range data {
		data[i] = r.Float32()*2 - 1
	}
	feed := map[string]*nn.Tensor{in.Name: nn.FromFloat32(data, shape...)}
	res, err := MeasureRate(ctx, batch, 2, d, func(ctx context.Context) error {
		_, err := s.Run(ctx, feed)
		return err
	})
	res.Runtime, res.Threads = "sluice", threads
	res.CPUPerS *= float64(threads)
	res.Model = strings.TrimSuffix(filepath.Base(modelPath), ".onnx")
	res.Note = "kernels: " + kernels.Backend()
	if err != nil {
		return res, fmt.Errorf("%w: run %s: %w", ErrBench, modelPath, err)
	}
	return res, nil
}
