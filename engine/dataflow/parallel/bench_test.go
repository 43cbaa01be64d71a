package parallel_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluice-ml/sluice/engine/dataflow"
	"github.com/sluice-ml/sluice/engine/dataflow/parallel"
	"github.com/sluice-ml/sluice/ops/writers"
)

// BenchmarkMiniBatchOverhead measures what a parallel run costs per mini-batch beyond the
// command's own work: the command is `/bin/sh` answering "ok" per listed item with one sed,
// so the figure is mostly a process start (fork/exec of sh and sed), the listing file, the
// result parsing and the atomic commit (text writer, fsync, rename; no ledger). Reported as
// µs per mini-batch and items/s; 2 workers.
func BenchmarkMiniBatchOverhead(b *testing.B) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		b.Skip("no /bin/sh")
	}
	for _, size := range []int{10, 100} {
		b.Run(fmt.Sprintf("mini_batch_size=%d", size), func(b *testing.B) {
			const batches = 40
			its := items(size * batches)
			dir := b.TempDir()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				out := filepath.Join(dir, fmt.Sprint(i))
				_, err := parallel.Run(context.Background(), parallel.Config{
					Items: its, MiniBatchSize: size, Workers: 2,
					Command:   parallel.Command{Path: "/bin/sh", Args: []string{"-c", `sed 's/.*/ok/' "$1"`, "sh"}, TempDir: dir},
					OutputDir: out, Writer: writers.Text{},
					Options: dataflow.Options{Logger: quiet, Thresholds: dataflow.IgnoreFailures},
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			sec := b.Elapsed().Seconds()
			b.ReportMetric(sec*1e6/float64(b.N*batches), "µs/minibatch")
			b.ReportMetric(float64(b.N*batches*size)/sec, "items/s")
		})
	}
}
