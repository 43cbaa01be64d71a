package bench

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkInfer runs BenchInfer on the harness's models when they exist
// (generate with /usr/bin/python3 bench/gen_models.py), batch 8, 2 threads.
func BenchmarkInfer(b *testing.B) {
	for _, m := range Models {
		b.Run(m, func(b *testing.B) {
			path := filepath.Join("models", m+"_op13.onnx")
			if _, err := os.Stat(path); err != nil {
				b.Skip("model not generated")
			}
			var last InferResult
			for b.Loop() {
				r, err := BenchInfer(context.Background(), path, 8, 2, 224, 2*time.Second)
				if err != nil {
					b.Fatal(err)
				}
				last = r
			}
			b.ReportMetric(last.ImagesPerS, "img/s")
		})
	}
}
