package executor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sluice-ml/sluice/engine/compute"
	"github.com/sluice-ml/sluice/engine/spec"
	"github.com/sluice-ml/sluice/store/datastore"
	"github.com/sluice-ml/sluice/store/manifest"
	"github.com/sluice-ml/sluice/store/state"
)

// Event is a change of a step's (or, with Step == "", the run's) status.
type Event struct {
	Time    time.Time
	RunID   string
	Step    string
	Status  state.Status
	Attempt int
	Message string
	// Progress, on events of a Running step that reports its progress (dataflow and parallel
	// steps), is how far it is; nil on status changes.
	Progress *compute.Progress
}

// Options tune Execute.
type Options struct {
	// MaxParallel bounds the steps running at once (default: max(4, NumCPU)).
	MaxParallel int
	// Targets resolves compute names (default: compute.NewRegistry()).
	Targets *compute.Registry
	// Observe, when set, is called for every status change, from one goroutine at a time.
	Observe func(Event)
	// PollInterval is how often cancel requests are checked (default 250ms).
	PollInterval time.Duration
	// Env is the base environment of step processes (default os.Environ()).
	Env []string
	// Data opens data URIs (azblob://...) used as inputs and output paths (default: local paths
	// only; the CLI configures it from the workspace file).
	Data *datastore.Resolver
}

// Submit validates the parameter overrides against p and records a new Queued run, locked by
// this process: the caller executes it (Execute) or hands the lock to a process that will, and
// releases the lock afterwards. source is the pipeline file's text, kept with the run (for
// detached execution and the record).
func Submit(ctx context.Context, ws *state.Workspace, p *spec.Pipeline, source []byte,
	overrides map[string]string, noReuse bool) (*state.Run, *state.RunLock, error) {
	values, err := p.Resolve(overrides)
	if err != nil {
		return nil, nil, err
	}
	if err := preflight(p, values); err != nil {
		return nil, nil, err
	}
	params := make(map[string]string, len(values))
	for k, v := range values {
		params[k] = v.String()
	}
	r := &state.Run{
		ID:           state.NewRunID(time.Now()),
		Pipeline:     p.Name,
		PipelineFile: absFile(p.File),
		Spec:         string(source),
		Parameters:   params,
		Status:       state.Queued,
		NoReuse:      noReuse || p.Settings.ForceRerun,
	}
	lock, err := ws.LockRun(r.ID)
	if err != nil {
		return nil, nil, err
	}
	if err := ws.CreateRun(ctx, r, p.TopoOrder()); err != nil {
		lock.Release()
		return nil, nil, err
	}
	return r, lock, nil
}

func absFile(f string) string {
	if f == "" {
		return ""
	}
	if abs, err := filepath.Abs(f); err == nil {
		return abs
	}
	return f
}

// LoadPipeline re-reads the pipeline a run was submitted with, from its recorded text.
func LoadPipeline(r *state.Run) (*spec.Pipeline, error) {
	if r.Spec == "" {
		return nil, fmt.Errorf("run %s: no pipeline text recorded", r.ID)
	}
	return spec.Parse(r.PipelineFile, []byte(r.Spec))
}

// dataRef is a resolved piece of data: where it is and which content version it is.
type dataRef struct {
	Path    string
	Hash    string
	Dataset string
	Version int
	// Producer is the cache key of the step that made the data ("" for external data). It enters
	// the keys of downstream steps beside the content hash, so that a change to an upstream step
	// reruns everything downstream of it even when its output happens to be identical.
	Producer string
}

type stepResult struct {
	name    string
	status  state.Status
	outputs map[string]dataRef
	err     error
}

type run struct {
	ws     *state.Workspace
	p      *spec.Pipeline
	rec    *state.Run
	opts   Options
	params map[string]spec.Value

	obsMu sync.Mutex

	inputsMu sync.Mutex
	inputs   map[string]*inputVersion // pipeline path inputs, hashed once
}

type inputVersion struct {
	once sync.Once
	ref  dataRef
	err  error
}

// Execute runs the submitted run id of pipeline p to its end and returns its final record.
// The caller must hold the run's lock (state.Workspace.LockRun). The error is a *RunError when
// the run failed or was canceled, and another error when the workspace itself failed.
func Execute(ctx context.Context, ws *state.Workspace, p *spec.Pipeline, id string, opts Options) (*state.Run, error) {
	rec, err := ws.GetRun(ctx, id)
	if err != nil {
		return nil, err
	}
	if opts.MaxParallel <= 0 {
		opts.MaxParallel = max(4, runtime.NumCPU())
	}
	if opts.Targets == nil {
		opts.Targets = compute.NewRegistry()
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = 250 * time.Millisecond
	}
	if opts.Env == nil {
		opts.Env = os.Environ()
	}
	if opts.Data == nil {
		opts.Data = &datastore.Resolver{}
	}
	params, err := p.Resolve(rec.Parameters)
	if err != nil {
		return nil, err
	}
	r := &run{ws: ws, p: p, rec: rec, opts: opts, params: params, inputs: map[string]*inputVersion{}}
	if err := ws.StartRun(ctx, id, os.Getpid()); err != nil {
		return nil, err
	}
	r.emit(Event{Status: state.Running})
	status, msg := r.schedule(ctx)
	// Record the end even when ctx is canceled.
	endCtx := context.WithoutCancel(ctx)
	if status == state.Finished {
		r.registerPipelineOutputs(endCtx)
	}
	if err := ws.FinishRun(endCtx, id, status, msg); err != nil {
		return nil, err
	}
	r.emit(Event{Status: status, Message: msg})
	final, err := ws.GetRun(endCtx, id)
	if err != nil {
		return nil, err
	}
	if status != state.Finished {
		return final, &RunError{RunID: id, Status: string(status), Message: msg}
	}
	return final, nil
}

func (r *run) emit(e Event) {
	if r.opts.Observe == nil {
		return
	}
	e.RunID = r.rec.ID
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	r.obsMu.Lock()
	defer r.obsMu.Unlock()
	r.opts.Observe(e)
}

func (r *run) setStep(ctx context.Context, name string, u state.StepUpdate, attempt int) {
	if err := r.ws.UpdateStep(context.WithoutCancel(ctx), r.rec.ID, name, u); err != nil {
		r.emit(Event{Step: name, Status: u.Status, Message: "recording status: " + err.Error()})
	}
	if u.Status != "" {
		r.emit(Event{Step: name, Status: u.Status, Attempt: attempt, Message: u.Message})
	}
}

// schedule runs the DAG and returns the run's final status and message.
func (r *run) schedule(ctx context.Context) (state.Status, string) {
	order := r.p.TopoOrder()
	rank := make(map[string]int, len(order))
	remaining := make(map[string]int, len(order))
	dependents := map[string][]string{}
	for i, name := range order {
		rank[name] = i
		ups := r.p.Upstream(name)
		remaining[name] = len(ups)
		for _, u := range ups {
			dependents[u] = append(dependents[u], name)
		}
	}

	// runCtx ends on cancellation; stepsCtx also ends when the run stops after a failure.
	runCtx, cancelRun := context.WithCancelCause(ctx)
	defer cancelRun(nil)
	stepsCtx, stopSteps := context.WithCancelCause(runCtx)
	defer stopSteps(nil)
	go r.watchCancel(runCtx, cancelRun)

	outputs := map[string]map[string]dataRef{}
	done := map[string]bool{}
	var ready []string
	for _, name := range order {
		if remaining[name] == 0 {
			ready = append(ready, name)
			r.setStep(ctx, name, state.StepUpdate{Status: state.Queued}, 0)
		}
	}
	results := make(chan stepResult)
	running := 0
	var failures []string
	var firstFailure string
	stopping := false

	skip := func(name, why string) {
		// Mark name and everything downstream of it as not run.
		var walk func(string)
		walk = func(n string) {
			if done[n] {
				return
			}
			done[n] = true
			r.setStep(ctx, n, state.StepUpdate{Status: state.Canceled, Message: why}, 0)
			for _, d := range dependents[n] {
				walk(d)
			}
		}
		for _, d := range dependents[name] {
			walk(d)
		}
	}

	for len(done) < len(order) {
		for running < r.opts.MaxParallel && len(ready) > 0 && !stopping && runCtx.Err() == nil {
			name := ready[0]
			ready = ready[1:]
			ins := map[string]map[string]dataRef{}
			for _, u := range r.p.Upstream(name) {
				ins[u] = outputs[u]
			}
			running++
			go func() { results <- r.runStep(stepsCtx, name, ins) }()
		}
		if running == 0 {
			break
		}
		res := <-results
		running--
		done[res.name] = true
		switch res.status {
		case state.Finished, state.Reused:
			outputs[res.name] = res.outputs
			for _, d := range dependents[res.name] {
				remaining[d]--
				if remaining[d] == 0 && !done[d] {
					ready = append(ready, d)
					sort.Slice(ready, func(i, j int) bool { return rank[ready[i]] < rank[ready[j]] })
					r.setStep(ctx, d, state.StepUpdate{Status: state.Queued}, 0)
				}
			}
		case state.Failed:
			failures = append(failures, res.name)
			if firstFailure == "" {
				firstFailure = res.err.Error()
			}
			skip(res.name, "not run: upstream step "+res.name+" failed")
			if !r.p.Settings.ContinueOnStepFailure && !stopping {
				stopping = true
				stopSteps(fmt.Errorf("%w: %s", errStopped, res.name))
			}
		}
	}
	// Whatever never ran.
	why := "not run: the run stopped"
	if runCtx.Err() != nil {
		why = "not run: " + context.Cause(runCtx).Error()
	}
	for _, name := range order {
		if !done[name] {
			r.setStep(ctx, name, state.StepUpdate{Status: state.Canceled, Message: why}, 0)
		}
	}
	switch {
	case len(failures) > 0:
		msg := firstFailure
		if len(failures) > 1 {
			msg = fmt.Sprintf("%d steps failed (%s); first: %s", len(failures), strings.Join(failures, ", "), firstFailure)
		}
		return state.Failed, msg
	case runCtx.Err() != nil:
		return state.Canceled, context.Cause(runCtx).Error()
	}
	return state.Finished, ""
}

// watchCancel ends the run when the workspace records a cancel request.
func (r *run) watchCancel(ctx context.Context, cancel context.CancelCauseFunc) {
	t := time.NewTicker(r.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if ok, err := r.ws.CancelRequested(ctx, r.rec.ID); err == nil && ok {
				cancel(fmt.Errorf("%w by request", ErrCanceled))
				return
			}
		}
	}
}

// pipelineInput returns the content version of a path-typed pipeline input, hashing it once.
func (r *run) pipelineInput(ctx context.Context, name string) (dataRef, error) {
	r.inputsMu.Lock()
	iv, ok := r.inputs[name]
	if !ok {
		iv = &inputVersion{}
		r.inputs[name] = iv
	}
	r.inputsMu.Unlock()
	iv.once.Do(func() {
		v := r.params[name]
		iv.ref, iv.err = r.externalData(ctx, v.Str, r.p.Name+".inputs."+name)
	})
	return iv.ref, iv.err
}

// externalData hashes data outside the workspace and registers it as a dataset version. Data
// behind a URI is described from its listing (datastore.Manifest), without reading it.
func (r *run) externalData(ctx context.Context, path, dataset string) (dataRef, error) {
	abs := r.absPath(path)
	var m *manifest.Manifest
	var err error
	if datastore.IsURI(path) {
		m, err = r.remoteManifest(ctx, path)
		if err == nil && len(m.Entries) == 0 {
			err = fmt.Errorf("no data there: %w", datastore.ErrNotFound)
		}
	} else {
		m, err = manifest.Build(ctx, abs, manifest.Options{Cache: r.ws.HashCache()})
	}
	if err != nil {
		return dataRef{}, fmt.Errorf("input %s: %w", path, err)
	}
	h := m.Hash()
	if err := r.ws.PutObject(ctx, &state.Object{Hash: h, Path: abs, External: true, Manifest: m}); err != nil {
		return dataRef{}, err
	}
	ref := dataRef{Path: abs, Hash: h}
	if dataset != "" {
		v, err := r.ws.RegisterVersion(ctx, dataset, h, state.Producer{})
		if err != nil {
			return dataRef{}, err
		}
		ref.Dataset, ref.Version = dataset, v
	}
	return ref, nil
}

// remoteManifest describes the data at a URI from its listing.
func (r *run) remoteManifest(ctx context.Context, uri string) (*manifest.Manifest, error) {
	loc, err := r.opts.Data.Resolve(ctx, uri)
	if err != nil {
		return nil, err
	}
	if err := loc.Probe(ctx); err != nil {
		return nil, err
	}
	return datastore.Manifest(ctx, loc)
}

func (r *run) absPath(p string) string {
	if filepath.IsAbs(p) || datastore.IsURI(p) {
		return p
	}
	return filepath.Join(r.p.Dir, p)
}

// registerPipelineOutputs registers each bound pipeline output under "<pipeline>.<output>".
func (r *run) registerPipelineOutputs(ctx context.Context) {
	rec, err := r.ws.GetRun(ctx, r.rec.ID)
	if err != nil {
		return
	}
	for _, name := range r.p.OutputOrder {
		o := r.p.Outputs[name]
		if o.Binding == nil || o.Binding.Kind != spec.BindJobOutput {
			continue
		}
		for _, s := range rec.Steps {
			if s.Name != o.Binding.Job {
				continue
			}
			for _, out := range s.Outputs {
				if out.Name == o.Binding.Name && out.Hash != "" {
					_, _ = r.ws.RegisterVersion(ctx, r.p.Name+"."+name, out.Hash,
						state.Producer{RunID: r.rec.ID, Step: s.Name, Output: out.Name})
				}
			}
		}
	}
}

func isCancel(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, ErrCanceled) || errors.Is(err, errStopped)
}

// preflight checks what must exist before a run starts: each job's code folder and each data input
// that has a value. Problems are spec errors (bad input, exit code 2), with their positions.
func preflight(p *spec.Pipeline, values map[string]spec.Value) error {
	var errs spec.ErrorList
	for _, name := range p.InputOrder {
		in := p.Inputs[name]
		v, ok := values[name]
		if !ok || !in.Type.IsPath() || strings.Contains(v.Str, "://") {
			continue
		}
		abs := v.Str
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(p.Dir, abs)
		}
		st, err := os.Stat(abs)
		switch {
		case err != nil:
			errs = append(errs, &spec.Error{Pos: in.Pos, Msg: fmt.Sprintf("input %q: %s does not exist", name, abs)})
		case in.Type == spec.TypeURIFolder && !st.IsDir():
			errs = append(errs, &spec.Error{Pos: in.Pos, Msg: fmt.Sprintf("input %q: %s is not a folder (type uri_folder)", name, abs)})
		case in.Type == spec.TypeURIFile && st.IsDir():
			errs = append(errs, &spec.Error{Pos: in.Pos, Msg: fmt.Sprintf("input %q: %s is a folder, not a file (type uri_file)", name, abs)})
		}
	}
	for _, name := range p.JobOrder {
		job := p.Jobs[name]
		if job.Code == "" {
			continue
		}
		abs := job.Code
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(p.Dir, abs)
		}
		if st, err := os.Stat(abs); err != nil || !st.IsDir() {
			errs = append(errs, &spec.Error{Pos: job.Pos, Msg: fmt.Sprintf("job %q: code folder %s does not exist", name, abs)})
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}
