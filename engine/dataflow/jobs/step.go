package jobs

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sluice-ml/sluice/engine/command"
	"github.com/sluice-ml/sluice/engine/compute"
	"github.com/sluice-ml/sluice/engine/dataflow"
	"github.com/sluice-ml/sluice/engine/dataflow/ledger"
	"github.com/sluice-ml/sluice/engine/dataflow/parallel"
	"github.com/sluice-ml/sluice/engine/dataflow/partition"
	"github.com/sluice-ml/sluice/engine/dataflow/registry"
	"github.com/sluice-ml/sluice/engine/spec"
)

func init() {
	spec.RegisterJobType(TypeParallel, merge(commonKeys, parallelKeys))
	spec.RegisterJobType(TypeDataflow, commonKeys)
	spec.RegisterJobBlock(TypeDataflow, "operators")
	spec.RegisterJobCheck(TypeParallel, check)
	spec.RegisterJobCheck(TypeDataflow, check)
	compute.RegisterLocalJob(TypeParallel, Prepare)
	compute.RegisterLocalJob(TypeDataflow, Prepare)
}

func merge(a, b map[string]spec.Type) map[string]spec.Type {
	out := map[string]spec.Type{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// ProgressEvery is how often a running step reports its progress (display and log).
var ProgressEvery = 2 * time.Second

// Prepare returns the Step of a parallel or dataflow job (compute.LocalJob).
func Prepare(_ context.Context, job *spec.Job) (compute.Step, error) {
	if job.Type != TypeParallel && job.Type != TypeDataflow {
		return nil, fmt.Errorf("%w %s: type %q is not parallel or dataflow", errJob, job.Name, job.Type)
	}
	if errs := check(job); len(errs) > 0 {
		return nil, errs
	}
	return &Step{job: job}, nil
}

// Step runs a parallel or dataflow job.
type Step struct{ job *spec.Job }

// Run runs the job over the items of its input folder and leaves its output in the job's
// output folder; see the package documentation.
func (s *Step) Run(ctx context.Context, sc *compute.StepContext) error {
	job := s.job
	set, kerrs := decode(job, func(key string) (string, bool) {
		if job.Params[key] == nil {
			return "", false
		}
		v, ok := sc.Inputs[key]
		return v, ok
	})
	if len(kerrs) > 0 {
		msgs := make([]string, len(kerrs))
		for i, ke := range kerrs {
			msgs[i] = ke.key + ": " + ke.msg
		}
		return fmt.Errorf("%w %s: %s", errJob, job.Name, strings.Join(msgs, "; "))
	}
	inDir := sc.Inputs[set.input]
	if st, err := os.Stat(inDir); err != nil || !st.IsDir() {
		return fmt.Errorf("%w %s: input %s (%q) is not a folder", errJob, job.Name, set.input, inDir)
	}
	outName := job.OutputOrder[0]
	final := sc.Outputs[outName]
	if sc.StateDir == "" || sc.CacheKey == "" {
		return fmt.Errorf("%w %s: no state folder to resume from (the executor gives one)", errJob, job.Name)
	}
	work := filepath.Join(sc.StateDir, "out")
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	led, err := ledger.Open(ctx, filepath.Join(sc.StateDir, "ledger.db"))
	if err != nil {
		return err
	}
	defer led.Close()

	items, err := partition.ListDir(ctx, inDir, 0)
	if err != nil {
		return fmt.Errorf("listing %s: %w", inDir, err)
	}
	parts, err := partitions(items, set)
	if err != nil {
		return err
	}
	env := &registry.Env{InputDir: inDir, WorkDir: sc.WorkDir, Environ: sc.Env, Log: LockedLog(sc.Log),
		TempDir: filepath.Join(sc.StateDir, "tmp"), Inputs: sc.Inputs}
	if err := os.MkdirAll(env.TempDir, 0o755); err != nil {
		return err
	}
	plan := dataflow.Plan{Name: job.Name}
	if job.Type == TypeParallel {
		line, err := command.Render(job.Command, sc.Inputs, sc.Outputs)
		if err != nil {
			return err
		}
		fmt.Fprintf(sc.Log, "parallel: $ %s <listing>\n", line)
		plan.Stages = []dataflow.Stage{{Name: "command", Op: registry.ShellCommand(env, line, 64<<20),
			Workers: set.workers, QueueBatches: 2 * set.workers}}
		plan.Schema = parallel.ResultSchema
	} else {
		if plan.Stages, plan.Schema, err = registry.Build(env, job.Blocks["operators"]); err != nil {
			return err
		}
	}
	names := make([]string, len(plan.Stages))
	for i, st := range plan.Stages {
		names[i] = st.Name
	}
	fmt.Fprintf(sc.Log, "%s: %d items in %d mini-batches from %s; stages %s; output %s in %s\n", job.Type,
		len(items), len(parts), inDir, strings.Join(names, " → "), set.format, work)

	metrics := dataflow.NewMetrics()
	stop := ReportProgress(metrics, sc)
	defer stop()
	res, err := dataflow.RunPartitioned(ctx, plan, dataflow.Partitioned{
		Partitions: parts, Dir: work, Writer: set.writer(), Ledger: led, Key: sc.CacheKey,
	}, dataflow.Options{
		Thresholds: set.thr, MaxTries: set.maxTries, InvocationTimeout: set.timeout, Metrics: metrics,
		Logger: slog.New(slog.NewTextHandler(LockedLog(sc.Log), nil)),
	})
	stop()
	fmt.Fprintf(sc.Log, "%s: %d items (%d failed), %d mini-batches (%d failed), %d mini-batches committed by an earlier run; %s\n",
		job.Type, res.Items, res.FailedItems, res.MiniBatches, res.FailedMiniBatches, res.Skipped, progressOf(metrics))
	if err != nil {
		return err
	}
	if set.appendRow != "" {
		if err := parallel.AppendRows(work, set.appendRow, parts, res.Partitions); err != nil {
			return err
		}
	}
	return MoveOutput(work, final)
}

// partitions splits items into mini-batches as the settings say.
func partitions(items []partition.Item, set settings) ([]partition.Partition, error) {
	var parts []partition.Partition
	var err error
	switch {
	case set.keys != "":
		parts, err = partition.ByKeys(items, set.keys)
	case set.bytes > 0:
		parts, err = partition.ByBytes(items, set.bytes)
	default:
		parts, err = partition.ByCount(items, set.count)
	}
	if err != nil {
		return nil, fmt.Errorf("mini-batches: %w", err)
	}
	return parts, nil
}

// MoveOutput moves the committed files (not the dot-files of the engine) into the output folder.
func MoveOutput(from, to string) error {
	ents, err := os.ReadDir(from)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") || !e.Type().IsRegular() {
			continue
		}
		if err := os.Rename(filepath.Join(from, e.Name()), filepath.Join(to, e.Name())); err != nil {
			return fmt.Errorf("output: %w", err)
		}
	}
	return nil
}

// ReportProgress writes the run's progress to the step log and the run's display every
// ProgressEvery until the returned function is called (more than once is fine).
func ReportProgress(m *dataflow.Metrics, sc *compute.StepContext) func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(ProgressEvery)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				p := progressOf(m)
				fmt.Fprintf(LockedLog(sc.Log), "progress: %s\n", p)
				if sc.Progress != nil {
					sc.Progress(p)
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done); wg.Wait() })
	}
}

// logMu serialises this package's writes to step logs with those of parallel commands.
var logMu sync.Mutex

type lockedWriter struct{ w io.Writer }

func (l lockedWriter) Write(p []byte) (int, error) {
	logMu.Lock()
	defer logMu.Unlock()
	return l.w.Write(p)
}

// LockedLog returns w made safe for concurrent writers (the step log is shared by the engine's
// logger and the progress reporter).
func LockedLog(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return lockedWriter{w}
}

func progressOf(m *dataflow.Metrics) compute.Progress {
	s := m.Snapshot()
	return compute.Progress{Done: s.ItemsDone, Total: s.ItemsTotal, PerSec: s.ItemsPerSec, ETA: s.ETA, Bottleneck: s.Bottleneck}
}
