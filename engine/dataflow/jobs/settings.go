package jobs

import (
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-ml/sluice/engine/dataflow"
	"github.com/sluice-ml/sluice/engine/dataflow/partition"
	"github.com/sluice-ml/sluice/engine/dataflow/registry"
	"github.com/sluice-ml/sluice/engine/spec"
	"github.com/sluice-ml/sluice/ops/writers"
)

// Job type names.
const (
	TypeParallel = "parallel"
	TypeDataflow = "dataflow"
)

// DefaultAppendRowFile is the append_row file of a parallel job that names none (Azure ML's).
const DefaultAppendRowFile = "parallel_run_step.txt"

// commonKeys are the keys of both job types.
var commonKeys = map[string]spec.Type{
	"mini_batch_size":        spec.TypeString,
	"partition_keys":         spec.TypeString,
	"error_threshold":        spec.TypeInteger,
	"allowed_failed_count":   spec.TypeInteger,
	"allowed_failed_percent": spec.TypeNumber,
	"run_max_try":            spec.TypeInteger,
	"run_invocation_timeout": spec.TypeInteger,
	"output_format":          spec.TypeString,
	"input_data":             spec.TypeString,
}

// parallelKeys are the keys of parallel jobs only.
var parallelKeys = map[string]spec.Type{
	"process_count_per_node":       spec.TypeInteger,
	"max_concurrency_per_instance": spec.TypeInteger,
	"append_row_file_name":         spec.TypeString,
}

// settings are a job's keys, decoded.
type settings struct {
	count     int   // mini-batch size in items
	bytes     int64 // or in bytes
	keys      string
	thr       dataflow.Thresholds
	maxTries  int
	timeout   time.Duration
	workers   int
	format    string
	appendRow string
	input     string // the input holding the items
}

// keyError is a problem with one key's value.
type keyError struct{ key, msg string }

// decode reads the keys of a job of type jobType through get (the key's text and whether it
// has a value) and returns the settings and the problems found. It checks values only; keys
// whose value is not known yet (bound to a pipeline input, at parse time) are skipped by get.
func decode(j *spec.Job, get func(key string) (string, bool)) (settings, []keyError) {
	s := settings{count: 10, thr: dataflow.IgnoreFailures, maxTries: 3, timeout: 60 * time.Second,
		workers: runtime.NumCPU(), format: "parquet"}
	var errs []keyError
	bad := func(key, format string, args ...any) {
		errs = append(errs, keyError{key, fmt.Sprintf(format, args...)})
	}
	integer := func(key string, min int64, what string) (int64, bool) {
		v, ok := get(key)
		if !ok {
			return 0, false
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil || n < min || n > 1<<31 {
			bad(key, "%q is not %s", v, what)
			return 0, false
		}
		return n, true
	}
	if v, ok := get("mini_batch_size"); ok {
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
			if n < 1 || n > 1<<31 {
				bad("mini_batch_size", "%q: a mini-batch holds at least one item", v)
			}
			s.count = int(n)
		} else if b, err := registry.ParseSize(v); err == nil {
			s.bytes = b
		} else {
			bad("mini_batch_size", "%q is neither a number of items (10) nor a size (10MB, 1GB)", v)
		}
		if _, keyed := get("partition_keys"); keyed {
			bad("mini_batch_size", "give mini_batch_size or partition_keys, not both")
		}
	}
	if v, ok := get("partition_keys"); ok {
		if _, err := partition.ParseFormat(v); err != nil {
			bad("partition_keys", "%v", err)
		}
		s.keys = v
	}
	if n, ok := integer("error_threshold", -1, "an item count (-1 ignores failed items)"); ok {
		s.thr.ErrorThreshold = n
	}
	if n, ok := integer("allowed_failed_count", -1, "a mini-batch count (-1 ignores failed mini-batches)"); ok {
		s.thr.AllowedFailedCount = n
	}
	if v, ok := get("allowed_failed_percent"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || !(f == -1 || f >= 0 && f <= 100) {
			bad("allowed_failed_percent", "%q is not a percentage from 0 to 100 (-1 ignores failed mini-batches)", v)
		} else {
			s.thr.AllowedFailedPercent = f
		}
	}
	if n, ok := integer("run_max_try", 1, "a number of tries (at least 1)"); ok {
		s.maxTries = int(n)
	}
	if n, ok := integer("run_invocation_timeout", 0, "a number of seconds (0: no limit)"); ok {
		s.timeout = time.Duration(n) * time.Second
	}
	for _, k := range []string{"max_concurrency_per_instance", "process_count_per_node"} {
		if n, ok := integer(k, 1, "a number of processes (at least 1)"); ok {
			s.workers = int(n)
		}
	}
	if j.Type == TypeParallel {
		s.format = "text"
	}
	if v, ok := get("output_format"); ok {
		switch v {
		case "parquet", "csv", "ipc", "text":
			s.format = v
		default:
			bad("output_format", "unknown output format %q (want parquet, csv, ipc or text)", v)
		}
	}
	if j.Type == TypeParallel && s.format == "text" {
		s.appendRow = DefaultAppendRowFile
	}
	if v, ok := get("append_row_file_name"); ok {
		switch {
		case s.format != "text":
			bad("append_row_file_name", "append_row output is text: it needs output_format text, not %s", s.format)
		case v == "" || strings.ContainsAny(v, `/\`) || v == "." || v == ".." || strings.HasPrefix(v, "part-") || strings.HasPrefix(v, "."):
			bad("append_row_file_name", "%q must be a plain file name (not starting with part- or .)", v)
		default:
			s.appendRow = v
		}
	}
	if v, ok := get("input_data"); ok {
		if _, exists := j.Inputs[v]; !exists {
			bad("input_data", "%q is not an input of the job (inputs: %s)", v, strings.Join(j.InputOrder, ", "))
		}
		s.input = v
	} else if len(j.InputOrder) == 1 {
		s.input = j.InputOrder[0]
	}
	return s, errs
}

// writer returns the writer of an output format.
func (s settings) writer() dataflow.WriterFactory {
	switch s.format {
	case "csv":
		return writers.CSV{}
	case "ipc":
		return writers.IPC{}
	case "text":
		return writers.Text{}
	}
	return writers.Parquet{Compression: "snappy"}
}

// check is the parse-time check of both job types (spec.RegisterJobCheck).
func check(j *spec.Job) spec.ErrorList {
	var errs spec.ErrorList
	what := fmt.Sprintf("job %q", j.Name)
	literal := func(key string) (string, bool) {
		if in := j.Params[key]; in != nil && in.Literal != nil {
			return in.Literal.String(), true
		}
		return "", false
	}
	_, kerrs := decode(j, literal)
	for _, ke := range kerrs {
		errs = append(errs, spec.NewError(j.KeyPos(ke.key), "%s: %s: %s", what, ke.key, ke.msg))
	}
	switch {
	case len(j.InputOrder) == 0:
		errs = append(errs, spec.NewError(j.Pos, "%s: a %s job needs an input folder with the items (inputs: {NAME: ...})", what, j.Type))
	case len(j.InputOrder) > 1 && j.Params["input_data"] == nil:
		errs = append(errs, spec.NewError(j.KeyPos("inputs"), "%s: several inputs (%s): name the one holding the items with input_data: NAME",
			what, strings.Join(j.InputOrder, ", ")))
	}
	if len(j.OutputOrder) != 1 || j.Outputs[j.OutputOrder[0]].Type != spec.TypeURIFolder {
		errs = append(errs, spec.NewError(j.KeyPos("outputs"), "%s: a %s job has exactly one output, a uri_folder (outputs: {NAME: {type: uri_folder}})", what, j.Type))
	}
	switch j.Type {
	case TypeParallel:
		if j.Command == nil || strings.TrimSpace(j.Command.Raw) == "" {
			errs = append(errs, spec.NewError(j.KeyPos("command"), "%s: missing required key \"command\" (run once per mini-batch with the listing file)", what))
		}
	case TypeDataflow:
		if j.Command != nil {
			errs = append(errs, spec.NewError(j.KeyPos("command"), "%s: a dataflow job has no command; run one per mini-batch with an operator {op: command, run: ...}", what))
		}
		ops := j.Blocks["operators"]
		if ops == nil {
			errs = append(errs, spec.NewError(j.Pos, "%s: missing required key \"operators\" (a list of {op: NAME, ...}; known operators: %s)",
				what, strings.Join(registry.Names(), ", ")))
		} else {
			for _, e := range registry.Check(ops) {
				e.Msg = what + ": " + e.Msg
				errs = append(errs, e)
			}
		}
	}
	return errs
}

// errJob marks a job that cannot run as configured.
var errJob = errors.New("bad job")
