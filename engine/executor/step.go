package executor

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sluice-ml/sluice/engine/compute"
	"github.com/sluice-ml/sluice/engine/spec"
	"github.com/sluice-ml/sluice/engine/transfer"
	_ "github.com/sluice-ml/sluice/scenarios/styletransfer" // the stylize job type
	"github.com/sluice-ml/sluice/store/datastore"
	"github.com/sluice-ml/sluice/store/manifest"
	"github.com/sluice-ml/sluice/store/state"
)

// resolvedInput is a job input (or type parameter) with its value.
type resolvedInput struct {
	name  string
	param bool   // a parameter: value is the text
	value string // text, or absolute path of data
	data  dataRef
}

// runStep resolves, reuses or runs one step. It never returns with status Running.
func (r *run) runStep(ctx context.Context, name string, upstream map[string]map[string]dataRef) stepResult {
	job := r.p.Jobs[name]
	res := stepResult{name: name}
	fail := func(err error) stepResult {
		res.err = fmt.Errorf("step %s: %w", name, err)
		res.status = state.Failed
		if isCancel(err) || ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			res.status = state.Canceled
		}
		r.setStep(ctx, name, state.StepUpdate{Status: res.status, Ended: time.Now(), Message: err.Error()}, 0)
		return res
	}
	inputs, err := r.resolveInputs(ctx, job, upstream)
	if err != nil {
		return fail(err)
	}
	codeHash := ""
	if job.Code != "" {
		m, err := manifest.Build(ctx, r.absPath(job.Code), manifest.Options{Cache: r.ws.HashCache(), Ignore: true})
		if err != nil {
			return fail(fmt.Errorf("code folder: %w", err))
		}
		codeHash = m.Hash()
	}
	key := cacheKey(job, codeHash, inputs)
	for _, in := range inputs {
		io := state.IO{Name: in.name, Value: in.value, Hash: in.data.Hash, Dataset: in.data.Dataset, Version: in.data.Version}
		if err := r.ws.RecordIO(ctx, r.rec.ID, name, "in", io); err != nil {
			return fail(err)
		}
	}
	if !r.rec.NoReuse {
		if outs, from, ok := r.lookupReuse(ctx, key, job); ok {
			for _, o := range job.OutputOrder {
				d := outs[o]
				if err := r.ws.RecordIO(ctx, r.rec.ID, name, "out", state.IO{Name: o, Value: d.Path, Hash: d.Hash,
					Dataset: d.Dataset, Version: d.Version}); err != nil {
					return fail(err)
				}
			}
			now := time.Now()
			r.setStep(ctx, name, state.StepUpdate{Status: state.Reused, Started: now, Ended: now, ReusedFrom: from,
				CacheKey: key, Message: "reused outputs of run " + from}, 0)
			res.status, res.outputs = state.Reused, outs
			return res
		}
	}
	target, err := r.opts.Targets.Lookup(r.computeOf(job))
	if err != nil {
		return fail(err)
	}
	step, err := target.Prepare(ctx, job)
	if err != nil {
		return fail(err)
	}
	outs, err := r.attempts(ctx, job, step, inputs, key)
	if err != nil {
		return fail(err)
	}
	res.status, res.outputs = state.Finished, outs
	return res
}

func (r *run) computeOf(job *spec.Job) string {
	if job.Compute != "" {
		return job.Compute
	}
	if r.p.Settings.DefaultCompute != "" {
		return r.p.Settings.DefaultCompute
	}
	return "local"
}

// resolveInputs gives every job input and type parameter its value, in name order.
func (r *run) resolveInputs(ctx context.Context, job *spec.Job, upstream map[string]map[string]dataRef) ([]resolvedInput, error) {
	var out []resolvedInput
	add := func(in *spec.JobInput) error {
		ri := resolvedInput{name: in.Name}
		switch {
		case in.Binding != nil && in.Binding.Kind == spec.BindParentInput:
			v, ok := r.params[in.Binding.Name]
			if !ok {
				return nil // optional input without a value
			}
			if v.Type.IsPath() {
				d, err := r.pipelineInput(ctx, in.Binding.Name)
				if err != nil {
					return err
				}
				ri.value, ri.data = d.Path, d
			} else {
				ri.param, ri.value = true, v.String()
			}
		case in.Binding != nil && in.Binding.Kind == spec.BindJobOutput:
			d, ok := upstream[in.Binding.Job][in.Binding.Name]
			if !ok {
				return fmt.Errorf("input %s: %s has no data", in.Name, in.Binding)
			}
			ri.value, ri.data = d.Path, d
		case in.Literal != nil && in.Literal.Type.IsPath():
			d, err := r.externalData(ctx, in.Literal.Str, "")
			if err != nil {
				return fmt.Errorf("input %s: %w", in.Name, err)
			}
			ri.value, ri.data = d.Path, d
		case in.Literal != nil:
			ri.param, ri.value = true, in.Literal.String()
		default:
			return nil
		}
		out = append(out, ri)
		return nil
	}
	for _, name := range job.InputOrder {
		if err := add(job.Inputs[name]); err != nil {
			return nil, err
		}
	}
	keys := make([]string, 0, len(job.Params))
	for k := range job.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := add(job.Params[k]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// cacheKey identifies what a step computes: its definition, parameter values, code and input data.
// Paths of data never enter the key, only their content versions.
func cacheKey(job *spec.Job, codeHash string, inputs []resolvedInput) string {
	type kv struct {
		Name, Value, Hash, Producer string
	}
	k := struct {
		V       int
		Type    string
		Command string
		Env     map[string]string
		Code    string
		Inputs  []kv
		Outputs []kv
		Blocks  map[string]*spec.Node `json:",omitempty"` // structured keys (a dataflow's operators)
	}{V: 1, Type: job.Type, Env: job.Env, Code: codeHash, Blocks: job.Blocks}
	if job.Command != nil {
		k.Command = job.Command.Raw
	}
	for _, in := range inputs {
		if in.param {
			k.Inputs = append(k.Inputs, kv{Name: in.name, Value: in.value})
		} else {
			k.Inputs = append(k.Inputs, kv{Name: in.name, Hash: in.data.Hash, Producer: in.data.Producer})
		}
	}
	for _, o := range job.OutputOrder {
		v := string(job.Outputs[o].Type)
		if p := job.Outputs[o].Path; p != "" {
			v += " " + p // where the data goes is part of what the step does
		}
		k.Outputs = append(k.Outputs, kv{Name: o, Value: v})
	}
	b, _ := json.Marshal(k)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// lookupReuse finds earlier outputs for key whose data is still present.
func (r *run) lookupReuse(ctx context.Context, key string, job *spec.Job) (map[string]dataRef, string, bool) {
	e, err := r.ws.LookupCache(ctx, key)
	if err != nil || e == nil {
		return nil, "", false
	}
	outs := map[string]dataRef{}
	for _, o := range job.OutputOrder {
		h, ok := e.Outputs[o]
		if !ok {
			return nil, "", false
		}
		obj, err := r.ws.GetObject(ctx, h)
		if err != nil {
			return nil, "", false
		}
		where := obj.Path
		if p := job.Outputs[o].Path; p != "" {
			// Remote data is reused only while it is still exactly what the step wrote, where it
			// wrote it (the object record may name another place holding the same content).
			if m, err := r.remoteManifest(ctx, p); err != nil || m.Hash() != h {
				return nil, "", false
			}
			where = p
		} else if _, err := os.Stat(obj.Path); err != nil {
			return nil, "", false
		}
		d := dataRef{Path: where, Hash: h, Producer: key}
		d.Dataset = datasetName(r.p, job, o)
		if v, err := r.ws.RegisterVersion(ctx, d.Dataset, h, state.Producer{RunID: e.RunID, Step: e.Step, Output: o}); err == nil {
			d.Version = v
		}
		outs[o] = d
	}
	return outs, e.RunID, true
}

func datasetName(p *spec.Pipeline, job *spec.Job, output string) string {
	if n := job.Outputs[output].DatasetName; n != "" {
		return n
	}
	return p.Name + "." + job.Name + "." + output
}

// attempts runs the step up to Retry.MaxAttempts times and stores its outputs on success.
func (r *run) attempts(ctx context.Context, job *spec.Job, step compute.Step, inputs []resolvedInput, key string) (map[string]dataRef, error) {
	stepDir := filepath.Join(r.ws.RunDir(r.rec.ID), "steps", job.Name)
	logPath := filepath.Join(r.ws.RunDir(r.rec.ID), "logs", job.Name+".log")
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("log: %w", err)
	}
	defer logf.Close()
	workDir := filepath.Join(stepDir, "work")
	if job.Code != "" {
		workDir = filepath.Join(stepDir, "code")
		if err := manifest.CopyTree(r.absPath(job.Code), workDir, true); err != nil {
			return nil, err
		}
	} else if err := os.MkdirAll(workDir, 0o755); err != nil {
		return nil, err
	}
	_, uriAware := step.(compute.DataURIs)
	in := map[string]string{}
	for _, i := range inputs {
		in[i.name] = i.value
		if !i.param && !uriAware && datastore.IsURI(i.value) {
			local, err := r.stageInput(ctx, logf, filepath.Join(stepDir, "inputs", i.name), i.value)
			if err != nil {
				return nil, fmt.Errorf("input %s: %w", i.name, err)
			}
			in[i.name] = local
		}
	}
	if r.rec.NoReuse { // reuse nothing: not even the progress a killed run of this step left
		_ = os.RemoveAll(r.stateDir(job.Name, key))
	}
	maxAttempts := max(job.Retry.MaxAttempts, 1)
	delay := job.Retry.Delay
	started := time.Now()
	var lastErr error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		outs, err := prepareOutputs(filepath.Join(stepDir, "outputs"), job)
		if err != nil {
			return nil, err
		}
		local := maps.Clone(outs) // where outputs with a URI path are written when the step wants local folders
		if uriAware {
			for _, o := range job.OutputOrder {
				if p := job.Outputs[o].Path; p != "" {
					outs[o] = p
				}
			}
		}
		u := state.StepUpdate{Status: state.Running, Attempts: attempt, LogPath: logPath, CacheKey: key}
		if attempt == 1 {
			u.Started = started
		}
		r.setStep(ctx, job.Name, u, attempt)
		fmt.Fprintf(logf, "=== sluice: step %s, attempt %d of %d, %s ===\n", job.Name, attempt, maxAttempts,
			time.Now().Format(time.RFC3339))
		sc := &compute.StepContext{
			RunID: r.rec.ID, Step: job.Name, Attempt: attempt, Job: job, Inputs: in, Outputs: outs,
			WorkDir: workDir, Log: logf, Env: r.stepEnv(job, outs), Data: r.opts.Data,
			CacheKey: key, StateDir: r.stateDir(job.Name, key), Progress: r.progress(job.Name, attempt),
		}
		actx, cancel := ctx, context.CancelFunc(func() {})
		if job.Timeout > 0 {
			actx, cancel = context.WithTimeoutCause(ctx, job.Timeout, fmt.Errorf("%w after %s", errTimeout, job.Timeout))
		}
		err = step.Run(actx, sc)
		if err == nil {
			err = checkOutputs(job, outs)
		}
		timedOut := actx.Err() != nil && ctx.Err() == nil
		cancel()
		if err == nil {
			fmt.Fprintf(logf, "=== sluice: step %s finished ===\n", job.Name)
			// The work is done: keep it even if the run is being stopped.
			refs, err := r.storeOutputs(context.WithoutCancel(ctx), job, local, uriAware, logf, key)
			if err == nil {
				_ = os.RemoveAll(sc.StateDir) // resumable progress is not needed any more
			}
			return refs, err
		}
		if ctx.Err() != nil { // canceled or stopped: no retry
			fmt.Fprintf(logf, "=== sluice: step %s canceled: %v ===\n", job.Name, context.Cause(ctx))
			return nil, context.Cause(ctx)
		}
		if timedOut {
			err = fmt.Errorf("%w after %s", errTimeout, job.Timeout)
		}
		lastErr = err
		fmt.Fprintf(logf, "=== sluice: attempt %d failed: %v ===\n", attempt, err)
		if attempt < maxAttempts {
			r.emit(Event{Step: job.Name, Status: state.Running, Attempt: attempt,
				Message: fmt.Sprintf("attempt %d failed (%v); retrying in %s", attempt, err, delay)})
			select {
			case <-ctx.Done():
				return nil, context.Cause(ctx)
			case <-time.After(delay):
			}
			delay *= 2
		}
	}
	logf.Sync()
	tail := tailLines(logPath, 10)
	msg := fmt.Sprintf("failed after %d attempt(s): %v", maxAttempts, lastErr)
	if tail != "" {
		msg += "\nlast lines of " + logPath + ":\n" + tail
	}
	return nil, errors.New(msg)
}

func (r *run) stepEnv(job *spec.Job, outs map[string]string) []string {
	env := append([]string(nil), r.opts.Env...)
	env = append(env, "SLUICE_RUN_ID="+r.rec.ID, "SLUICE_STEP="+job.Name)
	keys := make([]string, 0, len(job.Env))
	for k := range job.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+job.Env[k])
	}
	return env
}

// prepareOutputs makes a fresh folder per output (an attempt never sees a previous attempt's files).
func prepareOutputs(root string, job *spec.Job) (map[string]string, error) {
	outs := map[string]string{}
	for _, o := range job.OutputOrder {
		dir := filepath.Join(root, o)
		if err := os.RemoveAll(dir); err != nil {
			return nil, fmt.Errorf("output %s: %w", o, err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("output %s: %w", o, err)
		}
		if job.Outputs[o].Type == spec.TypeURIFile {
			outs[o] = filepath.Join(dir, o)
		} else {
			outs[o] = dir
		}
	}
	return outs, nil
}

func checkOutputs(job *spec.Job, outs map[string]string) error {
	for _, o := range job.OutputOrder {
		if job.Outputs[o].Type != spec.TypeURIFile || datastore.IsURI(outs[o]) {
			continue
		}
		if st, err := os.Stat(outs[o]); err != nil || !st.Mode().IsRegular() {
			return fmt.Errorf("output %s (uri_file) was not written to %s", o, outs[o])
		}
	}
	return nil
}

// storeOutputs hashes each output, moves it into the content-addressed store (or drops it when
// that version is already there), registers the dataset version and the reuse entry.
//
// An output with a URI path is not stored in the workspace: unless the step wrote it there itself
// (uriAware), its local folder is uploaded to the URI first; its version is the URI's listing.
func (r *run) storeOutputs(ctx context.Context, job *spec.Job, outs map[string]string, uriAware bool, logf io.Writer,
	key string) (map[string]dataRef, error) {
	refs := map[string]dataRef{}
	hashes := map[string]string{}
	for _, o := range job.OutputOrder {
		src := outs[o]
		if uri := job.Outputs[o].Path; uri != "" {
			ref, err := r.storeRemoteOutput(ctx, job, o, src, uri, uriAware, logf, key)
			if err != nil {
				return nil, err
			}
			refs[o], hashes[o] = ref, ref.Hash
			continue
		}
		m, err := manifest.Build(ctx, src, manifest.Options{})
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", o, err)
		}
		h := m.Hash()
		objDir := r.ws.ObjectDir(h)
		path := objDir
		srcDir := src
		if job.Outputs[o].Type == spec.TypeURIFile {
			srcDir = filepath.Dir(src)
			path = filepath.Join(objDir, filepath.Base(src))
		}
		if _, err := os.Stat(objDir); err == nil {
			if err := os.RemoveAll(srcDir); err != nil {
				return nil, fmt.Errorf("output %s: %w", o, err)
			}
		} else {
			if err := os.MkdirAll(filepath.Dir(objDir), 0o755); err != nil {
				return nil, fmt.Errorf("output %s: %w", o, err)
			}
			if err := os.Rename(srcDir, objDir); err != nil && !errors.Is(err, os.ErrExist) {
				return nil, fmt.Errorf("output %s: storing: %w", o, err)
			}
		}
		if err := r.ws.PutObject(ctx, &state.Object{Hash: h, Path: path, Manifest: m}); err != nil {
			return nil, err
		}
		ds := datasetName(r.p, job, o)
		v, err := r.ws.RegisterVersion(ctx, ds, h, state.Producer{RunID: r.rec.ID, Step: job.Name, Output: o})
		if err != nil {
			return nil, err
		}
		refs[o] = dataRef{Path: path, Hash: h, Dataset: ds, Version: v, Producer: key}
		hashes[o] = h
		if err := r.ws.RecordIO(ctx, r.rec.ID, job.Name, "out", state.IO{Name: o, Value: path, Hash: h, Dataset: ds, Version: v}); err != nil {
			return nil, err
		}
	}
	if err := r.ws.PutCache(ctx, &state.CacheEntry{Key: key, RunID: r.rec.ID, Step: job.Name, Outputs: hashes}); err != nil {
		return nil, err
	}
	r.setStep(ctx, job.Name, state.StepUpdate{Status: state.Finished, Ended: time.Now()}, 0)
	return refs, nil
}

// tailLines returns the last n lines of a file, indented.
func tailLines(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > 64<<10 {
		_, _ = f.Seek(st.Size()-64<<10, io.SeekStart)
	}
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		if len(lines) > n {
			lines = lines[1:]
		}
	}
	for i := range lines {
		lines[i] = "  | " + lines[i]
	}
	return strings.Join(lines, "\n")
}

// stageInput downloads the data at uri into dir for a step that reads local files; it returns the
// local path (the folder, or the file for a single object).
func (r *run) stageInput(ctx context.Context, logf io.Writer, dir, uri string) (string, error) {
	src, err := r.opts.Data.Resolve(ctx, uri)
	if err != nil {
		return "", err
	}
	if err := src.Probe(ctx); err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	p, err := transfer.Copy(ctx, src, datastore.Location{Store: datastore.NewLocal(dir), URI: dir}, transfer.Options{})
	fmt.Fprintf(logf, "=== sluice: input %s staged in %s: %s ===\n", uri, dir, p)
	if err != nil {
		return "", fmt.Errorf("staging %s: %w", uri, err)
	}
	if src.Single {
		return filepath.Join(dir, path.Base(src.Prefix)), nil
	}
	return dir, nil
}

// storeRemoteOutput uploads (unless the step wrote it itself) and versions an output whose path
// is a data URI.
func (r *run) storeRemoteOutput(ctx context.Context, job *spec.Job, o, local, uri string, uriAware bool, logf io.Writer,
	key string) (dataRef, error) {
	dst, err := r.opts.Data.Resolve(ctx, uri)
	if err != nil {
		return dataRef{}, fmt.Errorf("output %s: %w", o, err)
	}
	if !uriAware {
		src := datastore.Location{Store: datastore.NewLocal(local), URI: local}
		p, err := transfer.Copy(ctx, src, dst, transfer.Options{})
		fmt.Fprintf(logf, "=== sluice: output %s uploaded to %s: %s ===\n", o, uri, p)
		if err != nil {
			return dataRef{}, fmt.Errorf("output %s: uploading to %s: %w", o, uri, err)
		}
		_ = os.RemoveAll(local)
	}
	m, err := datastore.Manifest(ctx, dst)
	if err != nil {
		return dataRef{}, fmt.Errorf("output %s: %w", o, err)
	}
	h := m.Hash()
	if err := r.ws.PutObject(ctx, &state.Object{Hash: h, Path: uri, External: true, Manifest: m}); err != nil {
		return dataRef{}, err
	}
	ds := datasetName(r.p, job, o)
	v, err := r.ws.RegisterVersion(ctx, ds, h, state.Producer{RunID: r.rec.ID, Step: job.Name, Output: o})
	if err != nil {
		return dataRef{}, err
	}
	if err := r.ws.RecordIO(ctx, r.rec.ID, job.Name, "out", state.IO{Name: o, Value: uri, Hash: h, Dataset: ds, Version: v}); err != nil {
		return dataRef{}, err
	}
	return dataRef{Path: uri, Hash: h, Dataset: ds, Version: v, Producer: key}, nil
}

// stateDir is the folder that keeps a step's resumable progress across runs (see
// compute.StepContext.StateDir): <workspace>/state/<step>-<cache key> (the step's name too, so
// that two identical jobs of one pipeline do not share it). Steps that keep nothing there never
// create it; it is removed when the step's outputs are stored, and before a --no-reuse run.
func (r *run) stateDir(step, key string) string {
	return filepath.Join(r.ws.Dir(), "state", step+"-"+key)
}

// progress returns the StepContext.Progress of one attempt: an event for the observers.
func (r *run) progress(step string, attempt int) func(compute.Progress) {
	return func(p compute.Progress) {
		r.emit(Event{Step: step, Status: state.Running, Attempt: attempt, Progress: &p})
	}
}
