package registry

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluice-ml/sluice/engine/dataflow"
	"github.com/sluice-ml/sluice/engine/spec"
)

// Env is what operators may need of the job they run in.
type Env struct {
	InputDir string    // the folder the items' paths are relative to
	WorkDir  string    // the job's code folder: commands run there
	Environ  []string  // the environment of processes (nil: this process's)
	Log      io.Writer // the step's log (commands' standard error goes there); may be nil
	TempDir  string    // scratch files (listing files); "" for os.TempDir()
	// Inputs are the job's inputs and parameters: name → value (absolute paths for data), for
	// options that name one (see Options.Input): a model given as a job input is versioned and
	// part of the step's cache key, like any input.
	Inputs map[string]string
}

// Factory makes the stage of one operator from its options: in is the schema of the batches
// the stage will receive; it returns the stage and the schema of the batches it emits (with
// `path` and `error`, every other column nullable). A factory must read all its options
// before returning (see Options) and should return o.Err() when it is not nil.
type Factory func(env *Env, in *arrow.Schema, o *Options) (dataflow.Stage, *arrow.Schema, error)

var registry = struct {
	sync.RWMutex
	m map[string]Factory
}{m: map[string]Factory{}}

// Register names an operator. Meant for init functions; it panics when name is empty or
// already registered.
func Register(name string, f Factory) {
	if name == "" || f == nil {
		panic("registry: Register with an empty name or a nil factory")
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.m[name]; dup {
		panic(fmt.Sprintf("registry: operator %q registered twice", name))
	}
	registry.m[name] = f
}

// Names returns the registered operator names, sorted.
func Names() []string {
	registry.RLock()
	defer registry.RUnlock()
	out := make([]string, 0, len(registry.m))
	for k := range registry.m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func lookup(name string) (Factory, bool) {
	registry.RLock()
	defer registry.RUnlock()
	f, ok := registry.m[name]
	return f, ok
}

// commonKeys are handled by Build for every operator.
var commonKeys = []string{"name", "op", "ordered", "queue_batches", "queue_bytes", "workers"}

// Check checks the shape of an operator chain without building it: a non-empty list of
// mappings, each with a registered `op`. The errors carry the positions of the problems.
func Check(chain *spec.Node) spec.ErrorList {
	var errs spec.ErrorList
	if chain == nil || chain.Kind != spec.NodeList || len(chain.Items) == 0 {
		pos := spec.Pos{}
		if chain != nil {
			pos = chain.Pos
		}
		return append(errs, spec.NewError(pos, "operators: want a non-empty list of operators ({op: NAME, ...}), not %s", chain.KindName()))
	}
	for i, n := range chain.Items {
		what := fmt.Sprintf("operator %d", i+1)
		if n.Kind != spec.NodeMap {
			errs = append(errs, spec.NewError(n.Pos, "%s: want a mapping {op: NAME, ...}, not %s", what, n.KindName()))
			continue
		}
		f := n.Get("op")
		switch {
		case f == nil:
			errs = append(errs, spec.NewError(n.Pos, "%s: missing required key \"op\" (known operators: %s)", what, strings.Join(Names(), ", ")))
		case f.Value.Kind != spec.NodeScalar:
			errs = append(errs, spec.NewError(f.Value.Pos, "%s: op must be a name, not %s", what, f.Value.KindName()))
		default:
			if _, ok := lookup(f.Value.Value); !ok {
				errs = append(errs, spec.NewError(f.Value.Pos, "%s: unknown operator %q (known: %s)", what, f.Value.Value, strings.Join(Names(), ", ")))
			}
		}
	}
	return errs
}

// Build makes the stages of an operator chain (see the package documentation) for batches of
// dataflow.ItemSchema and returns them with the schema of the last stage's output. Its errors
// are a spec.ErrorList (errors.Is(err, spec.ErrInvalid)) when the chain or an option is wrong,
// or the error of a factory.
func Build(env *Env, chain *spec.Node) ([]dataflow.Stage, *arrow.Schema, error) {
	if errs := Check(chain); len(errs) > 0 {
		return nil, nil, errs
	}
	if env == nil {
		env = &Env{}
	}
	schema := dataflow.ItemSchema
	stages := make([]dataflow.Stage, 0, len(chain.Items))
	for i, n := range chain.Items {
		name := n.Get("op").Value.Value
		o := &Options{op: name, index: i + 1, node: n, used: map[string]bool{"op": true}, inputs: env.Inputs}
		f, _ := lookup(name)
		stage, out, err := f(env, schema, o)
		if err != nil {
			return nil, nil, err
		}
		if err := o.Err(); err != nil {
			return nil, nil, err
		}
		if out == nil {
			return nil, nil, o.Errorf("", "the operator returned no output schema")
		}
		if err := dataflow.CheckItemSchema(out); err != nil {
			return nil, nil, o.Errorf("", "output schema: %v", err)
		}
		if stage.Op == nil && stage.NewOp == nil {
			return nil, nil, o.Errorf("", "the operator returned no Operator")
		}
		stage.Name = o.String("name", cmpOr(stage.Name, name))
		if o.Has("workers") {
			stage.Workers = o.Int("workers", 1)
			if stage.Workers < 1 {
				o.Errorf("workers", "workers must be at least 1, not %d", stage.Workers)
			}
		}
		stage.Ordered = o.Bool("ordered", stage.Ordered)
		stage.QueueBatches = o.Int("queue_batches", stage.QueueBatches)
		stage.QueueBytes = o.Size("queue_bytes", stage.QueueBytes)
		if err := o.unknown(); err != nil {
			return nil, nil, err
		}
		stages = append(stages, stage)
		schema = out
	}
	return stages, schema, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Options are one operator's options with typed accessors. An accessor returns the default
// when the key is absent and records a problem (see Err) when the value does not fit; every
// key read counts as known, and Build reports the others as unknown options.
type Options struct {
	op     string
	index  int
	node   *spec.Node
	used   map[string]bool
	errs   spec.ErrorList
	inputs map[string]string
}

// Op is the operator's name.
func (o *Options) Op() string { return o.op }

// Err returns the problems recorded so far (a spec.ErrorList), or nil.
func (o *Options) Err() error {
	if len(o.errs) == 0 {
		return nil
	}
	return o.errs
}

// Errorf records a problem with key ("" for the operator as a whole), at the position of its
// value, and returns the problems recorded so far.
func (o *Options) Errorf(key, format string, args ...any) error {
	pos := o.node.Pos
	if f := o.node.Get(key); f != nil {
		pos = f.Value.Pos
	}
	what := fmt.Sprintf("operator %d (%s)", o.index, o.op)
	if key != "" {
		what += ": " + key
	}
	o.errs = append(o.errs, spec.NewError(pos, "%s: %s", what, fmt.Sprintf(format, args...)))
	return o.errs
}

// Has reports whether key is given (and marks it known).
func (o *Options) Has(key string) bool {
	o.used[key] = true
	f := o.node.Get(key)
	return f != nil && f.Value.Kind != spec.NodeNull
}

// scalar returns the text of key; ok is false when absent (or null) or not a single value.
func (o *Options) scalar(key string) (string, bool) {
	if !o.Has(key) {
		return "", false
	}
	v := o.node.Get(key).Value
	if v.Kind != spec.NodeScalar {
		o.Errorf(key, "want a single value, not %s", v.KindName())
		return "", false
	}
	return v.Value, true
}

// String returns key's text.
func (o *Options) String(key, def string) string {
	if s, ok := o.scalar(key); ok {
		return s
	}
	return def
}

// Required returns key's text, recording a problem when it is absent or empty.
func (o *Options) Required(key string) string {
	s := o.String(key, "")
	if s == "" && o.node.Get(key) == nil {
		o.Errorf("", "missing required option %q", key)
	} else if s == "" {
		o.Errorf(key, "must not be empty")
	}
	return s
}

// Input returns the value of the job input that key names ({op: infer, model: weights} with
// inputs: {weights: {type: uri_file, path: ./m.onnx}} gives the model's absolute path),
// recording a problem when key is absent or names no input of the job.
func (o *Options) Input(key string) string {
	name := o.Required(key)
	if name == "" {
		return ""
	}
	v, ok := o.inputs[name]
	if !ok {
		names := make([]string, 0, len(o.inputs))
		for k := range o.inputs {
			names = append(names, k)
		}
		slices.Sort(names)
		o.Errorf(key, "%q is not an input of the job (inputs: %s)", name, strings.Join(names, ", "))
		return ""
	}
	return v
}

// Int returns key as an int (decimal, or an integral number like 1e3).
func (o *Options) Int(key string, def int) int {
	s, ok := o.scalar(key)
	if !ok {
		return def
	}
	v, err := spec.ParseValue(spec.TypeInteger, s)
	if err != nil || v.Int > math.MaxInt32 || v.Int < math.MinInt32 {
		o.Errorf(key, "%q is not an integer", s)
		return def
	}
	return int(v.Int)
}

// Float returns key as a number.
func (o *Options) Float(key string, def float64) float64 {
	s, ok := o.scalar(key)
	if !ok {
		return def
	}
	v, err := spec.ParseValue(spec.TypeNumber, s)
	if err != nil {
		o.Errorf(key, "%q is not a number", s)
		return def
	}
	return v.Float
}

// Bool returns key as a boolean (true/false, yes/no, on/off).
func (o *Options) Bool(key string, def bool) bool {
	s, ok := o.scalar(key)
	if !ok {
		return def
	}
	v, err := spec.ParseValue(spec.TypeBoolean, s)
	if err != nil {
		o.Errorf(key, "%q is not a boolean (want true or false)", s)
		return def
	}
	return v.Bool
}

// Size returns key as a number of bytes: "1048576", "64KB", "10MB", "1.5GB" (see ParseSize).
func (o *Options) Size(key string, def int64) int64 {
	s, ok := o.scalar(key)
	if !ok {
		return def
	}
	n, err := ParseSize(s)
	if err != nil {
		o.Errorf(key, "%v", err)
		return def
	}
	return n
}

// Duration returns key as a duration: "30s", "1m30s", or a number of seconds.
func (o *Options) Duration(key string, def time.Duration) time.Duration {
	s, ok := o.scalar(key)
	if !ok {
		return def
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return d
	}
	if v, err := spec.ParseValue(spec.TypeNumber, s); err == nil && v.Float >= 0 && v.Float < math.MaxInt64/1e9 {
		return time.Duration(v.Float * float64(time.Second))
	}
	o.Errorf(key, "%q is not a duration (want e.g. 30s, 1m30s or a number of seconds)", s)
	return def
}

// Strings returns key as a list of values; a single value is a list of one.
func (o *Options) Strings(key string) []string {
	if !o.Has(key) {
		return nil
	}
	v := o.node.Get(key).Value
	if v.Kind == spec.NodeScalar {
		return []string{v.Value}
	}
	if v.Kind != spec.NodeList {
		o.Errorf(key, "want a list of values, not %s", v.KindName())
		return nil
	}
	out := make([]string, 0, len(v.Items))
	for _, it := range v.Items {
		if it.Kind != spec.NodeScalar {
			o.Errorf(key, "want a list of values, but an entry is %s", it.KindName())
			return nil
		}
		out = append(out, it.Value)
	}
	return out
}

// unknown reports the keys no accessor asked for.
func (o *Options) unknown() error {
	var known []string
	for k := range o.used {
		known = append(known, k)
	}
	slices.Sort(known)
	for _, f := range o.node.Fields {
		if !o.used[f.Key] {
			o.errs = append(o.errs, spec.NewError(f.KeyPos, "operator %d (%s): unknown option %q (allowed: %s)",
				o.index, o.op, f.Key, strings.Join(known, ", ")))
		}
	}
	return o.Err()
}

// ParseSize reads a size in bytes: a whole number, optionally followed by a unit B, KB, MB,
// GB or TB (powers of 1024; KiB, MiB, GiB, TiB are the same), in any case, with or without a
// space; a fraction is allowed with a unit ("1.5GB"). The result is positive.
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return !(r >= '0' && r <= '9' || r == '.') })
	num, unit := t, ""
	if i >= 0 {
		num, unit = strings.TrimSpace(t[:i]), strings.ToUpper(strings.TrimSpace(t[i:]))
	}
	mult := map[string]float64{"": 1, "B": 1, "KB": 1 << 10, "KIB": 1 << 10, "K": 1 << 10, "MB": 1 << 20, "MIB": 1 << 20,
		"M": 1 << 20, "GB": 1 << 30, "GIB": 1 << 30, "G": 1 << 30, "TB": 1 << 40, "TIB": 1 << 40, "T": 1 << 40}[unit]
	f, err := strconv.ParseFloat(num, 64)
	if mult == 0 || num == "" || err != nil || f <= 0 || f*mult >= math.MaxInt64 || unit == "" && f != math.Trunc(f) {
		return 0, fmt.Errorf("%q is not a size (want e.g. 1000, 64KB, 10MB, 1.5GB)", s)
	}
	n := int64(f * mult)
	if n < 1 {
		return 0, fmt.Errorf("%q is less than one byte", s)
	}
	return n, nil
}
