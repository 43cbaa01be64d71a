package spec

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Validate checks everything that makes a pipeline runnable and returns an ErrorList (wrapping
// ErrInvalid) with every problem found, sorted by position, or nil. Parse and Builder.Build
// call it; call it again after changing a Pipeline by hand. It does not modify p.
//
// It checks: names ([A-Za-z_][A-Za-z0-9_-]*) of inputs, outputs and jobs, and that a job's
// input and output names differ; types of inputs, outputs and defaults; that there is at
// least one job; job types (registered with RegisterJobType) and their keys; the `command`
// of command jobs and its ${{inputs.X}} / ${{outputs.Y}} references; bindings (the pipeline
// input, job and job output they name exist, and their types fit the declared one);
// compute targets (local, local-gpu, databricks:NAME, hdinsight:NAME, adla[:NAME]);
// run_after (known jobs, not the job itself); retry (max_attempts >= 1, delay >= 0);
// timeouts (>= 0); environment variable names; and dependency cycles.
func (p *Pipeline) Validate() error {
	return p.validate().err()
}

// fill sets what Parse and Build derive rather than read: the default compute and the type
// of pipeline outputs bound to job outputs.
func (p *Pipeline) fill() {
	if p.Settings.DefaultCompute == "" {
		p.Settings.DefaultCompute = "local"
	}
	for _, o := range p.Outputs {
		if o.Type == "" && o.Binding != nil && o.Binding.Kind == BindJobOutput {
			if j := p.Jobs[o.Binding.Job]; j != nil {
				if jo := j.Outputs[o.Binding.Name]; jo != nil {
					o.Type = jo.Type
				}
			}
		}
	}
}

// order returns the names of m in the order of the order slice, followed by any names the
// slice misses (sorted); names of the slice that are not in m are dropped.
func order[V any](names []string, m map[string]V) []string {
	out := make([]string, 0, len(m))
	seen := map[string]bool{}
	for _, n := range names {
		if _, ok := m[n]; ok && !seen[n] {
			out = append(out, n)
			seen[n] = true
		}
	}
	for _, n := range keysOf(m) {
		if !seen[n] {
			out = append(out, n)
		}
	}
	return out
}

var computeRE = regexp.MustCompile(`^(local|local-gpu|adla|(databricks|hdinsight|adla):[A-Za-z0-9_][A-Za-z0-9_.-]*)$`)

const computeForms = "local, local-gpu, databricks:NAME, hdinsight:NAME or adla:NAME"

func (p *Pipeline) validate() ErrorList {
	var errs ErrorList
	if p.Name == "" {
		errs.add(p.pos.at("name", p.Pos), "the pipeline has no name")
	}
	if c := p.Settings.DefaultCompute; c != "" && !computeRE.MatchString(c) {
		errs.add(p.pos.at("settings.default_compute", p.Pos), "settings: default_compute: unknown compute %q (want %s)", c, computeForms)
	}
	for _, name := range order(p.InputOrder, p.Inputs) {
		in := p.Inputs[name]
		if in == nil || in.broken {
			continue
		}
		what := fmt.Sprintf("input %q", name)
		if !validName(name) {
			errs.add(in.Pos, "%s: invalid name (want letters, digits, _ and -, not starting with a digit or -)", what)
		}
		switch {
		case in.Type == "":
			errs.add(in.Pos, "%s: missing required key \"type\"", what)
		case !in.Type.Valid():
			errs.add(in.pos.at("type", in.Pos), "%s: unknown type %q (known: %s)", what, string(in.Type), nameList(knownTypes))
		case in.Default != nil && in.Default.Type != in.Type:
			errs.add(in.pos.at("default", in.Pos), "%s: the default is a %s value, but the input is %s", what, in.Default.Type, in.Type)
		}
	}
	for _, name := range order(p.OutputOrder, p.Outputs) {
		o := p.Outputs[name]
		if o == nil || o.broken {
			continue
		}
		what := fmt.Sprintf("output %q", name)
		if !validName(name) {
			errs.add(o.Pos, "%s: invalid name (want letters, digits, _ and -, not starting with a digit or -)", what)
		}
		if o.Type != "" && !o.Type.IsPath() {
			errs.add(o.pos.at("type", o.Pos), "%s: type must be uri_folder or uri_file, not %q", what, string(o.Type))
		}
		if b := o.Binding; b != nil {
			if b.Kind != BindJobOutput {
				errs.add(b.Pos, "%s: a pipeline output must be bound to a job output ${{parent.jobs.JOB.outputs.NAME}}, not %s", what, b)
				continue
			}
			if src := p.bindingType(&errs, b, what); !compatibleOut(src, o.Type) {
				errs.add(b.Pos, "%s: type mismatch: %s is %s, but the output is %s", what, b, src, o.Type)
			}
		}
	}
	if len(p.Jobs) == 0 {
		if _, ok := p.pos["jobs"]; p.pos != nil && !ok {
			errs.add(p.Pos, "missing required key \"jobs\"")
		} else {
			errs.add(p.pos.at("jobs", p.Pos), "the pipeline has no jobs")
		}
	}
	for _, name := range order(p.JobOrder, p.Jobs) {
		if j := p.Jobs[name]; j != nil && !j.broken {
			p.validateJob(&errs, j)
		}
	}
	p.checkCycles(&errs)
	return errs
}

func compatibleOut(src, dst Type) bool { return src == "" || dst == "" || src == dst }

// bindingType checks that a ${{parent...}} binding names something that exists and returns
// its type ("" when unknown).
func (p *Pipeline) bindingType(errs *ErrorList, b *Binding, what string) Type {
	switch b.Kind {
	case BindParentInput:
		in := p.Inputs[b.Name]
		if in == nil {
			errs.add(b.Pos, "%s: unknown pipeline input %q in %s (inputs: %s)", what, b.Name, b, nameList(keysOf(p.Inputs)))
			return ""
		}
		return in.Type
	case BindJobOutput:
		j := p.Jobs[b.Job]
		if j == nil {
			errs.add(b.Pos, "%s: unknown job %q in %s (jobs: %s)", what, b.Job, b, nameList(keysOf(p.Jobs)))
			return ""
		}
		if j.broken {
			return ""
		}
		o := j.Outputs[b.Name]
		if o == nil {
			errs.add(b.Pos, "%s: job %q has no output %q in %s (outputs: %s)", what, b.Job, b.Name, b, nameList(keysOf(j.Outputs)))
			return ""
		}
		return o.Type
	}
	errs.add(b.Pos, "%s: %s can only appear in a command; bind to ${{parent.inputs.NAME}} or ${{parent.jobs.JOB.outputs.NAME}}", what, b)
	return ""
}

const badName = "invalid name (want letters, digits, _ and -, not starting with a digit or -)"

func (p *Pipeline) validateJob(errs *ErrorList, j *Job) {
	what := fmt.Sprintf("job %q", j.Name)
	if !validName(j.Name) {
		errs.add(j.Pos, "%s: %s", what, badName)
	}
	params, known := JobTypeParams(j.Type)
	switch {
	case j.Type == "":
		errs.add(j.Pos, "%s: missing required key \"type\"", what)
	case !known:
		errs.add(j.pos.at("type", j.Pos), "%s: unknown job type %q (known: %s)", what, j.Type, nameList(JobTypes()))
	}
	if j.Type == "command" && (j.Command == nil || j.Command.Raw == "") {
		errs.add(j.pos.at("command", j.Pos), "%s: missing required key \"command\"", what)
	}
	if c := j.Compute; c != "" && !computeRE.MatchString(c) {
		errs.add(j.pos.at("compute", j.Pos), "%s: unknown compute %q (want %s)", what, c, computeForms)
	}
	if j.Retry.MaxAttempts < 1 {
		errs.add(j.pos.at("retry.max_attempts", j.pos.at("retry", j.Pos)), "%s: retry: max_attempts must be at least 1, not %d", what, j.Retry.MaxAttempts)
	}
	if j.Retry.Delay < 0 {
		errs.add(j.pos.at("retry.delay", j.pos.at("retry", j.Pos)), "%s: retry: delay must not be negative, not %s", what, j.Retry.Delay)
	}
	if j.Timeout < 0 {
		errs.add(j.pos.at("timeout", j.Pos), "%s: timeout must not be negative, not %s", what, j.Timeout)
	}
	for _, k := range keysOf(j.Env) {
		if !validEnvName(k) {
			errs.add(j.pos.at("environment_variables."+k, j.Pos), "%s: invalid environment variable name %q", what, k)
		}
	}
	for i, a := range j.RunAfter {
		pos := j.pos.at("run_after."+strconv.Itoa(i), j.pos.at("run_after", j.Pos))
		switch {
		case a == j.Name:
			errs.add(pos, "%s: run_after names the job itself", what)
		case p.Jobs[a] == nil:
			errs.add(pos, "%s: run_after: unknown job %q (jobs: %s)", what, a, nameList(keysOf(p.Jobs)))
		}
	}
	for _, name := range order(j.InputOrder, j.Inputs) {
		in := j.Inputs[name]
		if in == nil || in.broken {
			continue
		}
		w := fmt.Sprintf("%s: input %q", what, name)
		if !validName(name) {
			errs.add(in.Pos, "%s: %s", w, badName)
		}
		if _, dup := j.Outputs[name]; dup {
			errs.add(in.Pos, "%s: the job also has an output named %q", w, name)
		}
		p.validateJobInput(errs, in, w)
	}
	for _, key := range keysOf(j.Params) {
		in := j.Params[key]
		if in == nil || in.broken {
			continue
		}
		w := fmt.Sprintf("%s: %q", what, key)
		if t, ok := params[key]; !ok {
			if known {
				errs.add(in.Pos, "unknown key %q in %s of type %q (allowed: %s)", key, what, j.Type, nameList(allowedJobKeys(j.Type, params)))
			}
			continue
		} else if in.Type == "" {
			in = &JobInput{Name: in.Name, Binding: in.Binding, Literal: in.Literal, Type: t, Pos: in.Pos, pos: in.pos}
		}
		p.validateJobInput(errs, in, w)
	}
	for _, key := range keysOf(j.Blocks) {
		if known && !isBlockKey(j.Type, key) {
			errs.add(j.KeyPos(key), "unknown key %q in %s of type %q (allowed: %s)", key, what, j.Type, nameList(allowedJobKeys(j.Type, params)))
		}
	}
	if known {
		for _, check := range jobChecks(j.Type) {
			*errs = append(*errs, check(j)...)
		}
	}
	for _, name := range order(j.OutputOrder, j.Outputs) {
		o := j.Outputs[name]
		if o == nil {
			continue
		}
		w := fmt.Sprintf("%s: output %q", what, name)
		if !validName(name) {
			errs.add(o.Pos, "%s: %s", w, badName)
		}
		if !o.Type.IsPath() {
			errs.add(o.pos.at("type", o.Pos), "%s: type must be uri_folder or uri_file, not %q", w, string(o.Type))
		}
		if o.Path != "" && !strings.HasPrefix(o.Path, "azblob://") {
			errs.add(o.pos.at("path", o.Pos), "%s: path must be a data URI (azblob://ACCOUNT/CONTAINER/PREFIX), not %q", w, o.Path)
		} else if o.Path != "" && o.Type == TypeURIFile {
			errs.add(o.pos.at("path", o.Pos), "%s: a path is only supported for uri_folder outputs", w)
		}
	}
	if t := j.Command; t != nil {
		for _, part := range t.Parts {
			b := part.Ref
			if b == nil {
				continue
			}
			pos := b.Pos
			if pos == (Pos{}) {
				pos = t.Pos
			}
			switch b.Kind {
			case BindInput:
				if _, ok := j.Inputs[b.Name]; !ok {
					errs.add(pos, "%s: command: unknown input %q in %s (inputs: %s)", what, b.Name, b, nameList(keysOf(j.Inputs)))
				}
			case BindOutput:
				if _, ok := j.Outputs[b.Name]; !ok {
					errs.add(pos, "%s: command: unknown output %q in %s (outputs: %s)", what, b.Name, b, nameList(keysOf(j.Outputs)))
				}
			default:
				errs.add(pos, "%s: command: %s cannot appear in a command: use ${{inputs.NAME}} or ${{outputs.NAME}} and bind the job input", what, b)
			}
		}
	}
}

func (p *Pipeline) validateJobInput(errs *ErrorList, in *JobInput, what string) {
	if in.Type != "" && !in.Type.Valid() {
		errs.add(in.pos.at("type", in.Pos), "%s: unknown type %q (known: %s)", what, string(in.Type), nameList(knownTypes))
		return
	}
	switch {
	case in.Binding == nil && in.Literal == nil:
		errs.add(in.Pos, "%s has no value", what)
	case in.Binding != nil && in.Literal != nil:
		errs.add(in.Pos, "%s has both a binding and a literal value", what)
	case in.Binding != nil:
		b := in.Binding
		src := p.bindingType(errs, b, what)
		if !compatible(src, in.Type) {
			var from string
			if b.Kind == BindParentInput {
				from = fmt.Sprintf("pipeline input %q", b.Name)
			} else {
				from = fmt.Sprintf("output %q of job %q", b.Name, b.Job)
			}
			errs.add(b.Pos, "%s: type mismatch: %s is %s, but %q is declared %s", what, from, src, in.Name, in.Type)
		}
	default:
		if !in.Literal.Type.Valid() {
			errs.add(in.Pos, "%s: literal of unknown type %q", what, string(in.Literal.Type))
		} else if in.Type != "" && in.Literal.Type != in.Type {
			errs.add(in.Pos, "%s: the value is %s, but %q is declared %s", what, in.Literal.Type, in.Name, in.Type)
		}
	}
}
