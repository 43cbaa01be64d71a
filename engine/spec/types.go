package spec

import (
	"fmt"
	"time"
)

// Type is the type of a pipeline or job input, or of an output.
type Type string

// The input and output types of DESIGN.md §4.
const (
	TypeString    Type = "string"
	TypeInteger   Type = "integer"
	TypeNumber    Type = "number"
	TypeBoolean   Type = "boolean"
	TypeURIFolder Type = "uri_folder"
	TypeURIFile   Type = "uri_file"
)

// IsPath reports whether values of t name data (a folder or a file) rather than a parameter.
func (t Type) IsPath() bool { return t == TypeURIFolder || t == TypeURIFile }

// Pos is a place in a pipeline file. Line and Col count from 1; a zero Pos means
// "built in code" and prints as the file name alone (or "<code>").
type Pos struct {
	File string
	Line int
	Col  int
}

// String formats the position as "file:line:col", or the file alone when the line is unknown.
func (p Pos) String() string {
	f := p.File
	if f == "" {
		f = "<code>"
	}
	if p.Line == 0 {
		return f
	}
	return fmt.Sprintf("%s:%d:%d", f, p.Line, p.Col)
}

// Value is a typed parameter value. For uri_folder and uri_file, Str holds the path
// (relative paths are resolved against Pipeline.Dir by the executor, not here).
type Value struct {
	Type  Type
	Str   string
	Int   int64
	Float float64
	Bool  bool
}

// Pipeline is a parsed, validated pipeline: what a pipeline file or the Go builder describes.
// Maps are keyed by name; the Order slices keep the file's order for display.
type Pipeline struct {
	File        string // the file it was read from; "" when built in code
	Dir         string // folder that relative paths (code, input paths) are resolved against
	Name        string
	Description string
	Inputs      map[string]*Input
	InputOrder  []string
	Outputs     map[string]*Output
	OutputOrder []string
	Settings    Settings
	Jobs        map[string]*Job
	JobOrder    []string
	Pos         Pos

	pos posTable // where the keys were found (parsed pipelines only)
}

// Settings are the pipeline-wide settings.
type Settings struct {
	DefaultCompute        string // "local" when not set
	ContinueOnStepFailure bool
	ForceRerun            bool // force_rerun: run every step, reuse nothing
}

// Input is a pipeline input (a parameter or a data path). Default is nil when the
// input is required; for uri types a `path:` is its default.
type Input struct {
	Name        string
	Type        Type
	Default     *Value
	Optional    bool
	Description string
	Pos         Pos

	pos    posTable
	broken bool // a parse error was reported for it; Validate skips it
}

// Output is a pipeline output, bound to a job output.
type Output struct {
	Name    string
	Type    Type
	Binding *Binding // nil when the output is declared but not bound
	Pos     Pos

	pos    posTable
	broken bool
}

// Job is one step of a pipeline.
type Job struct {
	Name        string
	Type        string // command, transfer, score, stylize, dataflow, parallel
	Code        string // folder snapshot for the step, as written (relative to Pipeline.Dir)
	Command     *Template
	Compute     string // "" means Settings.DefaultCompute
	Inputs      map[string]*JobInput
	InputOrder  []string
	Outputs     map[string]*JobOutput
	OutputOrder []string
	RunAfter    []string
	Retry       Retry
	Timeout     time.Duration     // 0: none
	Env         map[string]string // environment_variables
	// Params holds the keys specific to the job type (model, labels, batch_size for score...),
	// each either a literal Value or a Binding to a pipeline input.
	Params map[string]*JobInput
	// Blocks holds the structured keys of the job type (see RegisterJobBlock), such as the
	// operator chain of a dataflow job; nil when it has none.
	Blocks map[string]*Node
	Pos    Pos

	pos    posTable
	broken bool
}

// Retry says how often a failed step is tried and how long to wait between tries.
// MaxAttempts counts all tries (1 = no retry). The wait doubles after each failure,
// starting from Delay.
type Retry struct {
	MaxAttempts int
	Delay       time.Duration
}

// JobInput is a job input: either bound (${{parent.inputs.X}} or ${{parent.jobs.J.outputs.Y}})
// or a literal (a parameter value, or {type: uri_folder, path: ...}).
type JobInput struct {
	Name    string
	Binding *Binding
	Literal *Value
	// Type is the declared type: the `type:` of the {type: ..., path: ...} form, or the type
	// a job type registered for a parameter (see RegisterJobType); "" when not declared.
	Type Type
	Pos  Pos

	pos    posTable
	broken bool
}

// JobOutput is a folder or file a job writes. DatasetName names the dataset its versions are
// registered under; when empty the executor uses "<pipeline>.<job>.<output>". Path, when set,
// is where the output must end up: a data URI (azblob://ACCOUNT/CONTAINER/PREFIX) whose content
// becomes the output's version, instead of a folder in the workspace's store.
type JobOutput struct {
	Name        string
	Type        Type
	DatasetName string
	Path        string
	Pos         Pos

	pos posTable
}

// BindingKind says what a binding refers to.
type BindingKind int

const (
	// BindParentInput is ${{parent.inputs.Name}}.
	BindParentInput BindingKind = iota
	// BindJobOutput is ${{parent.jobs.Job.outputs.Name}}.
	BindJobOutput
	// BindInput is ${{inputs.Name}} (inside a command: the job's own input).
	BindInput
	// BindOutput is ${{outputs.Name}} (inside a command: the job's own output).
	BindOutput
)

// Binding is a ${{...}} reference.
type Binding struct {
	Kind BindingKind
	Job  string // for BindJobOutput
	Name string
	Pos  Pos
}

// String returns the binding as it is written in a file, e.g. "${{parent.inputs.images}}".
func (b *Binding) String() string {
	switch b.Kind {
	case BindParentInput:
		return "${{parent.inputs." + b.Name + "}}"
	case BindJobOutput:
		return "${{parent.jobs." + b.Job + ".outputs." + b.Name + "}}"
	case BindInput:
		return "${{inputs." + b.Name + "}}"
	default:
		return "${{outputs." + b.Name + "}}"
	}
}

// Template is a command line with ${{inputs.X}} / ${{outputs.Y}} references.
// Parts alternate between literal text (Ref == nil) and references.
type Template struct {
	Raw   string
	Parts []TemplatePart
	Pos   Pos
}

// TemplatePart is a literal piece of a command, or a reference.
type TemplatePart struct {
	Text string
	Ref  *Binding
}
