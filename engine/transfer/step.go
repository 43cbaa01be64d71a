package transfer

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/sluice-ml/sluice/engine/compute"
	"github.com/sluice-ml/sluice/engine/spec"
)

func init() {
	spec.RegisterJobType("transfer", map[string]spec.Type{"concurrency": spec.TypeInteger})
	compute.RegisterLocalJob("transfer", Prepare)
}

// Prepare checks a transfer job: exactly one input (the source: a folder, a file or a data URI)
// and one uri_folder output (the destination: a workspace folder, or the output's `path:` URI).
func Prepare(_ context.Context, job *spec.Job) (compute.Step, error) {
	if len(job.InputOrder) != 1 || len(job.OutputOrder) != 1 {
		return nil, fmt.Errorf("%w %s: wants exactly one input (the source) and one output (the destination), has %d and %d",
			ErrJob, job.Name, len(job.InputOrder), len(job.OutputOrder))
	}
	out := job.OutputOrder[0]
	if job.Outputs[out].Type != spec.TypeURIFolder {
		return nil, fmt.Errorf("%w %s: output %s must be a uri_folder", ErrJob, job.Name, out)
	}
	return &Step{in: job.InputOrder[0], out: out}, nil
}

// Step is a prepared transfer job.
type Step struct {
	in, out string
}

// HandlesDataURIs: a transfer reads and writes data URIs itself (compute.DataURIs).
func (*Step) HandlesDataURIs() {}

// ProgressEvery is how often a running transfer writes its progress to the step log.
var ProgressEvery = 2 * time.Second

// Run copies the input to the output and logs progress and a summary.
func (s *Step) Run(ctx context.Context, sc *compute.StepContext) error {
	srcURI, ok := sc.Inputs[s.in]
	if !ok || srcURI == "" {
		return fmt.Errorf("%w %s: input %s has no value", ErrJob, sc.Step, s.in)
	}
	src, err := sc.Data.Resolve(ctx, srcURI)
	if err != nil {
		return err
	}
	dst, err := sc.Data.Resolve(ctx, sc.Outputs[s.out])
	if err != nil {
		return err
	}
	conc := 8
	if v, ok := sc.Inputs["concurrency"]; ok {
		if _, err := fmt.Sscan(v, &conc); err != nil || conc < 1 {
			return fmt.Errorf("%w %s: concurrency %q must be a positive integer", ErrJob, sc.Step, v)
		}
	}
	fmt.Fprintf(sc.Log, "transfer: %s -> %s (%d files at once)\n", srcURI, sc.Outputs[s.out], conc)
	var mu sync.Mutex
	last := time.Now()
	p, err := Copy(ctx, src, dst, Options{Concurrency: conc, Progress: func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(last) >= ProgressEvery {
			last = time.Now()
			fmt.Fprintf(sc.Log, "transfer: %s\n", p)
		}
	}})
	fmt.Fprintf(sc.Log, "transfer: %s\n", p)
	if err != nil {
		return fmt.Errorf("transfer %s: %w", srcURI, err)
	}
	return nil
}
