package livy

import (
	"context"
	"fmt"
	"net/http"

	"github.com/sluice-ml/sluice/remote/rest"
)

// Batch states.
const (
	StateNotStarted   = "not_started"
	StateStarting     = "starting"
	StateRecovering   = "recovering"
	StateIdle         = "idle"
	StateRunning      = "running"
	StateBusy         = "busy"
	StateShuttingDown = "shutting_down"
	StateSuccess      = "success"
	StateDead         = "dead"
	StateKilled       = "killed"
	StateError        = "error"
)

// Terminal reports whether a batch in state s is over.
func Terminal(s string) bool {
	return s == StateSuccess || s == StateDead || s == StateKilled || s == StateError
}

// BatchRequest is the body of POST /batches.
type BatchRequest struct {
	File           string            `json:"file"`
	ProxyUser      string            `json:"proxyUser,omitempty"`
	ClassName      string            `json:"className,omitempty"`
	Args           []string          `json:"args,omitempty"`
	Jars           []string          `json:"jars,omitempty"`
	PyFiles        []string          `json:"pyFiles,omitempty"`
	Files          []string          `json:"files,omitempty"`
	DriverMemory   string            `json:"driverMemory,omitempty"`
	DriverCores    int               `json:"driverCores,omitempty"`
	ExecutorMemory string            `json:"executorMemory,omitempty"`
	ExecutorCores  int               `json:"executorCores,omitempty"`
	NumExecutors   int               `json:"numExecutors,omitempty"`
	Archives       []string          `json:"archives,omitempty"`
	Queue          string            `json:"queue,omitempty"`
	Name           string            `json:"name,omitempty"`
	Conf           map[string]string `json:"conf,omitempty"`
}

// Batch is a batch as Livy describes it.
type Batch struct {
	ID      int64             `json:"id"`
	Name    string            `json:"name,omitempty"`
	State   string            `json:"state"`
	AppID   string            `json:"appId,omitempty"`
	AppInfo map[string]string `json:"appInfo,omitempty"`
	Log     []string          `json:"log,omitempty"`
}

// API is a client of the batch endpoints.
type API struct{ C *rest.Client }

// Create posts a batch. It is sent once (see rest.ErrUnknownOutcome).
func (a API) Create(ctx context.Context, req BatchRequest) (Batch, error) {
	var b Batch
	err := a.C.Do(ctx, rest.Request{Method: http.MethodPost, Path: "/batches", Body: req}, &b)
	return b, err
}

// List returns batches from index from, at most size.
func (a API) List(ctx context.Context, from, size int) ([]Batch, error) {
	var out struct {
		Sessions []Batch `json:"sessions"`
	}
	err := a.C.Do(ctx, rest.Request{Method: http.MethodGet, Path: fmt.Sprintf("/batches?from=%d&size=%d", from, size)}, &out)
	return out.Sessions, err
}

// State reads a batch's state.
func (a API) State(ctx context.Context, id int64) (string, error) {
	var out struct {
		State string `json:"state"`
	}
	err := a.C.Do(ctx, rest.Request{Method: http.MethodGet, Path: fmt.Sprintf("/batches/%d/state", id)}, &out)
	return out.State, err
}

// Log reads up to size log lines from line from; total is the log's current length.
func (a API) Log(ctx context.Context, id int64, from, size int) (lines []string, total int, err error) {
	var out struct {
		From  int      `json:"from"`
		Total int      `json:"total"`
		Log   []string `json:"log"`
	}
	err = a.C.Do(ctx, rest.Request{Method: http.MethodGet, Path: fmt.Sprintf("/batches/%d/log?from=%d&size=%d", id, from, size)}, &out)
	return out.Log, out.Total, err
}

// Delete kills a batch and forgets it.
func (a API) Delete(ctx context.Context, id int64) error {
	return a.C.Do(ctx, rest.Request{Method: http.MethodDelete, Path: fmt.Sprintf("/batches/%d", id)}, nil)
}
