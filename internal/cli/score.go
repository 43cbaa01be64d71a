package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/sluice-ml/sluice/engine/dataflow"
	"github.com/sluice-ml/sluice/internal/wsconfig"
	"github.com/sluice-ml/sluice/scenarios/batchscoring"
	"github.com/sluice-ml/sluice/store/datastore"
)

func newScoreCmd(e *env) *cobra.Command {
	var cfg batchscoring.Config
	var errThreshold, failedCount int64
	var failedPercent float64
	var eval bool
	var shard string
	cmd := &cobra.Command{
		Use:   "score --model M.onnx --input DIR|azblob://ACCOUNT/CONTAINER/PREFIX --output OUT",
		Short: "Score every image under a folder or Blob prefix with an image classifier",
		Long: `Scores every image under --input (recursively; hidden files are skipped) with an ONNX image
classifier: read, decode, preprocess, infer in batches of --batch, keep the --topk best labels, and
write one row per image to OUT (Parquet by default: path, label, score, topk_labels, topk_scores,
error; --format text writes the original sample's "path: label" lines).

Images are committed in mini-batches with a ledger, so a rerun after a crash, or on the same
input, scores only what is missing. A file that cannot be scored (truncated, empty, not an image,
too large) becomes a row with its error; the run stops with exit code 1 only when the failures
cross --error-threshold (items; -1 ignores failures) or --allowed-failed-count (mini-batches).`,
		Args: argsRange(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if cfg.Model == "" || cfg.Input == "" || cfg.Output == "" {
				return usagef("score needs --model, --input and --output (see --help)")
			}
			if eval && datastore.IsURI(cfg.Output) {
				return usagef("--eval reads a local output folder")
			}
			if shard != "" {
				if _, err := fmt.Sscanf(shard, "%d/%d", &cfg.Shard, &cfg.Shards); err != nil || cfg.Shards < 1 || cfg.Shard < 0 ||
					cfg.Shard >= cfg.Shards || fmt.Sprintf("%d/%d", cfg.Shard, cfg.Shards) != shard {
					return usagef("--shard %q: want I/N with 0 <= I < N", shard)
				}
			}
			cfg.Thresholds = dataflow.Thresholds{ErrorThreshold: errThreshold, AllowedFailedCount: failedCount, AllowedFailedPercent: failedPercent}
			if path := wsconfig.Find(e.wsFile); path != "" {
				f, err := wsconfig.Load(path)
				if err != nil {
					return usageError{err}
				}
				cfg.Resolver = f.Resolver()
			}
			cfg.Metrics = dataflow.NewMetrics()
			start := time.Now()
			stop := showProgress(ctx, e.stderr, cfg.Metrics)
			res, err := batchscoring.Score(ctx, cfg)
			stop()
			if err != nil {
				if errors.Is(err, batchscoring.ErrConfig) {
					return usageError{err}
				}
				return err
			}
			secs := time.Since(start).Seconds()
			fmt.Fprintf(e.stdout, "scored %d images (%d failed) into %s: %d partitions, %d already committed; %.1f images/s\n",
				res.Items, res.FailedItems, cfg.Output, len(res.Partitions), res.Skipped+res.Elsewhere, float64(res.Stats.ItemsDone)/secs)
			if datastore.IsURI(cfg.Output) {
				fmt.Fprintf(e.stdout, "%d images scored by this run; %d partitions published, %d committed by other runs; output complete: %v\n",
					res.Scored, res.Published, res.Elsewhere, res.Complete)
			}
			if eval {
				if cfg.Format != "" && cfg.Format != "parquet" {
					return usagef("--eval reads Parquet output; drop --format %s", cfg.Format)
				}
				ev, err := batchscoring.Evaluate(ctx, cfg.Output)
				if err != nil {
					return err
				}
				fmt.Fprintln(e.stdout, ev)
				if ev.Labelled > 0 {
					fmt.Fprintf(e.stdout, "accuracy: %.4f\n", ev.Accuracy())
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Model, "model", "", "ONNX image classifier")
	f.StringVar(&cfg.Labels, "labels", "", "label file, one per line in the model's output order (default: class indices)")
	f.StringVar(&cfg.Input, "input", "", "folder, file or azblob:// URI of the images")
	f.StringVar(&cfg.Output, "output", "", "output folder or azblob:// URI (written partition by partition with commit records, shared by every run)")
	f.StringVar(&shard, "shard", "", "I/N: score only shard I (from 0) of N of the input's partitions; N runs with the same --output share the work")
	f.StringVar(&cfg.StateDir, "state-dir", "", "folder for the ledger and staged partitions (default OUT/.sluice, or a cache folder for a URI output)")
	f.IntVar(&cfg.Batch, "batch", 8, "images per model run")
	f.IntVar(&cfg.TopK, "topk", 5, "labels kept per image")
	f.StringVar(&cfg.Preprocess, "preprocess", "torchvision", "torchvision, inception, inception-tf, or a spec such as size=64,mean=0.5:0.5:0.5,std=0.25:0.25:0.25")
	f.StringVar(&cfg.Format, "format", "parquet", "parquet, text (path: label), csv or ipc")
	f.StringVar(&cfg.Softmax, "softmax", "auto", "turn scores into probabilities: auto (unless they already are), on, off")
	f.IntVar(&cfg.MiniBatch, "mini-batch", 64, "images per committed partition")
	f.Int64Var(&errThreshold, "error-threshold", -1, "failed images tolerated (-1: any number)")
	f.Int64Var(&failedCount, "allowed-failed-count", -1, "failed mini-batches tolerated (-1: any number)")
	f.Float64Var(&failedPercent, "allowed-failed-percent", -1, "failed mini-batches tolerated, in percent (-1: any)")
	f.IntVar(&cfg.MaxTries, "max-tries", 3, "tries of a mini-batch that fails as a whole")
	f.IntVar(&cfg.Threads, "threads", 0, "model threads (default: all cores)")
	f.IntVar(&cfg.DecodeWorkers, "decode-workers", 0, "images decoded at once (default: all cores)")
	f.BoolVar(&eval, "eval", false, "afterwards, read the output back and report accuracy, taking each image's folder name as its true label")
	return cmd
}

// showProgress reports a dataflow's progress until the returned function is called: a live bar
// on a terminal, a line every 10 seconds otherwise.
func showProgress(ctx context.Context, w io.Writer, m *dataflow.Metrics) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	var bar *progressbar.ProgressBar
	every := 10 * time.Second
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		bar = progressbar.NewOptions64(-1, progressbar.OptionSetWriter(w), progressbar.OptionSpinnerType(14),
			progressbar.OptionSetElapsedTime(true), progressbar.OptionThrottle(100*time.Millisecond))
		every = 200 * time.Millisecond
	}
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				s := m.Snapshot()
				if bar != nil {
					bar.Describe(s.String())
					bar.Set64(s.ItemsDone)
				} else if s.ItemsDone > 0 {
					fmt.Fprintln(w, time.Now().Format("15:04:05"), s.String())
				}
			}
		}
	}()
	return func() {
		cancel()
		<-done
		if bar != nil {
			bar.Finish()
			fmt.Fprintln(w)
		}
	}
}
