package fakelivy

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/sluice-ml/sluice/remote/livy"
	"github.com/sluice-ml/sluice/remote/sparkdriver/fakespark"
)

// Fault is an injected failure for the first request matching Method and a path ending in Path.
type Fault struct {
	Method     string
	Path       string
	Status     int
	RetryAfter string
	Drop       bool // handle the request, then close the connection without answering
}

// Behavior is how a batch unfolds.
type Behavior struct {
	Polls int      // state reads before the end (default 2)
	Final string   // success (default), dead, killed, error
	Log   []string // log lines, revealed one more per state read
	Never bool     // stays running
}

// Batch is a batch the fake holds.
type Batch struct {
	ID       int64
	Request  livy.BatchRequest
	Behavior Behavior
	Reads    int
	Deleted  bool
	exec     *execution
}

type execution struct {
	done   chan struct{}
	cancel context.CancelFunc
	res    fakespark.Result
	err    error // fetching the files failed
}

// Fetch reads a file the cluster can read (a wasbs:// URL), for Execute.
type Fetch func(ctx context.Context, url string) ([]byte, error)

// Server is the fake.
type Server struct {
	*httptest.Server
	User, Password string

	mu      sync.Mutex
	faults  []Fault
	script  func(livy.BatchRequest) Behavior
	batches []*Batch
	posts   int
	deletes []int64
	cluster *fakespark.Cluster
	fetch   Fetch
	wg      sync.WaitGroup
}

// Execute makes Python batches run on c, their files read with fetch (see the package doc).
func (s *Server) Execute(c *fakespark.Cluster, fetch Fetch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cluster, s.fetch = c, fetch
}

// Close stops the server and kills the drivers still running.
func (s *Server) Close() {
	s.Server.Close()
	s.mu.Lock()
	for _, b := range s.batches {
		if b.exec != nil {
			b.exec.cancel()
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// New starts a fake with Basic credentials user:password; script decides each batch's behaviour.
func New(user, password string, script func(livy.BatchRequest) Behavior) *Server {
	s := &Server{User: user, Password: password, script: script}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Inject queues faults, each used once.
func (s *Server) Inject(f ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, f...)
}

// Posts counts POST /batches that reached the handler.
func (s *Server) Posts() int { s.mu.Lock(); defer s.mu.Unlock(); return s.posts }

// Deletes lists the batch ids deleted.
func (s *Server) Deletes() []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int64(nil), s.deletes...)
}

// Batches returns copies of the batches created.
func (s *Server) Batches() []Batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Batch, len(s.batches))
	for i, b := range s.batches {
		out[i] = *b
	}
	return out
}

func msg(w http.ResponseWriter, status int, text string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"msg": text})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	var fault *Fault
	for i, f := range s.faults {
		if (f.Method == "" || f.Method == r.Method) && strings.HasSuffix(r.URL.Path, f.Path) {
			fault = &f
			s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			break
		}
	}
	s.mu.Unlock()
	if u, p, ok := r.BasicAuth(); !ok || u != s.User || p != s.Password {
		w.Header().Set("WWW-Authenticate", `Basic realm="livy"`)
		msg(w, 401, "Unauthorized")
		return
	}
	if (r.Method == http.MethodPost || r.Method == http.MethodDelete) && r.Header.Get("X-Requested-By") == "" {
		msg(w, 400, "Missing Required Header for CSRF protection.")
		return
	}
	if fault != nil && fault.Status != 0 {
		if fault.RetryAfter != "" {
			w.Header().Set("Retry-After", fault.RetryAfter)
		}
		msg(w, fault.Status, "injected fault")
		return
	}
	var out any
	status, text := s.handle(r, &out)
	if fault != nil && fault.Drop {
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
				return
			}
		}
	}
	if status != 200 && status != 201 {
		msg(w, status, text)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(out)
}

func (s *Server) handle(r *http.Request, out *any) (int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) == 0 || parts[0] != "batches" {
		return 404, "not found"
	}
	if len(parts) == 1 {
		switch r.Method {
		case http.MethodPost:
			return s.create(r, out)
		case http.MethodGet:
			from, _ := strconv.Atoi(r.URL.Query().Get("from"))
			size, err := strconv.Atoi(r.URL.Query().Get("size"))
			if err != nil {
				size = 20
			}
			var list []livy.Batch
			for i := from; i < len(s.batches) && len(list) < size; i++ {
				if !s.batches[i].Deleted {
					list = append(list, s.view(s.batches[i]))
				}
			}
			*out = map[string]any{"from": from, "total": len(s.batches), "sessions": list}
			return 200, ""
		}
		return 405, "method not allowed"
	}
	id, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || id < 0 || int(id) >= len(s.batches) || s.batches[id].Deleted {
		return 404, fmt.Sprintf("Session '%s' not found.", parts[1])
	}
	b := s.batches[id]
	switch {
	case len(parts) == 2 && r.Method == http.MethodGet:
		*out = s.view(b)
	case len(parts) == 2 && r.Method == http.MethodDelete:
		b.Deleted = true
		s.deletes = append(s.deletes, id)
		if b.exec != nil {
			b.exec.cancel()
		}
		*out = map[string]string{"msg": "deleted"}
	case len(parts) == 3 && parts[2] == "state" && r.Method == http.MethodGet:
		b.Reads++
		*out = map[string]any{"id": id, "state": s.state(b)}
	case len(parts) == 3 && parts[2] == "log" && r.Method == http.MethodGet:
		lines := s.revealed(b)
		from, _ := strconv.Atoi(r.URL.Query().Get("from"))
		size, err := strconv.Atoi(r.URL.Query().Get("size"))
		if err != nil {
			size = 100
		}
		from = min(max(from, 0), len(lines))
		end := min(from+size, len(lines))
		*out = map[string]any{"id": id, "from": from, "total": len(lines), "log": lines[from:end]}
	default:
		return 404, "not found"
	}
	return 200, ""
}

func (s *Server) create(r *http.Request, out *any) (int, string) {
	s.posts++
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	var req livy.BatchRequest
	if err := dec.Decode(&req); err != nil {
		return 400, "Rejected, Reason: " + err.Error()
	}
	if req.File == "" {
		return 400, "Rejected, Reason: requirement failed: File is required"
	}
	for _, n := range []int{req.DriverCores, req.ExecutorCores, req.NumExecutors} {
		if n < 0 {
			return 400, "Rejected, Reason: cores and executors must be positive"
		}
	}
	b := Behavior{}
	if s.script != nil {
		b = s.script(req)
	}
	if b.Polls == 0 {
		b.Polls = 2
	}
	if b.Final == "" {
		b.Final = livy.StateSuccess
	}
	batch := &Batch{ID: int64(len(s.batches)), Request: req, Behavior: b}
	s.batches = append(s.batches, batch)
	if s.cluster != nil && strings.HasSuffix(req.File, ".py") {
		s.start(batch)
	}
	*out = s.view(batch)
	return 201, ""
}

func (s *Server) view(b *Batch) livy.Batch {
	return livy.Batch{ID: b.ID, Name: b.Request.Name, State: s.state(b), AppID: fmt.Sprintf("application_1700000000000_%04d", b.ID)}
}

func (s *Server) state(b *Batch) string {
	if x := b.exec; x != nil && !b.Deleted && b.Reads > 1 {
		select {
		case <-x.done:
			if x.err != nil || x.res.Err != nil {
				return livy.StateDead
			}
			return livy.StateSuccess
		default:
			return livy.StateRunning
		}
	}
	switch {
	case b.Deleted:
		return livy.StateKilled
	case b.Reads <= 1:
		return livy.StateStarting
	case b.Behavior.Never || b.Reads <= b.Behavior.Polls:
		return livy.StateRunning
	}
	return b.Behavior.Final
}

func (s *Server) revealed(b *Batch) []string {
	if x := b.exec; x != nil {
		select {
		case <-x.done:
		default:
			return nil
		}
		lines := []string{"stdout: "}
		lines = append(lines, strings.Split(strings.TrimRight(x.res.Stdout, "\n"), "\n")...)
		lines = append(lines, "", "stderr: ")
		if x.err != nil {
			lines = append(lines, x.err.Error())
		}
		if x.res.Stderr != "" {
			lines = append(lines, strings.Split(strings.TrimRight(x.res.Stderr, "\n"), "\n")...)
		}
		return lines
	}
	n := len(b.Behavior.Log)
	if !livy.Terminal(s.state(b)) {
		n = min(n, b.Reads)
	}
	return b.Behavior.Log[:n]
}

// start fetches a batch's files and runs its driver (s.mu held).
func (s *Server) start(b *Batch) {
	ctx, cancel := context.WithCancel(context.Background())
	x := &execution{done: make(chan struct{}), cancel: cancel}
	b.exec = x
	c, fetch, req := s.cluster, s.fetch, b.Request
	env := []string{}
	for k, v := range req.Conf {
		for _, pre := range []string{"spark.executorEnv.", "spark.yarn.appMasterEnv."} {
			if strings.HasPrefix(k, pre) {
				env = append(env, strings.TrimPrefix(k, pre)+"="+v)
			}
		}
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer cancel()
		res, err := func() (fakespark.Result, error) {
			dir, err := os.MkdirTemp("", "fakelivy-")
			if err != nil {
				return fakespark.Result{}, err
			}
			defer os.RemoveAll(dir)
			files := filepath.Join(dir, "files")
			if err := os.MkdirAll(files, 0o755); err != nil {
				return fakespark.Result{}, err
			}
			get := func(url, dst string) error {
				if fetch == nil {
					return fmt.Errorf("fakelivy: no Fetch to read %s", url)
				}
				data, err := fetch(ctx, url)
				if err != nil {
					return fmt.Errorf("java.io.FileNotFoundException: %s: %w", url, err)
				}
				return os.WriteFile(dst, data, 0o644)
			}
			script := filepath.Join(dir, path.Base(req.File))
			if err := get(req.File, script); err != nil {
				return fakespark.Result{}, err
			}
			for _, f := range req.Files {
				if err := get(f, filepath.Join(files, path.Base(f))); err != nil {
					return fakespark.Result{}, err
				}
			}
			return c.Exec(ctx, fakespark.Run{Script: script, Args: req.Args, FilesDir: files, Env: env}), nil
		}()
		s.mu.Lock()
		x.res, x.err = res, err
		close(x.done)
		s.mu.Unlock()
	}()
}
