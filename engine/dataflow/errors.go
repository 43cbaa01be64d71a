package dataflow

import (
	"errors"
	"fmt"
	"strconv"
)

// Sentinel errors; check them with errors.Is.
var (
	// ErrBadPlan: the plan or options are invalid (missing source, schema without `path`...).
	ErrBadPlan = errors.New("dataflow: invalid plan")
	// ErrThresholdExceeded: a failure threshold was crossed; the run stopped. The error is a
	// *ThresholdError carrying the figures. Committed partitions stay committed.
	ErrThresholdExceeded = errors.New("dataflow: threshold exceeded")
	// ErrMiniBatchFailed: a mini-batch failed as a whole on every try (see MiniBatchError).
	ErrMiniBatchFailed = errors.New("dataflow: mini-batch failed")
	// ErrInvocationTimeout: one operator call outlived run_invocation_timeout.
	ErrInvocationTimeout = errors.New("dataflow: run_invocation_timeout exceeded")
	// ErrPanic: an operator panicked; the panic was recovered (see PanicError).
	ErrPanic = errors.New("dataflow: operator panicked")
	// ErrFatal marks an operator error that must not be retried and stops the run (see Fatal).
	ErrFatal = errors.New("dataflow: fatal operator error")
	// ErrRowMismatch: in a partitioned run, the rows reaching the sink do not match the
	// partition's items one to one (an operator dropped, duplicated or renamed an item).
	ErrRowMismatch = errors.New("dataflow: output rows do not match input items")
	// ErrBusy: another run holds the output folder (RunPartitioned locks it for its duration).
	ErrBusy = errors.New("dataflow: output folder in use by another run")
)

// Fatal wraps err so that the engine does not retry the call and stops the run with it.
// Use it for errors no retry can fix (a model that cannot load). Fatal(nil) is nil.
func Fatal(err error) error {
	if err == nil {
		return nil
	}
	return fatalError{err}
}

type fatalError struct{ err error }

func (f fatalError) Error() string   { return f.err.Error() }
func (f fatalError) Unwrap() []error { return []error{ErrFatal, f.err} }

// ItemError is the failure of one item: which item (its path, and its content hash where
// known) and why. It is what per-item errors are made of; its message is what lands in
// the `error` column.
type ItemError struct {
	Path string
	Hash string
	Err  error
}

func (e *ItemError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *ItemError) Unwrap() error { return e.Err }

// PanicError is a recovered operator panic. It matches ErrPanic.
type PanicError struct {
	Stage string
	Value any
	Stack []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("stage %q panicked: %v", e.Stage, e.Value)
}
func (e *PanicError) Is(target error) bool { return target == ErrPanic }

// MiniBatchError says that a mini-batch (or one input batch of it) failed as a whole on all
// Tries; Err is the last try's error. It matches ErrMiniBatchFailed and, through Err, the cause
// (ErrPanic, ErrInvocationTimeout, the operator's own error).
type MiniBatchError struct {
	Stage string
	Tries int
	Err   error
}

func (e *MiniBatchError) Error() string {
	return fmt.Sprintf("mini-batch failed after %d tries in stage %q: %v", e.Tries, e.Stage, e.Err)
}
func (e *MiniBatchError) Unwrap() []error { return []error{ErrMiniBatchFailed, e.Err} }

// ThresholdError is returned when a run crosses one of its thresholds. Name is the setting's
// name as users write it (error_threshold, allowed_failed_count, allowed_failed_percent).
// Failed and Total are counted in Unit ("items" or "mini-batches"); Limit is the threshold.
type ThresholdError struct {
	Name   string
	Limit  float64
	Failed int64
	Total  int64
	Unit   string
}

func (e *ThresholdError) Error() string {
	lim := strconv.FormatFloat(e.Limit, 'f', -1, 64)
	if e.Name == "allowed_failed_percent" {
		pct := 0.0
		if e.Total > 0 {
			pct = 100 * float64(e.Failed) / float64(e.Total)
		}
		return fmt.Sprintf("allowed_failed_percent exceeded: %d of %d %s failed (%.2f%% > %s%%)",
			e.Failed, e.Total, e.Unit, pct, lim)
	}
	return fmt.Sprintf("%s exceeded: %d failed %s > %s allowed (of %d %s)",
		e.Name, e.Failed, e.Unit, lim, e.Total, e.Unit)
}
func (e *ThresholdError) Is(target error) bool { return target == ErrThresholdExceeded }
