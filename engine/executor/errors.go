package executor

import (
	"errors"
	"fmt"
	"strings"
)

// ErrCanceled is the cause when a run is canceled (signal, context or cancel request).
var ErrCanceled = errors.New("run canceled")

// errStopped is the cause given to running steps when a sibling failed and the run stops.
var errStopped = errors.New("stopped: another step failed")

// errTimeout is the cause when a step attempt outlives its timeout.
var errTimeout = errors.New("step timed out")

// RunError is returned by Execute when the run ended Failed or Canceled.
type RunError struct {
	RunID   string
	Status  string
	Message string
}

func (e *RunError) Error() string {
	return fmt.Sprintf("run %s %s: %s", e.RunID, strings.ToLower(e.Status), e.Message)
}

// Is lets errors.Is(err, ErrCanceled) hold for canceled runs.
func (e *RunError) Is(target error) bool { return target == ErrCanceled && e.Status == "Canceled" }
