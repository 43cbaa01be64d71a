package spec

import (
	"fmt"
	"maps"
	"slices"
	"sync"
)

// baseJobKeys are the keys every job may have, whatever its type.
var baseJobKeys = []string{
	"code", "command", "compute", "environment_variables", "inputs", "outputs",
	"retry", "run_after", "timeout", "type",
	// Accepted for compatibility with Azure ML files, informational here: steps run in the
	// host's environment (environment), and names and tags do not change what a step computes.
	"description", "display_name", "environment", "tags",
}

var registry = struct {
	sync.RWMutex
	types map[string]map[string]Type
}{types: map[string]map[string]Type{}}

func init() {
	RegisterJobType("command", nil)
	RegisterJobType("transfer", nil)
	RegisterJobType("dataflow", nil)
	RegisterJobType("score", map[string]Type{
		"model":      TypeURIFile,
		"labels":     TypeURIFile,
		"batch_size": TypeInteger,
		"topk":       TypeInteger,
		"preprocess": TypeString,
		"format":     TypeString,
	})
	RegisterJobType("stylize", map[string]Type{
		"model":         TypeURIFile,
		"content_scale": TypeNumber,
		"crf":           TypeInteger,
	})
	RegisterJobType("parallel", map[string]Type{
		"mini_batch_size":              TypeInteger,
		"error_threshold":              TypeInteger,
		"allowed_failed_count":         TypeInteger,
		"allowed_failed_percent":       TypeNumber,
		"run_max_try":                  TypeInteger,
		"run_invocation_timeout":       TypeInteger,
		"max_concurrency_per_instance": TypeInteger,
	})
}

// RegisterJobType declares a job type and the keys specific to it, with the type of each
// key's value; a job of that type may carry those keys beside the common ones (type, code,
// command, compute, inputs, outputs, run_after, retry, timeout, environment_variables), and
// finds them in Job.Params. Registering a name again adds its keys to the earlier ones (a
// later registration of a key wins), so that the package implementing a step type can extend
// the set this package starts with: command (no keys), transfer, dataflow, score, stylize and
// parallel. A key of a job whose type declares no such key is an "unknown key" error.
//
// RegisterJobType is meant for init functions; it is safe for concurrent use. It panics when
// name is empty, a key is a common key or not a valid name, or a type is not a known Type,
// since these are programming errors.
func RegisterJobType(name string, params map[string]Type) {
	if name == "" {
		panic("spec: RegisterJobType with an empty name")
	}
	for k, t := range params {
		if slices.Contains(baseJobKeys, k) || !validName(k) {
			panic(fmt.Sprintf("spec: RegisterJobType(%q): key %q is reserved or not a valid name", name, k))
		}
		if !t.Valid() {
			panic(fmt.Sprintf("spec: RegisterJobType(%q): key %q has unknown type %q", name, k, string(t)))
		}
	}
	registry.Lock()
	defer registry.Unlock()
	m := registry.types[name]
	if m == nil {
		m = map[string]Type{}
		registry.types[name] = m
	}
	maps.Copy(m, params)
}

// JobTypes returns the names of the registered job types, sorted.
func JobTypes() []string {
	registry.RLock()
	defer registry.RUnlock()
	return keysOf(registry.types)
}

// JobTypeParams returns a copy of the keys registered for a job type and their types;
// ok is false when the type is not registered.
func JobTypeParams(name string) (params map[string]Type, ok bool) {
	registry.RLock()
	defer registry.RUnlock()
	m, ok := registry.types[name]
	if !ok {
		return nil, false
	}
	return maps.Clone(m), true
}
