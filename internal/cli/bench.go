package cli

import (
	"encoding/json"
	"fmt"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-ml/sluice/bench"
)

// newBenchCmd is `sluice bench`, with `sluice bench infer` (DESIGN.md §5):
// in-process inference throughput of one model.
func newBenchCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Benchmarks (infer: model throughput)",
		Args:  argsRange(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usagef("bench needs a subcommand: infer (see --help)")
		},
	}
	var model string
	var batch, threads, size int
	var seconds float64
	var asJSON bool
	infer := &cobra.Command{
		Use:   "infer --model M.onnx [--batch 8] [--threads N] [--seconds S] [--json]",
		Short: "Measure a model's inference throughput (images/s) on the CPU",
		Long: `Opens the model on Sluice's CPU backend, feeds a random float32 batch of its
first input (dynamic dimensions past the batch take --size), runs 2 warm-up
batches, then times runs for --seconds (at least 3) and prints images/s. With
--json it prints one JSON object with images_per_s, batch, threads, model and the
per-run times.`,
		Args: argsRange(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if model == "" {
				return usagef("bench infer needs --model M.onnx")
			}
			if batch < 1 || threads < 1 || size < 1 || !(seconds >= 0) {
				return usagef("bench infer: --batch, --threads and --size must be at least 1 and --seconds not negative")
			}
			if err := checkFile(model, "model"); err != nil {
				return err
			}
			res, err := bench.BenchInfer(cmd.Context(), model, batch, threads, size, time.Duration(seconds*float64(time.Second)))
			if err != nil {
				if badInput(err) {
					return usageError{err}
				}
				return err
			}
			if asJSON {
				return json.NewEncoder(e.stdout).Encode(res)
			}
			fmt.Fprintf(e.stdout, "%s: %.1f images/s (batch %d, %d threads, %d runs; best run %.1f images/s; %s)\n",
				res.Model, res.ImagesPerS, res.Batch, res.Threads, res.Runs, res.BestPerS, res.Note)
			return nil
		},
	}
	f := infer.Flags()
	f.StringVar(&model, "model", "", "ONNX model file")
	f.IntVar(&batch, "batch", 8, "images per run")
	f.IntVar(&threads, "threads", runtime.NumCPU(), "worker threads")
	f.Float64Var(&seconds, "seconds", 5, "seconds of timed runs after the warm-up")
	f.IntVar(&size, "size", 224, "size of dynamic dimensions past the batch (e.g. image height and width)")
	f.BoolVar(&asJSON, "json", false, "print one JSON object")
	cmd.AddCommand(infer)
	return cmd
}
