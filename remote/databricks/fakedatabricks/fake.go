// Package fakedatabricks is an in-process Databricks workspace for tests: an httptest server that
// speaks the parts of the Jobs API 2.1 (runs/submit, runs/get, runs/get-output, runs/cancel),
// DBFS (create, add-block, close) and workspace files (mkdirs, import) that Sluice uses, with
// their request checks, state machine and error bodies ({"error_code": ..., "message": ...}),
// bearer-token authentication (401 without a token, 403 with a wrong one), and injectable faults:
// 429 with Retry-After, 5xx, and responses lost after the request took effect.
package fakedatabricks

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"

	"github.com/sluice-ml/sluice/remote/databricks"
)

// Fault is an injected failure for requests whose path ends with Path.
type Fault struct {
	Path       string // e.g. "/runs/submit"
	Status     int    // answer this status (with a Databricks error body) instead of handling
	RetryAfter string // Retry-After header for the answer
	// Drop handles the request normally, then closes the connection without answering: the
	// client cannot know the outcome (a lost response).
	Drop bool
}

// Behavior is how a submitted run unfolds.
type Behavior struct {
	Polls        int    // runs/get calls answered PENDING/RUNNING before the end (default 2)
	Life         string // final life_cycle_state (default TERMINATED)
	Result       string // final result_state (default SUCCESS; "" with INTERNAL_ERROR)
	StateMessage string
	Logs, Error  string // runs/get-output
	Trace        string
	Never        bool // stays RUNNING forever
}

// Run is a run the fake holds.
type Run struct {
	ID       int64
	Request  databricks.SubmitRequest
	Behavior Behavior
	Gets     int
	Canceled bool
}

// Server is the fake.
type Server struct {
	*httptest.Server
	Token string // the valid bearer token

	mu       sync.Mutex
	faults   []Fault
	script   func(databricks.SubmitRequest) Behavior
	nextID   int64
	runs     map[int64]*Run
	byToken  map[string]int64
	submits  int
	cancels  []int64
	files    map[string][]byte
	handles  map[int64]string
	partial  map[int64][]byte
	requests []string
}

// New starts a fake accepting token; script decides each run's behaviour (nil: succeed).
func New(token string, script func(databricks.SubmitRequest) Behavior) *Server {
	s := &Server{Token: token, script: script, nextID: 100, runs: map[int64]*Run{}, byToken: map[string]int64{},
		files: map[string][]byte{}, handles: map[int64]string{}, partial: map[int64][]byte{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Inject queues faults; each is used once, in order, by the first matching request.
func (s *Server) Inject(f ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f...)
}

// Submits counts runs/submit requests that reached the handler (duplicates included).
func (s *Server) Submits() int { s.mu.Lock(); defer s.mu.Unlock(); return s.submits }

// Runs returns copies of the runs created.
func (s *Server) Runs() []Run {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Run
	for id := int64(101); id <= s.nextID; id++ {
		if r, ok := s.runs[id]; ok {
			out = append(out, *r)
		}
	}
	return out
}

// Cancels lists the run ids runs/cancel was called with.
func (s *Server) Cancels() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int64(nil), s.cancels...)
}

// File returns an uploaded file (DBFS path without scheme, or workspace path).
func (s *Server) File(p string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.files[p]
	return b, ok
}

// Requests lists "METHOD PATH" of every request received.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

func apiError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"error_code": code, "message": msg})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests = append(s.requests, r.Method+" "+r.URL.Path)
	var fault *Fault
	for i, f := range s.faults {
		if strings.HasSuffix(r.URL.Path, f.Path) {
			fault = &f
			s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			break
		}
	}
	s.mu.Unlock()
	auth := r.Header.Get("Authorization")
	switch {
	case auth == "":
		apiError(w, 401, "UNAUTHENTICATED", "No API token found")
		return
	case auth != "Bearer "+s.Token:
		apiError(w, 403, "PERMISSION_DENIED", "Invalid access token.")
		return
	}
	if fault != nil && fault.Status != 0 {
		if fault.RetryAfter != "" {
			w.Header().Set("Retry-After", fault.RetryAfter)
		}
		code := map[int]string{429: "REQUEST_LIMIT_EXCEEDED", 500: "INTERNAL_ERROR", 503: "TEMPORARILY_UNAVAILABLE"}[fault.Status]
		apiError(w, fault.Status, code, "injected fault")
		return
	}
	var out any
	status, code, msg := s.handle(r, &out)
	if fault != nil && fault.Drop {
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
				return
			}
		}
	}
	if status != 200 {
		apiError(w, status, code, msg)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

func (s *Server) handle(r *http.Request, out *any) (int, string, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := r.URL.Path
	var body map[string]json.RawMessage
	if r.Method == http.MethodPost {
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			return 400, "MALFORMED_REQUEST", "Invalid JSON given in the body of the request"
		}
	}
	switch {
	case r.Method == http.MethodPost && p == "/api/2.1/jobs/runs/submit":
		return s.submit(body, out)
	case r.Method == http.MethodGet && p == "/api/2.1/jobs/runs/get":
		run, st, code, msg := s.lookup(r.URL.Query().Get("run_id"), false)
		if run == nil {
			return st, code, msg
		}
		run.Gets++
		state := s.state(run)
		*out = databricks.Run{RunID: run.ID, RunName: run.Request.RunName, RunPageURL: fmt.Sprintf("%s/#job/runs/%d", s.URL, run.ID), State: state,
			Tasks: []databricks.RunTask{{RunID: run.ID + 1_000_000, TaskKey: run.Request.Tasks[0].TaskKey, State: state}}}
	case r.Method == http.MethodGet && p == "/api/2.1/jobs/runs/list":
		q := r.URL.Query()
		if q.Get("run_type") != "" && q.Get("run_type") != "SUBMIT_RUN" && q.Get("run_type") != "JOB_RUN" {
			return 400, "INVALID_PARAMETER_VALUE", "Invalid run_type"
		}
		offset, _ := strconv.Atoi(q.Get("offset"))
		limit, err := strconv.Atoi(q.Get("limit"))
		if err != nil || limit <= 0 || limit > 25 {
			limit = 25
		}
		var list []databricks.Run
		for id := s.nextID; id > 100; id-- { // newest first
			run, ok := s.runs[id]
			if !ok {
				continue
			}
			st := s.peek(run)
			if q.Get("active_only") == "true" && (st.LifeCycleState == databricks.StateTerminated ||
				st.LifeCycleState == databricks.StateSkipped || st.LifeCycleState == databricks.StateInternalError) {
				continue
			}
			list = append(list, databricks.Run{RunID: run.ID, RunName: run.Request.RunName, State: st})
		}
		page := list[min(offset, len(list)):min(offset+limit, len(list))]
		*out = map[string]any{"runs": page, "has_more": offset+limit < len(list)}
	case r.Method == http.MethodGet && p == "/api/2.1/jobs/runs/get-output":
		run, st, code, msg := s.lookup(r.URL.Query().Get("run_id"), true)
		if run == nil {
			return st, code, msg
		}
		o := databricks.RunOutput{Logs: run.Behavior.Logs}
		if st := s.state(run); st.ResultState != databricks.ResultSuccess && st.LifeCycleState == databricks.StateTerminated || st.LifeCycleState == databricks.StateInternalError {
			o.Error, o.ErrorTrace = run.Behavior.Error, run.Behavior.Trace
		}
		*out = o
	case r.Method == http.MethodPost && p == "/api/2.1/jobs/runs/cancel":
		var id int64
		json.Unmarshal(body["run_id"], &id)
		run, ok := s.runs[id]
		if !ok {
			return 400, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf("Run %d does not exist.", id)
		}
		s.cancels = append(s.cancels, id)
		run.Canceled = true
		*out = map[string]any{}
	case r.Method == http.MethodPost && p == "/api/2.0/dbfs/create":
		var path string
		json.Unmarshal(body["path"], &path)
		if !strings.HasPrefix(path, "/") {
			return 400, "INVALID_PARAMETER_VALUE", "Path must be absolute: " + path
		}
		s.nextID++
		s.handles[s.nextID] = path
		s.partial[s.nextID] = nil
		*out = map[string]int64{"handle": s.nextID}
	case r.Method == http.MethodPost && p == "/api/2.0/dbfs/add-block":
		var h int64
		var data string
		json.Unmarshal(body["handle"], &h)
		json.Unmarshal(body["data"], &data)
		b, err := base64.StdEncoding.DecodeString(data)
		if _, ok := s.handles[h]; !ok || err != nil || len(b) > 1<<20 {
			return 400, "INVALID_PARAMETER_VALUE", "bad handle or block"
		}
		s.partial[h] = append(s.partial[h], b...)
		*out = map[string]any{}
	case r.Method == http.MethodPost && p == "/api/2.0/dbfs/close":
		var h int64
		json.Unmarshal(body["handle"], &h)
		path, ok := s.handles[h]
		if !ok {
			return 400, "RESOURCE_DOES_NOT_EXIST", "bad handle"
		}
		s.files[path] = s.partial[h]
		delete(s.handles, h)
		*out = map[string]any{}
	case r.Method == http.MethodPost && p == "/api/2.0/workspace/mkdirs":
		*out = map[string]any{}
	case r.Method == http.MethodPost && p == "/api/2.0/workspace/import":
		var path, content string
		json.Unmarshal(body["path"], &path)
		json.Unmarshal(body["content"], &content)
		b, err := base64.StdEncoding.DecodeString(content)
		if err != nil || !strings.HasPrefix(path, "/") {
			return 400, "INVALID_PARAMETER_VALUE", "bad path or content"
		}
		s.files[path] = b
		*out = map[string]any{}
	default:
		return 404, "ENDPOINT_NOT_FOUND", "No API found for '" + r.Method + " " + p + "'"
	}
	return 200, "", ""
}

func (s *Server) submit(body map[string]json.RawMessage, out *any) (int, string, string) {
	s.submits++
	raw, _ := json.Marshal(body)
	var req databricks.SubmitRequest
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return 400, "INVALID_PARAMETER_VALUE", "Invalid request: " + err.Error()
	}
	if len(req.IdempotencyToken) > 64 {
		return 400, "INVALID_PARAMETER_VALUE", "idempotency_token must be at most 64 characters"
	}
	if len(req.Tasks) == 0 {
		return 400, "INVALID_PARAMETER_VALUE", "At least one task is required"
	}
	for _, t := range req.Tasks {
		if t.TaskKey == "" {
			return 400, "INVALID_PARAMETER_VALUE", "task_key is required"
		}
		if (t.ExistingClusterID == "") == (t.NewCluster == nil) {
			return 400, "INVALID_PARAMETER_VALUE", "Exactly one of existing_cluster_id or new_cluster must be specified"
		}
		if (t.SparkPythonTask == nil) == (t.SparkSubmitTask == nil) {
			return 400, "INVALID_PARAMETER_VALUE", "Exactly one task type must be specified"
		}
		if t.SparkPythonTask != nil && t.SparkPythonTask.PythonFile == "" {
			return 400, "INVALID_PARAMETER_VALUE", "python_file is required"
		}
	}
	if id, ok := s.byToken[req.IdempotencyToken]; ok && req.IdempotencyToken != "" {
		*out = map[string]int64{"run_id": id}
		return 200, "", ""
	}
	b := Behavior{}
	if s.script != nil {
		b = s.script(req)
	}
	if b.Polls == 0 {
		b.Polls = 2
	}
	if b.Life == "" {
		b.Life = databricks.StateTerminated
	}
	if b.Result == "" && b.Life == databricks.StateTerminated {
		b.Result = databricks.ResultSuccess
	}
	s.nextID++
	run := &Run{ID: s.nextID, Request: req, Behavior: b}
	s.runs[run.ID] = run
	if req.IdempotencyToken != "" {
		s.byToken[req.IdempotencyToken] = run.ID
	}
	*out = map[string]int64{"run_id": run.ID}
	return 200, "", ""
}

func (s *Server) lookup(idText string, task bool) (*Run, int, string, string) {
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil {
		return nil, 400, "INVALID_PARAMETER_VALUE", "run_id must be an integer"
	}
	if task {
		id -= 1_000_000
	}
	run, ok := s.runs[id]
	if !ok {
		return nil, 400, "RESOURCE_DOES_NOT_EXIST", fmt.Sprintf("Run %s does not exist.", idText)
	}
	return run, 0, "", ""
}

// peek is the state without counting a poll.
func (s *Server) peek(run *Run) databricks.RunState {
	run.Gets++
	defer func() { run.Gets-- }()
	return s.state(run)
}

func (s *Server) state(run *Run) databricks.RunState {
	switch {
	case run.Canceled:
		return databricks.RunState{LifeCycleState: databricks.StateTerminated, ResultState: databricks.ResultCanceled, StateMessage: "Run cancelled."}
	case run.Gets <= 1:
		return databricks.RunState{LifeCycleState: databricks.StatePending, StateMessage: "Waiting for cluster"}
	case run.Behavior.Never || run.Gets <= run.Behavior.Polls:
		return databricks.RunState{LifeCycleState: databricks.StateRunning, StateMessage: "In run"}
	}
	return databricks.RunState{LifeCycleState: run.Behavior.Life, ResultState: run.Behavior.Result, StateMessage: run.Behavior.StateMessage}
}
