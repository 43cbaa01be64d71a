package databricks

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"

	"github.com/sluice-ml/sluice/remote/rest"
)

// Life-cycle states of a run (Jobs API 2.1).
const (
	StatePending           = "PENDING"
	StateQueued            = "QUEUED"
	StateRunning           = "RUNNING"
	StateTerminating       = "TERMINATING"
	StateTerminated        = "TERMINATED"
	StateSkipped           = "SKIPPED"
	StateInternalError     = "INTERNAL_ERROR"
	StateBlocked           = "BLOCKED"
	StateWaitingForRetry   = "WAITING_FOR_RETRY"
	ResultSuccess          = "SUCCESS"
	ResultFailed           = "FAILED"
	ResultTimedOut         = "TIMEDOUT"
	ResultCanceled         = "CANCELED"
	ResultMaximumConcurent = "MAXIMUM_CONCURRENT_RUNS_REACHED"
)

// SubmitRequest is the body of runs/submit (the fields Sluice uses).
type SubmitRequest struct {
	RunName          string `json:"run_name,omitempty"`
	IdempotencyToken string `json:"idempotency_token,omitempty"`
	TimeoutSeconds   int    `json:"timeout_seconds,omitempty"`
	Tasks            []Task `json:"tasks"`
}

// Task is one task of a submitted run.
type Task struct {
	TaskKey           string           `json:"task_key"`
	ExistingClusterID string           `json:"existing_cluster_id,omitempty"`
	NewCluster        map[string]any   `json:"new_cluster,omitempty"`
	SparkPythonTask   *SparkPythonTask `json:"spark_python_task,omitempty"`
	SparkSubmitTask   *SparkSubmitTask `json:"spark_submit_task,omitempty"`
}

// SparkPythonTask runs a Python file.
type SparkPythonTask struct {
	PythonFile string   `json:"python_file"`
	Parameters []string `json:"parameters,omitempty"`
}

// SparkSubmitTask runs spark-submit with parameters.
type SparkSubmitTask struct {
	Parameters []string `json:"parameters"`
}

// RunState is a run's (or task's) state.
type RunState struct {
	LifeCycleState string `json:"life_cycle_state"`
	ResultState    string `json:"result_state,omitempty"`
	StateMessage   string `json:"state_message,omitempty"`
}

// Run is the answer of runs/get.
type Run struct {
	RunID      int64     `json:"run_id"`
	RunName    string    `json:"run_name,omitempty"`
	RunPageURL string    `json:"run_page_url,omitempty"`
	State      RunState  `json:"state"`
	Tasks      []RunTask `json:"tasks,omitempty"`
}

// RunTask is a task of a run.
type RunTask struct {
	RunID   int64    `json:"run_id"`
	TaskKey string   `json:"task_key"`
	State   RunState `json:"state"`
}

// RunOutput is the answer of runs/get-output.
type RunOutput struct {
	Error         string `json:"error,omitempty"`
	ErrorTrace    string `json:"error_trace,omitempty"`
	Logs          string `json:"logs,omitempty"`
	LogsTruncated bool   `json:"logs_truncated,omitempty"`
}

// API is a thin client of the endpoints Sluice uses.
type API struct{ C *rest.Client }

// Submit starts a one-time run and returns its id. With an idempotency token the call is
// retried on any transient failure: Databricks answers every try with the same run.
func (a API) Submit(ctx context.Context, req SubmitRequest) (int64, error) {
	var out struct {
		RunID int64 `json:"run_id"`
	}
	err := a.C.Do(ctx, rest.Request{Method: http.MethodPost, Path: "/api/2.1/jobs/runs/submit", Body: req,
		Idempotent: req.IdempotencyToken != ""}, &out)
	if err != nil {
		return 0, err
	}
	if out.RunID == 0 {
		return 0, fmt.Errorf("runs/submit: answer without run_id")
	}
	return out.RunID, nil
}

// Get reads a run.
func (a API) Get(ctx context.Context, id int64) (Run, error) {
	var r Run
	err := a.C.Do(ctx, rest.Request{Method: http.MethodGet, Path: "/api/2.1/jobs/runs/get?run_id=" + strconv.FormatInt(id, 10)}, &r)
	return r, err
}

// Output reads a task run's output.
func (a API) Output(ctx context.Context, taskRunID int64) (RunOutput, error) {
	var o RunOutput
	err := a.C.Do(ctx, rest.Request{Method: http.MethodGet,
		Path: "/api/2.1/jobs/runs/get-output?run_id=" + strconv.FormatInt(taskRunID, 10)}, &o)
	return o, err
}

// ActiveSubmitRuns lists the one-time runs (run_type SUBMIT_RUN) that have not ended, newest
// first, following has_more pages (at most 1,000 runs).
func (a API) ActiveSubmitRuns(ctx context.Context) ([]Run, error) {
	var all []Run
	for offset := 0; offset < 1000; offset += 25 {
		var page struct {
			Runs    []Run `json:"runs"`
			HasMore bool  `json:"has_more"`
		}
		if err := a.C.Do(ctx, rest.Request{Method: http.MethodGet,
			Path: "/api/2.1/jobs/runs/list?run_type=SUBMIT_RUN&active_only=true&limit=25&offset=" + strconv.Itoa(offset)}, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Runs...)
		if !page.HasMore {
			break
		}
	}
	return all, nil
}

// Cancel asks for a run to be canceled (idempotent).
func (a API) Cancel(ctx context.Context, id int64) error {
	return a.C.Do(ctx, rest.Request{Method: http.MethodPost, Path: "/api/2.1/jobs/runs/cancel",
		Body: map[string]int64{"run_id": id}, Idempotent: true}, nil)
}

// dbfsBlock is the most data one add-block call carries (1 MB before base64).
const dbfsBlock = 1 << 20

// PutDBFS writes a file to DBFS (path like /sluice/code/x.py, without the dbfs: scheme) with the
// streaming create / add-block / close calls, overwriting. A failed upload is retried whole.
func (a API) PutDBFS(ctx context.Context, path string, data []byte) error {
	var h struct {
		Handle int64 `json:"handle"`
	}
	if err := a.C.Do(ctx, rest.Request{Method: http.MethodPost, Path: "/api/2.0/dbfs/create",
		Body: map[string]any{"path": path, "overwrite": true}, Idempotent: true}, &h); err != nil {
		return err
	}
	for off := 0; off < len(data) || off == 0; off += dbfsBlock {
		end := min(off+dbfsBlock, len(data))
		if err := a.C.Do(ctx, rest.Request{Method: http.MethodPost, Path: "/api/2.0/dbfs/add-block",
			Body: map[string]any{"handle": h.Handle, "data": base64.StdEncoding.EncodeToString(data[off:end])}}, nil); err != nil {
			return err
		}
		if end == len(data) {
			break
		}
	}
	return a.C.Do(ctx, rest.Request{Method: http.MethodPost, Path: "/api/2.0/dbfs/close",
		Body: map[string]any{"handle": h.Handle}}, nil)
}

// PutWorkspaceFile imports a file into the workspace (path like /Shared/sluice/x.py), making its
// folder first; overwrites.
func (a API) PutWorkspaceFile(ctx context.Context, path string, data []byte) error {
	dir := path[:max(0, lastSlash(path))]
	if dir != "" {
		if err := a.C.Do(ctx, rest.Request{Method: http.MethodPost, Path: "/api/2.0/workspace/mkdirs",
			Body: map[string]string{"path": dir}, Idempotent: true}, nil); err != nil {
			return err
		}
	}
	return a.C.Do(ctx, rest.Request{Method: http.MethodPost, Path: "/api/2.0/workspace/import", Idempotent: true,
		Body: map[string]any{"path": path, "format": "AUTO", "overwrite": true,
			"content": base64.StdEncoding.EncodeToString(data)}}, nil)
}

func lastSlash(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			return i
		}
	}
	return -1
}

// FileSize returns the size of a DBFS file (path without the dbfs: scheme), or ok false when
// there is none.
func (a API) FileSize(ctx context.Context, path string) (size int64, ok bool, err error) {
	var st struct {
		IsDir    bool  `json:"is_dir"`
		FileSize int64 `json:"file_size"`
	}
	err = a.C.Do(ctx, rest.Request{Method: http.MethodGet, Path: "/api/2.0/dbfs/get-status?path=" + url.QueryEscape(path)}, &st)
	var se *rest.StatusError
	if errors.As(err, &se) && se.Code == http.StatusNotFound {
		return 0, false, nil
	}
	if err != nil || st.IsDir {
		return 0, false, err
	}
	return st.FileSize, true, nil
}

// WorkspaceFileExists reports whether a workspace file exists.
func (a API) WorkspaceFileExists(ctx context.Context, path string) (bool, error) {
	var st struct {
		ObjectType string `json:"object_type"`
	}
	err := a.C.Do(ctx, rest.Request{Method: http.MethodGet, Path: "/api/2.0/workspace/get-status?path=" + url.QueryEscape(path)}, &st)
	var se *rest.StatusError
	if errors.As(err, &se) && se.Code == http.StatusNotFound {
		return false, nil
	}
	return err == nil && st.ObjectType == "FILE", err
}

// PutDBFSFile writes a file of up to 2 GB to DBFS in one multipart/form-data POST to
// /api/2.0/dbfs/put (fields path and overwrite, the content as a posted file), overwriting: no
// base64, no 1 MB blocks. Safe to retry.
func (a API) PutDBFSFile(ctx context.Context, path string, data []byte) error {
	if len(data) >= 2<<30 {
		return a.PutDBFS(ctx, path, data)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("path", path)
	mw.WriteField("overwrite", "true")
	fw, err := mw.CreateFormFile("file", lastPart(path))
	if err != nil {
		return err
	}
	fw.Write(data)
	if err := mw.Close(); err != nil {
		return err
	}
	return a.C.Do(ctx, rest.Request{Method: http.MethodPost, Path: "/api/2.0/dbfs/put", Raw: buf.Bytes(),
		ContentType: mw.FormDataContentType(), Idempotent: true}, nil)
}

func lastPart(p string) string { return p[lastSlash(p)+1:] }
