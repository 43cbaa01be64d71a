package compute

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sluice-ml/sluice/engine/command"
	"github.com/sluice-ml/sluice/engine/spec"
	"github.com/sluice-ml/sluice/store/datastore"
)

// Sentinel errors of compute targets.
var (
	// ErrUnknownTarget: the compute name matches no configured target.
	ErrUnknownTarget = errors.New("unknown compute target")
	// ErrUnsupportedJob: the target cannot run this job type.
	ErrUnsupportedJob = errors.New("job type not supported by this compute target")
	// ErrRetired: the target's service no longer exists.
	ErrRetired = errors.New("compute service retired")
)

// StepContext is what a step sees of its run: resolved inputs and prepared outputs.
type StepContext struct {
	RunID   string
	Step    string
	Attempt int // from 1
	Job     *spec.Job
	// Inputs maps each job input (and type-specific parameter) with a value to its text: a
	// parameter value, or the absolute path of the data.
	Inputs map[string]string
	// Outputs maps each output to the absolute path the step must write (a fresh folder for
	// uri_folder; a file path in a fresh folder for uri_file).
	Outputs map[string]string
	WorkDir string    // the snapshot of the job's code, or an empty folder
	Env     []string  // the full environment for processes the step starts
	Log     io.Writer // the step's log
	// Data opens data URIs (azblob://...) and local paths as datastores; never nil when the
	// executor calls Run.
	Data *datastore.Resolver
	// CacheKey is the step's cache key (its definition, parameters, code and input versions).
	CacheKey string
	// StateDir is a folder private to this step and cache key that outlives attempts and runs:
	// a step keeps resumable progress there (a dataflow ledger, committed partitions), so that a
	// rerun after a crash continues where the killed one stopped. The step creates it when it
	// needs it; the executor removes it once the step's outputs are stored, and before the step
	// runs in a run that reuses nothing (--no-reuse).
	StateDir string
	// Progress, when not nil, receives the step's progress (items done, rate, ETA, bottleneck)
	// for the run's display; a step calls it every few seconds at most.
	Progress func(Progress)
	// Device is where in-process work should run: "" (the CPU) or DeviceCUDA on the
	// local-gpu target.
	Device string
}

// Progress is how far a running step is, for progress displays.
type Progress struct {
	Done, Total int64         // items; Total 0 when unknown
	PerSec      float64       // items per second
	ETA         time.Duration // 0 when unknown
	// Bottleneck names the stage that limits the rate ("decode-bound", "infer-bound",
	// "write-bound"); "" when unknown.
	Bottleneck string
}

// String renders p as "1200/20000 items  850.3 items/s  ETA 22s  decode-bound".
func (p Progress) String() string {
	var b strings.Builder
	if p.Total > 0 {
		fmt.Fprintf(&b, "%d/%d items", p.Done, p.Total)
	} else {
		fmt.Fprintf(&b, "%d items", p.Done)
	}
	fmt.Fprintf(&b, "  %.1f items/s", p.PerSec)
	if eta := p.ETA.Round(time.Second); eta > 0 {
		fmt.Fprintf(&b, "  ETA %s", eta)
	}
	if p.Bottleneck != "" {
		b.WriteString("  " + p.Bottleneck)
	}
	return b.String()
}

// DataURIs is an optional capability of a Step: it reads inputs given as data URIs
// (azblob://...) and writes outputs whose job output has a `path:` itself — StepContext.Inputs
// and Outputs then hold those URIs. A step without it sees only local paths: the executor
// downloads URI inputs before the first attempt, gives a local folder for each output with a
// path, and uploads it there after the step succeeded.
type DataURIs interface {
	Step
	HandlesDataURIs()
}

// LocalJob makes the Step of a job type that runs in-process on the local target.
type LocalJob func(ctx context.Context, job *spec.Job) (Step, error)

var localJobs = struct {
	sync.RWMutex
	m map[string]LocalJob
}{m: map[string]LocalJob{}}

// RegisterLocalJob lets package that implements a job type (transfer, score...) run it on the
// local target. Meant for init functions; safe for concurrent use.
func RegisterLocalJob(jobType string, prepare LocalJob) {
	localJobs.Lock()
	defer localJobs.Unlock()
	localJobs.m[jobType] = prepare
}

// Step runs one attempt of a job. Run returns nil on success; the error says why it failed.
// It must stop promptly, ending everything it started, when ctx is done.
type Step interface {
	Run(ctx context.Context, sc *StepContext) error
}

// Target turns a job into something that runs where it says.
type Target interface {
	Name() string
	Prepare(ctx context.Context, job *spec.Job) (Step, error)
}

// Registry finds targets by compute name ("local", "databricks:NAME", ...).
type Registry struct {
	mu      sync.RWMutex
	targets map[string]Target
}

// NewRegistry returns a registry with the local and local-gpu targets.
func NewRegistry() *Registry {
	r := &Registry{targets: map[string]Target{}}
	r.Add(Local{})
	r.Add(LocalGPU{})
	return r
}

// Add registers t under t.Name(), replacing any target of that name.
func (r *Registry) Add(t Target) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.targets[t.Name()] = t
}

// Lookup finds the target for a compute name.
func (r *Registry) Lookup(name string) (Target, error) {
	if strings.HasPrefix(name, "adla") {
		return nil, fmt.Errorf("compute %q: %w: Azure Data Lake Analytics was retired by Microsoft on 2024-02-29; "+
			"move U-SQL jobs to Spark (compute: databricks:<name> or hdinsight:<name>)", name, ErrRetired)
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if t, ok := r.targets[name]; ok {
		return t, nil
	}
	known := make([]string, 0, len(r.targets))
	for k := range r.targets {
		known = append(known, k)
	}
	sort.Strings(known)
	hint := ""
	switch {
	case name == "local-gpu":
		hint = " (this build has no CUDA backend)"
	case strings.HasPrefix(name, "databricks:"), strings.HasPrefix(name, "hdinsight:"):
		hint = " (not configured in the workspace file)"
	}
	return nil, fmt.Errorf("compute %q%s: %w; configured: %s", name, hint, ErrUnknownTarget, strings.Join(known, ", "))
}

// Local runs steps on this machine.
type Local struct{}

// Name is "local".
func (Local) Name() string { return "local" }

// Prepare returns the step for job: command jobs, and the types registered with
// RegisterLocalJob.
func (Local) Prepare(ctx context.Context, job *spec.Job) (Step, error) {
	switch job.Type {
	case "command":
		return commandStep{}, nil
	}
	localJobs.RLock()
	prepare, ok := localJobs.m[job.Type]
	localJobs.RUnlock()
	if ok {
		return prepare(ctx, job)
	}
	return nil, fmt.Errorf("job %s: type %q on compute local: %w", job.Name, job.Type, ErrUnsupportedJob)
}

type commandStep struct{}

func (commandStep) Run(ctx context.Context, sc *StepContext) error {
	line, err := command.Render(sc.Job.Command, sc.Inputs, sc.Outputs)
	if err != nil {
		return err
	}
	fmt.Fprintf(sc.Log, "$ %s\n", line)
	return command.Run(ctx, command.Cmd{Line: line, Dir: sc.WorkDir, Env: sc.Env, Output: sc.Log})
}
