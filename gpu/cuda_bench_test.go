//go:build cuda

package gpu

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ml/sluice/internal/testenv"
	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/onnx"
)

// throughput is one row of the GPU throughput report.
type throughput struct {
	Model  string `json:"model"`
	Device string `json:"device"`
	Batch  int    `json:"batch"`
	Height int    `json:"height"`
	Width  int    `json:"width"`
	// ImagesPerS: Session.Run from host tensors to host tensors (upload,
	// forward, download), the rate a pipeline sees.
	ImagesPerS float64 `json:"images_per_s"`
	// ModelOnlyImagesPerS: forward passes over device-resident inputs.
	ModelOnlyImagesPerS float64 `json:"model_only_images_per_s"`
	// Fraction = ImagesPerS / ModelOnlyImagesPerS.
	Fraction float64 `json:"fraction_of_model_only"`
	Runs     int     `json:"runs"`
	// TF32: Options.TF32 (tensor-core GEMM); false is exact float32.
	TF32 bool `json:"tf32"`
}

// TestThroughput measures images/s on the GPU (set SLUICE_GPU_BENCH=1; it
// times, so it never fails on speed). The classifiers run at 224×224 with
// batch 1, 8, 32 and 128 (the fixtures' height and width are made dynamic), and
// TransformerNet at 1280×720 batch 1 and 256×256 batch 8. Rows go to the
// log, and as JSON to $SLUICE_GPU_BENCH_OUT when set.
func TestThroughput(t *testing.T) {
	if os.Getenv("SLUICE_GPU_BENCH") == "" {
		t.Skip("set SLUICE_GPU_BENCH=1 to measure GPU throughput")
	}
	secs := 2.0
	if v := os.Getenv("SLUICE_GPU_BENCH_SECONDS"); v != "" {
		fmt.Sscan(v, &secs)
	}
	type shape struct{ batch, h, w int }
	plans := map[string][]shape{
		"resnet18":       {{1, 224, 224}, {8, 224, 224}, {32, 224, 224}, {128, 224, 224}},
		"mobilenet_v2":   {{1, 224, 224}, {8, 224, 224}, {32, 224, 224}, {128, 224, 224}},
		"squeezenet1_1":  {{1, 224, 224}, {8, 224, 224}, {32, 224, 224}, {128, 224, 224}},
		"transformernet": {{1, 720, 1280}, {8, 256, 256}},
	}
	ctx := context.Background()
	var rows []throughput
	for _, m := range models {
		path := filepath.Join(modelDir(), m+"_op13.onnx")
		if _, err := os.Stat(path); err != nil {
			testenv.Missing(t, "model fixture %s: %v", path, err)
			continue
		}
		for _, tf32 := range []bool{false, true} {
			g, err := onnx.Load(ctx, path, onnx.Options{})
			if err != nil {
				t.Fatal(err)
			}
			// Dynamic height and width: the classifiers end in a global pool.
			in := &g.Inputs[0]
			in.Shape = []int{-1, in.Shape[1], -1, -1}
			s, err := NewSession(ctx, g, Options{TF32: tf32})
			if err != nil {
				t.Fatal(err)
			}
			for _, sh := range plans[m] {
				if tf32 && sh.batch != 32 && m != "transformernet" {
					continue // TF32 rows: batch 32, and TransformerNet's two
				}
				x := randTensor(newRand(uint64(sh.batch)), -2, 2, sh.batch, 3, sh.h, sh.w)
				feeds := map[string]*nn.Tensor{in.Name: x}
				row, err := measure(ctx, s, feeds, secs)
				if err != nil {
					t.Fatalf("%s batch %d %dx%d: %v", m, sh.batch, sh.w, sh.h, err)
				}
				row.Model, row.Device, row.Batch, row.Height, row.Width, row.TF32 = m, s.Device().Name, sh.batch, sh.h, sh.w, tf32
				rows = append(rows, row)
				if os.Getenv("SLUICE_GPU_PROFILE") != "" && (sh.batch == 32 || m == "transformernet") {
					prof, err := s.Profile(ctx, feeds, 3)
					if err != nil {
						t.Fatal(err)
					}
					t.Logf("%s batch %d %dx%d tf32=%v per operator (synchronised after each step): %s", m, sh.batch, sh.w, sh.h, tf32, profLine(prof))
				}
				t.Logf("%-15s batch %3d %4dx%-4d tf32=%-5v %9.1f images/s end-to-end  %9.1f model-only  fraction %.2f  (%d runs)",
					m, sh.batch, sh.w, sh.h, tf32, row.ImagesPerS, row.ModelOnlyImagesPerS, row.Fraction, row.Runs)
			}
			s.Close()
		}
	}
	var sb strings.Builder
	for _, r := range rows {
		b, _ := json.Marshal(r)
		sb.Write(b)
		sb.WriteByte('\n')
	}
	if out := os.Getenv("SLUICE_GPU_BENCH_OUT"); out != "" {
		if err := os.WriteFile(out, []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func profLine(prof map[string]time.Duration) string {
	type kv struct {
		k string
		v time.Duration
	}
	var l []kv
	var total time.Duration
	for k, v := range prof {
		l = append(l, kv{k, v})
		total += v
	}
	sort.Slice(l, func(i, j int) bool { return l[i].v > l[j].v })
	var sb strings.Builder
	fmt.Fprintf(&sb, "total %.2f ms;", float64(total.Microseconds())/1000)
	for _, e := range l {
		fmt.Fprintf(&sb, " %s %.2f ms (%.0f%%),", e.k, float64(e.v.Microseconds())/1000, 100*float64(e.v)/float64(total))
	}
	return strings.TrimSuffix(sb.String(), ",")
}

// measure times Session.Run for about secs seconds after a warm-up, then
// the model-only rate over the same number of passes.
func measure(ctx context.Context, s *Session, feeds map[string]*nn.Tensor, secs float64) (throughput, error) {
	var row throughput
	batch := 0
	for _, t := range feeds {
		batch = t.Shape[0]
	}
	for i := 0; i < 2; i++ {
		if _, err := s.Run(ctx, feeds); err != nil {
			return row, err
		}
	}
	runs := 0
	t0 := time.Now()
	for time.Since(t0).Seconds() < secs || runs < 3 {
		if _, err := s.Run(ctx, feeds); err != nil {
			return row, err
		}
		runs++
	}
	el := time.Since(t0)
	row.Runs = runs
	row.ImagesPerS = float64(runs*batch) / el.Seconds()
	per, err := s.ModelOnly(ctx, feeds, max(runs, 5))
	if err != nil {
		return row, err
	}
	row.ModelOnlyImagesPerS = float64(batch) / per.Seconds()
	row.Fraction = row.ImagesPerS / row.ModelOnlyImagesPerS
	return row, nil
}

// BenchmarkResnet18Batch32 is the go-test form of one row (224×224).
func BenchmarkResnet18Batch32(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(modelDir(), "resnet18_op13.onnx")
	g, err := onnx.Load(ctx, path, onnx.Options{})
	if err != nil {
		testenv.Missing(b, "model fixture %s: %v", path, err)
		return
	}
	in := &g.Inputs[0]
	in.Shape = []int{-1, 3, -1, -1}
	s, err := NewSession(ctx, g, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	feeds := map[string]*nn.Tensor{in.Name: randTensor(newRand(1), -2, 2, 32, 3, 224, 224)}
	if _, err := s.Run(ctx, feeds); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Run(ctx, feeds); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(32*b.N)/b.Elapsed().Seconds(), "images/s")
}
