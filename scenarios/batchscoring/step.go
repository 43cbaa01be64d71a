package batchscoring

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"time"

	"github.com/sluice-ml/sluice/engine/compute"
	"github.com/sluice-ml/sluice/engine/dataflow"
	"github.com/sluice-ml/sluice/engine/dataflow/jobs"
	"github.com/sluice-ml/sluice/engine/spec"
	"github.com/sluice-ml/sluice/store/datastore"
)

func init() {
	spec.RegisterJobType("score", map[string]spec.Type{
		"model":                  spec.TypeURIFile,
		"labels":                 spec.TypeURIFile,
		"batch_size":             spec.TypeInteger,
		"topk":                   spec.TypeInteger,
		"preprocess":             spec.TypeString,
		"format":                 spec.TypeString,
		"softmax":                spec.TypeString,
		"mini_batch_size":        spec.TypeInteger,
		"error_threshold":        spec.TypeInteger,
		"allowed_failed_count":   spec.TypeInteger,
		"allowed_failed_percent": spec.TypeNumber,
		"run_max_try":            spec.TypeInteger,
		// shards: on databricks:/hdinsight: compute, the number of Spark tasks the partitions are
		// split into (default 4); a local run scores every partition.
		"shards": spec.TypeInteger,
	})
	compute.RegisterLocalJob("score", Prepare)
}

// ErrJob is returned (wrapped) for a score job that is not well formed.
var ErrJob = errors.New("score job")

// Prepare checks a `score` job: a `model`, one data input (the images: a folder, a file or a
// data URI) and one uri_folder output (the predictions).
func Prepare(_ context.Context, job *spec.Job) (compute.Step, error) {
	if len(job.InputOrder) != 1 || len(job.OutputOrder) != 1 {
		return nil, fmt.Errorf("%w %s: wants exactly one input (the images) and one output (the predictions), has %d and %d",
			ErrJob, job.Name, len(job.InputOrder), len(job.OutputOrder))
	}
	if _, ok := job.Params["model"]; !ok {
		return nil, fmt.Errorf("%w %s: `model` (an ONNX file) is required", ErrJob, job.Name)
	}
	out := job.OutputOrder[0]
	if job.Outputs[out].Type != spec.TypeURIFolder {
		return nil, fmt.Errorf("%w %s: output %s must be a uri_folder", ErrJob, job.Name, out)
	}
	return &Step{in: job.InputOrder[0], out: out}, nil
}

// Step is a prepared score job.
type Step struct{ in, out string }

// HandlesDataURIs: a score job reads azblob:// images itself and writes its predictions to an
// output `path:` that is a data URI itself, after they are all committed (compute.DataURIs).
func (*Step) HandlesDataURIs() {}

// Run scores the input into the output folder and logs progress and a summary.
func (s *Step) Run(ctx context.Context, sc *compute.StepContext) error {
	get := func(k string) string { return sc.Inputs[k] }
	integer := func(k string, def int64) (int64, error) {
		v := get(k)
		if v == "" {
			return def, nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%w %s: %s %q is not an integer", ErrJob, sc.Step, k, v)
		}
		return n, nil
	}
	// Committed partitions and the ledger live in the step's state folder, which outlives a
	// killed run: the next run of the same step resumes there. Without one, the work folder.
	state := sc.StateDir
	if state == "" {
		state = filepath.Join(sc.WorkDir, ".sluice-score")
	}
	cfg := Config{
		Model: get("model"), Labels: get("labels"), Input: get(s.in), Output: filepath.Join(state, "out"),
		Preprocess: get("preprocess"), Format: get("format"), Softmax: get("softmax"),
		StateDir: state, Resolver: sc.Data,
		Logger:  slog.New(slog.NewTextHandler(jobs.LockedLog(sc.Log), nil)),
		Metrics: dataflow.NewMetrics(),
	}
	final := sc.Outputs[s.out]
	if final == "" {
		return fmt.Errorf("%w %s: output %s has no location", ErrJob, sc.Step, s.out)
	}
	if datastore.IsURI(final) {
		// Written partition by partition with commit records that any run of the step, here or
		// on a cluster, resumes from.
		cfg.Output = final
	}
	var err error
	var n int64
	if n, err = integer("batch_size", 8); err != nil {
		return err
	}
	cfg.Batch = int(n)
	if n, err = integer("topk", 5); err != nil {
		return err
	}
	cfg.TopK = int(n)
	if n, err = integer("mini_batch_size", 64); err != nil {
		return err
	}
	cfg.MiniBatch = int(n)
	if n, err = integer("run_max_try", 3); err != nil {
		return err
	}
	cfg.MaxTries = int(n)
	th := dataflow.IgnoreFailures
	if th.ErrorThreshold, err = integer("error_threshold", -1); err != nil {
		return err
	}
	if th.AllowedFailedCount, err = integer("allowed_failed_count", -1); err != nil {
		return err
	}
	if v := get("allowed_failed_percent"); v != "" {
		if th.AllowedFailedPercent, err = strconv.ParseFloat(v, 64); err != nil {
			return fmt.Errorf("%w %s: allowed_failed_percent %q is not a number", ErrJob, sc.Step, v)
		}
	}
	cfg.Thresholds = th

	stop := jobs.ReportProgress(cfg.Metrics, sc)
	defer stop()
	start := time.Now()
	res, err := Score(ctx, cfg)
	stop()
	if err != nil {
		return err
	}
	// Predictions for a data URI (azblob://...) were published there as they committed; local
	// ones are moved in place.
	if !datastore.IsURI(final) {
		if err := jobs.MoveOutput(cfg.Output, final); err != nil {
			return err
		}
	}
	fmt.Fprintf(jobs.LockedLog(sc.Log), "scored %d images (%d failed) in %d partitions (%d already committed) in %s\n",
		res.Items, res.FailedItems, len(res.Partitions), res.Skipped+res.Elsewhere, time.Since(start).Round(time.Millisecond))
	if datastore.IsURI(final) {
		fmt.Fprintf(jobs.LockedLog(sc.Log), "%s: %d images scored and %d partitions published by this run, %d committed by other runs\n",
			final, res.Scored, res.Published, res.Elsewhere)
	}
	return nil
}
