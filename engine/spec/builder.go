package spec

import (
	"path/filepath"
	"time"
)

// Builder builds a pipeline in Go code, the equivalent of a pipeline file. Methods record
// what they are given and return the Builder, so calls chain; mistakes (a name declared
// twice, a malformed command) are collected and reported by Build together with everything
// Validate finds. A Builder builds one pipeline: do not use it after Build.
//
//	p, err := spec.New("score-images").
//		Input("images", spec.TypeURIFolder, spec.Path("./sample/images")).
//		Job(spec.Command("prep", "./prep.sh ${{inputs.raw}} ${{outputs.clean}}").
//			Code("./steps/prep").
//			In("raw", spec.FromInput("images")).
//			Out("clean", spec.TypeURIFolder)).
//		Build(".")
type Builder struct {
	p    *Pipeline
	errs ErrorList
	jobs []*JobBuilder
}

// New starts a pipeline called name.
func New(name string) *Builder {
	return &Builder{p: &Pipeline{
		Name:    name,
		Inputs:  map[string]*Input{},
		Outputs: map[string]*Output{},
		Jobs:    map[string]*Job{},
	}}
}

// Description sets the pipeline's description.
func (b *Builder) Description(s string) *Builder {
	b.p.Description = s
	return b
}

// InputOption qualifies a pipeline input declared with Builder.Input: a default value (Int,
// Float, Str, Bool, Path, File), Optional or Describe.
type InputOption interface {
	applyInput(in *Input)
}

type inputOptionFunc func(in *Input)

func (f inputOptionFunc) applyInput(in *Input) { f(in) }

// Optional marks a pipeline input as optional: without a value it is absent from Resolve's result.
func Optional() InputOption { return inputOptionFunc(func(in *Input) { in.Optional = true }) }

// Describe sets a pipeline input's description.
func Describe(s string) InputOption {
	return inputOptionFunc(func(in *Input) { in.Description = s })
}

// Input declares a pipeline input of type t; without a default value option it is required
// (unless Optional).
func (b *Builder) Input(name string, t Type, opts ...InputOption) *Builder {
	if _, dup := b.p.Inputs[name]; dup {
		b.errs.add(Pos{}, "input %q declared twice", name)
		return b
	}
	in := &Input{Name: name, Type: t}
	for _, o := range opts {
		if o != nil {
			o.applyInput(in)
		}
	}
	b.p.Inputs[name] = in
	b.p.InputOrder = append(b.p.InputOrder, name)
	return b
}

// Output declares a pipeline output bound to a job's output (from must be FromJob); its type
// is the job output's.
func (b *Builder) Output(name string, from Arg) *Builder {
	if _, dup := b.p.Outputs[name]; dup {
		b.errs.add(Pos{}, "output %q declared twice", name)
		return b
	}
	o := &Output{Name: name}
	if bb, ok := from.(bindArg); ok {
		o.Binding = bb.binding()
	} else {
		b.errs.add(Pos{}, "output %q: want a binding made by FromJob", name)
	}
	b.p.Outputs[name] = o
	b.p.OutputOrder = append(b.p.OutputOrder, name)
	return b
}

// DefaultCompute sets settings.default_compute (the compute of jobs without one; "local"
// when not set).
func (b *Builder) DefaultCompute(c string) *Builder {
	b.p.Settings.DefaultCompute = c
	return b
}

// ContinueOnStepFailure sets settings.continue_on_step_failure.
func (b *Builder) ContinueOnStepFailure(v bool) *Builder {
	b.p.Settings.ContinueOnStepFailure = v
	return b
}

// ForceRerun sets settings.force_rerun.
func (b *Builder) ForceRerun(v bool) *Builder {
	b.p.Settings.ForceRerun = v
	return b
}

// Job adds a job, made by Command or NewJob. Jobs are listed in the order they are added.
func (b *Builder) Job(j *JobBuilder) *Builder {
	if j == nil {
		return b
	}
	if _, dup := b.p.Jobs[j.j.Name]; dup {
		b.errs.add(Pos{}, "job %q declared twice", j.j.Name)
		return b
	}
	b.p.Jobs[j.j.Name] = j.j
	b.p.JobOrder = append(b.p.JobOrder, j.j.Name)
	b.jobs = append(b.jobs, j)
	return b
}

// Build returns the pipeline, validated as Parse validates a file; dir is the folder that
// relative paths (code folders, input paths) are resolved against (made absolute; ""
// is the working directory). The error is an ErrorList wrapping ErrInvalid; its positions
// are zero ("<code>") and its messages name what they concern.
func (b *Builder) Build(dir string) (*Pipeline, error) {
	p := b.p
	if abs, err := filepath.Abs(dir); err == nil {
		p.Dir = abs
	} else {
		p.Dir = dir
	}
	errs := append(ErrorList(nil), b.errs...)
	for _, jb := range b.jobs {
		errs = append(errs, jb.errs...)
		if params, ok := JobTypeParams(jb.j.Type); ok {
			for key, in := range jb.j.Params {
				t, ok := params[key]
				if !ok {
					continue // Validate reports it
				}
				in.Type = t
				if in.Literal != nil && in.Literal.Type != t {
					v, msg := parseValue(t, in.Literal.String())
					if msg != "" {
						errs.add(Pos{}, "job %q: %q: %s", jb.j.Name, key, msg)
						in.broken = true
						continue
					}
					in.Literal = &v
				}
			}
		}
	}
	p.fill()
	errs = append(errs, p.validate()...)
	if err := errs.err(); err != nil {
		return nil, err
	}
	return p, nil
}

// Arg is what a job input or parameter is set to: a binding (FromInput, FromJob) or a
// literal value (Int, Float, Str, Bool, Path, File), optionally with a declared type (Typed).
type Arg interface {
	jobInput(name string) *JobInput
}

type bindArg interface {
	Arg
	binding() *Binding
}

type binding struct{ b Binding }

func (a binding) jobInput(name string) *JobInput {
	return &JobInput{Name: name, Binding: a.binding()}
}

func (a binding) binding() *Binding { b := a.b; return &b }

// FromInput binds to the pipeline input name: ${{parent.inputs.NAME}}.
func FromInput(name string) Arg { return binding{Binding{Kind: BindParentInput, Name: name}} }

// FromJob binds to output of job: ${{parent.jobs.JOB.outputs.OUTPUT}}.
func FromJob(job, output string) Arg {
	return binding{Binding{Kind: BindJobOutput, Job: job, Name: output}}
}

// Lit is a literal value: a job input or parameter (as an Arg), or a pipeline input's
// default (as an InputOption).
type Lit struct{ v Value }

func (l Lit) jobInput(name string) *JobInput {
	v := l.v
	in := &JobInput{Name: name, Literal: &v}
	if v.Type.IsPath() { // a path literal is written {type: uri_folder, path: ...} in a file
		in.Type = v.Type
	}
	return in
}

func (l Lit) applyInput(in *Input) {
	v := l.v
	switch {
	case v.Type.IsPath() && in.Type.IsPath():
		v.Type = in.Type
	case v.Type == TypeInteger && in.Type == TypeNumber:
		v = Value{Type: TypeNumber, Float: float64(v.Int)}
	}
	in.Default = &v
}

// Int is an integer literal.
func Int(n int64) Lit { return Lit{Value{Type: TypeInteger, Int: n}} }

// Float is a number literal.
func Float(f float64) Lit { return Lit{Value{Type: TypeNumber, Float: f}} }

// Str is a string literal.
func Str(s string) Lit { return Lit{Value{Type: TypeString, Str: s}} }

// Bool is a boolean literal.
func Bool(b bool) Lit { return Lit{Value{Type: TypeBoolean, Bool: b}} }

// Path is a folder (uri_folder) literal; as a default of a uri_file input, it is that file.
func Path(p string) Lit { return Lit{Value{Type: TypeURIFolder, Str: p}} }

// File is a file (uri_file) literal.
func File(p string) Lit { return Lit{Value{Type: TypeURIFile, Str: p}} }

type typed struct {
	t Type
	a Arg
}

func (a typed) jobInput(name string) *JobInput {
	if a.a == nil {
		return &JobInput{Name: name, Type: a.t} // Validate: no value
	}
	in := a.a.jobInput(name)
	in.Type = a.t
	return in
}

// Typed declares the type of a job input, as {type: T, path: ...} does in a file; Validate
// then checks that what it is bound to fits.
func Typed(t Type, a Arg) Arg { return typed{t, a} }

// JobBuilder builds one job; see Command and NewJob. Its methods return it, so calls chain.
type JobBuilder struct {
	j    *Job
	errs ErrorList
}

// NewJob starts a job of the given type (see RegisterJobType).
func NewJob(name, jobType string) *JobBuilder {
	return &JobBuilder{j: &Job{
		Name:    name,
		Type:    jobType,
		Inputs:  map[string]*JobInput{},
		Outputs: map[string]*JobOutput{},
		Params:  map[string]*JobInput{},
		Retry:   Retry{MaxAttempts: 1},
	}}
}

// Command starts a command job running command, a command line with ${{inputs.X}} and
// ${{outputs.Y}} references.
func Command(name, command string) *JobBuilder {
	return NewJob(name, "command").CommandLine(command)
}

// CommandLine sets the job's command (for command jobs, and job types that run one).
func (jb *JobBuilder) CommandLine(command string) *JobBuilder {
	parts, _, probs := parseTemplate(command)
	for _, pr := range probs {
		jb.errs.add(Pos{}, "job %q: command: %s", jb.j.Name, pr.Msg)
	}
	jb.j.Command = &Template{Raw: command, Parts: parts}
	return jb
}

// Code sets the job's code folder, relative to the pipeline's folder.
func (jb *JobBuilder) Code(dir string) *JobBuilder {
	jb.j.Code = dir
	return jb
}

// Compute sets the job's compute target (local, local-gpu, databricks:NAME, ...).
func (jb *JobBuilder) Compute(c string) *JobBuilder {
	jb.j.Compute = c
	return jb
}

// Env sets an environment variable of the job.
func (jb *JobBuilder) Env(name, value string) *JobBuilder {
	if jb.j.Env == nil {
		jb.j.Env = map[string]string{}
	}
	jb.j.Env[name] = value
	return jb
}

// In sets the job input name to a binding or a literal.
func (jb *JobBuilder) In(name string, a Arg) *JobBuilder {
	if _, dup := jb.j.Inputs[name]; dup {
		jb.errs.add(Pos{}, "job %q: input %q declared twice", jb.j.Name, name)
		return jb
	}
	if a == nil {
		jb.errs.add(Pos{}, "job %q: input %q has no value", jb.j.Name, name)
		return jb
	}
	jb.j.Inputs[name] = a.jobInput(name)
	jb.j.InputOrder = append(jb.j.InputOrder, name)
	return jb
}

// Param sets a key specific to the job's type (model, batch_size...) to a binding or a
// literal; Build converts a literal to the type registered for the key, as Parse does.
func (jb *JobBuilder) Param(key string, a Arg) *JobBuilder {
	if _, dup := jb.j.Params[key]; dup {
		jb.errs.add(Pos{}, "job %q: %q set twice", jb.j.Name, key)
		return jb
	}
	if a == nil {
		jb.errs.add(Pos{}, "job %q: %q has no value", jb.j.Name, key)
		return jb
	}
	jb.j.Params[key] = a.jobInput(key)
	return jb
}

// Out declares the job output name of type t (uri_folder or uri_file).
func (jb *JobBuilder) Out(name string, t Type) *JobBuilder {
	return jb.OutDataset(name, t, "")
}

// OutDataset declares the job output name of type t, registered under the dataset name
// dataset (see JobOutput.DatasetName).
func (jb *JobBuilder) OutDataset(name string, t Type, dataset string) *JobBuilder {
	if _, dup := jb.j.Outputs[name]; dup {
		jb.errs.add(Pos{}, "job %q: output %q declared twice", jb.j.Name, name)
		return jb
	}
	jb.j.Outputs[name] = &JobOutput{Name: name, Type: t, DatasetName: dataset}
	jb.j.OutputOrder = append(jb.j.OutputOrder, name)
	return jb
}

// OutPath declares the job output name of type t, written to the data URI path (see
// JobOutput.Path).
func (jb *JobBuilder) OutPath(name string, t Type, path string) *JobBuilder {
	jb.OutDataset(name, t, "")
	if o := jb.j.Outputs[name]; o != nil {
		o.Path = path
	}
	return jb
}

// After makes the job run after the named jobs, besides those whose outputs it reads.
func (jb *JobBuilder) After(jobs ...string) *JobBuilder {
	jb.j.RunAfter = append(jb.j.RunAfter, jobs...)
	return jb
}

// Retry sets how many times the job is tried in all (1 = no retry) and the first wait
// between tries.
func (jb *JobBuilder) Retry(maxAttempts int, delay time.Duration) *JobBuilder {
	jb.j.Retry = Retry{MaxAttempts: maxAttempts, Delay: delay}
	return jb
}

// Timeout limits one try of the job; 0 means no limit.
func (jb *JobBuilder) Timeout(d time.Duration) *JobBuilder {
	jb.j.Timeout = d
	return jb
}
