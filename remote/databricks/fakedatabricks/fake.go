package fakedatabricks

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/sluice-ml/sluice/remote/databricks"
	"github.com/sluice-ml/sluice/remote/sparkdriver/fakespark"
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
	exec     *execution
}

// execution is a run whose driver really runs (Execute).
type execution struct {
	done   chan struct{}
	cancel context.CancelFunc
	res    fakespark.Result
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
	cluster  *fakespark.Cluster
	root     string          // the FUSE mounts of executed runs: root/dbfs, root/Workspace
	written  map[string]bool // files written under root
	wsFiles  map[string]bool // paths of s.files imported as workspace files
	wg       sync.WaitGroup
}

// Execute makes submitted spark_python_tasks run on c (see the package doc).
func (s *Server) Execute(c *fakespark.Cluster) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cluster = c
}

// Close stops the server, kills the drivers still running and removes their files.
func (s *Server) Close() {
	s.Server.Close()
	s.mu.Lock()
	for _, r := range s.runs {
		if r.exec != nil {
			r.exec.cancel()
		}
	}
	root := s.root
	s.mu.Unlock()
	s.wg.Wait()
	if root != "" {
		os.RemoveAll(root)
	}
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
	if r.Method == http.MethodPost && p == "/api/2.0/dbfs/put" && strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		return s.putMultipart(r, out)
	}
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
		if run.exec != nil {
			select {
			case <-run.exec.done:
				o := databricks.RunOutput{Logs: run.exec.res.Stdout}
				if run.exec.res.Err != nil {
					o.Error, o.ErrorTrace = run.exec.res.LastError(), run.exec.res.Stderr
				}
				*out = o
			default:
				*out = databricks.RunOutput{}
			}
			return 200, "", ""
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
		if run.exec != nil {
			run.exec.cancel()
		}
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
	case r.Method == http.MethodPost && p == "/api/2.0/dbfs/put":
		var path, contents string
		var overwrite bool
		json.Unmarshal(body["path"], &path)
		json.Unmarshal(body["contents"], &contents)
		json.Unmarshal(body["overwrite"], &overwrite)
		b, err := base64.StdEncoding.DecodeString(contents)
		switch {
		case err != nil || !strings.HasPrefix(path, "/"):
			return 400, "INVALID_PARAMETER_VALUE", "bad path or contents"
		case len(b) > 1<<20:
			return 400, "MAX_BLOCK_SIZE_EXCEEDED", "File uploads via contents are limited to 1 MB; post a file instead"
		}
		if _, ok := s.files[path]; ok && !overwrite {
			return 400, "RESOURCE_ALREADY_EXISTS", "A file or directory already exists at the input path " + path + "."
		}
		s.files[path] = b
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
	case r.Method == http.MethodGet && p == "/api/2.0/dbfs/get-status":
		path := r.URL.Query().Get("path")
		b, ok := s.files[path]
		if !ok || !strings.HasPrefix(path, "/") {
			return 404, "RESOURCE_DOES_NOT_EXIST", "No file or directory exists on path " + path + "."
		}
		*out = map[string]any{"path": path, "is_dir": false, "file_size": len(b)}
	case r.Method == http.MethodGet && p == "/api/2.0/workspace/get-status":
		path := r.URL.Query().Get("path")
		if _, ok := s.files[path]; !ok {
			return 404, "RESOURCE_DOES_NOT_EXIST", "Path (" + path + ") doesn't exist."
		}
		*out = map[string]any{"path": path, "object_type": "FILE"}
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
		if s.wsFiles == nil {
			s.wsFiles = map[string]bool{}
		}
		s.wsFiles[path] = true
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
	if s.cluster != nil && req.Tasks[0].SparkPythonTask != nil {
		if err := s.start(run); err != nil {
			return 500, "INTERNAL_ERROR", err.Error()
		}
	}
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
	if x := run.exec; x != nil && !run.Canceled && run.Gets > 1 {
		select {
		case <-x.done:
			if x.res.Err != nil {
				return databricks.RunState{LifeCycleState: databricks.StateTerminated, ResultState: databricks.ResultFailed,
					StateMessage: "Workload failed, see run output for details"}
			}
			return databricks.RunState{LifeCycleState: databricks.StateTerminated, ResultState: databricks.ResultSuccess}
		default:
			return databricks.RunState{LifeCycleState: databricks.StateRunning, StateMessage: "In run"}
		}
	}
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

// start writes the files a run can see and runs its driver (s.mu held).
func (s *Server) start(run *Run) error {
	if s.root == "" {
		root, err := os.MkdirTemp("", "fakedatabricks-")
		if err != nil {
			return err
		}
		s.root, s.written = root, map[string]bool{}
	}
	for p, b := range s.files {
		mount := "dbfs"
		if strings.HasPrefix(p, "/Workspace/") || s.isWorkspace(p) {
			mount = "Workspace"
		}
		dst := filepath.Join(s.root, mount, filepath.FromSlash(p))
		key := fmt.Sprintf("%s\x00%d", dst, len(b))
		if s.written[key] {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return err
		}
		s.written[key] = true
	}
	fuse := func(a string) string {
		switch {
		case strings.HasPrefix(a, "dbfs:/"):
			return filepath.Join(s.root, "dbfs", filepath.FromSlash(a[len("dbfs:"):]))
		case strings.HasPrefix(a, "/dbfs/"), strings.HasPrefix(a, "/Workspace/"):
			return filepath.Join(s.root, filepath.FromSlash(a[1:]))
		}
		return a
	}
	t := run.Request.Tasks[0]
	args := make([]string, len(t.SparkPythonTask.Parameters))
	for i, a := range t.SparkPythonTask.Parameters {
		args[i] = fuse(a)
	}
	var env []string
	if vars, ok := t.NewCluster["spark_env_vars"].(map[string]any); ok {
		for k, v := range vars {
			env = append(env, fmt.Sprintf("%s=%v", k, v))
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	x := &execution{done: make(chan struct{}), cancel: cancel}
	run.exec = x
	c := s.cluster
	r := fakespark.Run{Script: fuse(t.SparkPythonTask.PythonFile), Args: args, Env: env}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer cancel()
		res := c.Exec(ctx, r)
		s.mu.Lock()
		x.res = res
		close(x.done)
		s.mu.Unlock()
	}()
	return nil
}

// isWorkspace tells workspace files (imported) from DBFS files; both live in s.files.
func (s *Server) isWorkspace(p string) bool { return s.wsFiles[p] }

// putMultipart is /api/2.0/dbfs/put with a posted file (s.mu held): fields path and overwrite,
// one file part of at most 2 GB.
func (s *Server) putMultipart(r *http.Request, out *any) (int, string, string) {
	mr, err := r.MultipartReader()
	if err != nil {
		return 400, "MALFORMED_REQUEST", "bad multipart body"
	}
	var path string
	var overwrite bool
	var data []byte
	files := 0
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return 400, "MALFORMED_REQUEST", "bad multipart body"
		}
		b, err := io.ReadAll(io.LimitReader(part, 2<<30))
		if err != nil {
			return 400, "MALFORMED_REQUEST", "bad multipart body"
		}
		switch {
		case part.FileName() != "":
			data = b
			files++
		case part.FormName() == "path":
			path = string(b)
		case part.FormName() == "overwrite":
			overwrite = string(b) == "true"
		}
	}
	if !strings.HasPrefix(path, "/") || files != 1 {
		return 400, "INVALID_PARAMETER_VALUE", "put needs an absolute path and one posted file"
	}
	if _, ok := s.files[path]; ok && !overwrite {
		return 400, "RESOURCE_ALREADY_EXISTS", "A file or directory already exists at the input path " + path + "."
	}
	s.files[path] = data
	*out = map[string]any{}
	return 200, "", ""
}
