package databricks

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/sluice-ml/sluice/engine/compute"
	"github.com/sluice-ml/sluice/engine/spec"
	"github.com/sluice-ml/sluice/internal/secret"
	"github.com/sluice-ml/sluice/remote"
	"github.com/sluice-ml/sluice/remote/rest"
	"github.com/sluice-ml/sluice/remote/sparkdriver"
)

// Upload kinds.
const (
	UploadDBFS      = "dbfs"
	UploadWorkspace = "workspace"
)

// Config is one configured Databricks workspace (a `databricks` entry of the workspace file).
type Config struct {
	Name string // the target is "databricks:" + Name
	Host string // https://adb-....azuredatabricks.net
	// Token returns the bearer token (a PAT read from the environment, or an Azure AD token).
	Token func(ctx context.Context) (string, error)
	// Exactly one of ExistingClusterID and NewCluster (passed to the API as it is).
	ExistingClusterID string
	NewCluster        map[string]any
	// Upload is where code goes: UploadDBFS (default) or UploadWorkspace; UploadRoot the folder
	// (default /sluice/code for DBFS, /Shared/sluice/code for workspace files).
	Upload, UploadRoot string
	// PollMin and PollMax space the runs/get polls (default 2 s and 30 s).
	PollMin, PollMax time.Duration
	// TimeoutSeconds is passed as the run's timeout_seconds (0: none).
	TimeoutSeconds int
	// Binary is the sluice executable shipped to scale-out steps (default: this process's own);
	// Workspace the workspace file their tasks read (datastores only: names of environment
	// variables, no secret). The cluster supplies those variables (new_cluster.spark_env_vars, or
	// the existing cluster's environment).
	Binary    string
	Workspace []byte
	// HTTP and Sleep are for tests (defaults: a 60 s client, a real timer).
	HTTP        *http.Client
	Sleep       func(ctx context.Context, d time.Duration) error
	MaxAttempts int
	Backoff     time.Duration
}

// Target runs command steps on Databricks.
type Target struct {
	cfg Config
	api API
}

// New makes the target; it makes no request.
func New(cfg Config) (*Target, error) {
	if cfg.Host == "" || cfg.Token == nil {
		return nil, fmt.Errorf("databricks %s: host and token are required", cfg.Name)
	}
	if (cfg.ExistingClusterID == "") == (cfg.NewCluster == nil) {
		return nil, fmt.Errorf("databricks %s: set exactly one of existing_cluster_id and new_cluster", cfg.Name)
	}
	switch cfg.Upload {
	case "":
		cfg.Upload = UploadDBFS
	case UploadDBFS, UploadWorkspace:
	default:
		return nil, fmt.Errorf("databricks %s: upload %q: want dbfs or workspace", cfg.Name, cfg.Upload)
	}
	if cfg.UploadRoot == "" {
		cfg.UploadRoot = "/sluice/code"
		if cfg.Upload == UploadWorkspace {
			cfg.UploadRoot = "/Shared/sluice/code"
		}
	}
	cfg.UploadRoot = strings.TrimSuffix(strings.TrimPrefix(cfg.UploadRoot, "dbfs:"), "/")
	if cfg.PollMin <= 0 {
		cfg.PollMin = 2 * time.Second
	}
	if cfg.PollMax <= 0 {
		cfg.PollMax = 30 * time.Second
	}
	c := &rest.Client{Base: cfg.Host, HTTP: cfg.HTTP, Sleep: cfg.Sleep, MaxAttempts: cfg.MaxAttempts, Backoff: cfg.Backoff,
		Auth: func(ctx context.Context, req *http.Request) error {
			tok, err := cfg.Token(ctx)
			if err != nil {
				return err
			}
			if tok != "" { // no header at all: the service answers 401
				secret.Add(tok)
				req.Header.Set("Authorization", "Bearer "+tok)
			}
			return nil
		}}
	return &Target{cfg: cfg, api: API{C: c}}, nil
}

// Name is "databricks:NAME".
func (t *Target) Name() string { return "databricks:" + t.cfg.Name }

// Prepare accepts command jobs, and score jobs (scaled out, package sparkdriver), whose outputs
// have azblob:// paths.
func (t *Target) Prepare(_ context.Context, job *spec.Job) (compute.Step, error) {
	if err := remote.CheckJob(job, t.Name()); err != nil {
		return nil, err
	}
	return &step{t: t}, nil
}

type step struct{ t *Target }

// HandlesDataURIs: the cluster reads and writes Blob data itself.
func (*step) HandlesDataURIs() {}

func (s *step) sleep(ctx context.Context, d time.Duration) error {
	if s.t.cfg.Sleep != nil {
		return s.t.cfg.Sleep(ctx, d)
	}
	return rest.Sleep(ctx, d)
}

// Run uploads the code, submits the run, follows it to its end and copies its output to the log.
func (s *step) Run(ctx context.Context, sc *compute.StepContext) (err error) {
	log := secret.Writer(sc.Log)
	defer log.Close()
	api := s.t.api
	c := *api.C
	c.OnRetry = func(attempt int, wait time.Duration, err error) {
		fmt.Fprintf(log, "databricks: retry %d in %s: %v\n", attempt, wait.Round(time.Millisecond), err)
	}
	api.C = &c

	var task Task
	if sparkdriver.Supports(sc.Job.Type) {
		task, err = s.scaleOutTask(ctx, api, sc, log)
	} else {
		task, err = s.commandTask(ctx, api, sc, log)
	}
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(sc.RunID + "\x00" + sc.Step + "\x00" + fmt.Sprint(sc.Attempt)))
	req := SubmitRequest{RunName: fmt.Sprintf("sluice %s %s attempt %d", sc.RunID, sc.Step, sc.Attempt),
		IdempotencyToken: "sluice-" + hex.EncodeToString(sum[:20]), TimeoutSeconds: s.t.cfg.TimeoutSeconds, Tasks: []Task{task}}
	id, err := api.Submit(ctx, req)
	if err != nil {
		if ctx.Err() != nil {
			// Canceled while the submit was in flight or being retried: a run may exist whose id we
			// never learned. Find it by its (unique) name and cancel it.
			s.cancelByName(ctx, api, req.RunName, log)
			return ctx.Err()
		}
		return fmt.Errorf("runs/submit: %w", err)
	}
	fmt.Fprintf(log, "databricks: run %d submitted to %s (idempotency token %s)\n", id, s.t.cfg.Host, req.IdempotencyToken)
	defer func() {
		if ctx.Err() == nil {
			return
		}
		// Stop the remote run too; the step's context is over, so use a short one of our own.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if cerr := api.Cancel(cctx, id); cerr != nil {
			fmt.Fprintf(log, "databricks: canceling run %d: %v\n", id, cerr)
		} else {
			fmt.Fprintf(log, "databricks: run %d canceled\n", id)
		}
		err = ctx.Err()
	}()
	run, err := s.follow(ctx, api, id, log)
	if err != nil {
		return err
	}
	s.output(ctx, api, run, log)
	st := run.State
	if st.LifeCycleState == StateTerminated && st.ResultState == ResultSuccess {
		return nil
	}
	msg := fmt.Sprintf("run %d ended %s", id, st.LifeCycleState)
	if st.ResultState != "" {
		msg += "/" + st.ResultState
	}
	if st.StateMessage != "" {
		msg += ": " + st.StateMessage
	}
	if e := s.taskError(ctx, api, run); e != "" {
		msg += "; error: " + e
	}
	return fmt.Errorf("%w: %s", ErrRunFailed, secret.Redact(msg))
}

// commandTask uploads a command step's code and makes its task.
func (s *step) commandTask(ctx context.Context, api API, sc *compute.StepContext, log io.Writer) (Task, error) {
	words, err := remote.Args(sc)
	if err != nil {
		return Task{}, err
	}
	dir := path.Join(s.t.cfg.UploadRoot, sc.RunID, sc.Step, fmt.Sprintf("attempt-%d", sc.Attempt))
	uploaded, err := s.upload(ctx, api, sc.WorkDir, dir, log)
	if err != nil {
		return Task{}, fmt.Errorf("uploading code: %w", err)
	}
	task := Task{TaskKey: "sluice", ExistingClusterID: s.t.cfg.ExistingClusterID, NewCluster: s.t.cfg.NewCluster}
	for i, w := range words {
		if p, ok := uploaded[strings.TrimPrefix(w, "./")]; ok {
			words[i] = p
		}
	}
	switch {
	case words[0] == "spark-submit":
		task.SparkSubmitTask = &SparkSubmitTask{Parameters: words[1:]}
	case (words[0] == "python" || words[0] == "python3") && len(words) > 1 && strings.HasSuffix(words[1], ".py"):
		task.SparkPythonTask = &SparkPythonTask{PythonFile: words[1], Parameters: words[2:]}
	case strings.HasSuffix(words[0], ".py"):
		task.SparkPythonTask = &SparkPythonTask{PythonFile: words[0], Parameters: words[1:]}
	default:
		return Task{}, fmt.Errorf("%w: %q is neither `python FILE.py ...`, `FILE.py ...` nor `spark-submit ...`", ErrCommand, words[0])
	}
	return task, nil
}

// scaleOutTask ships a dataflow step (package sparkdriver) — the driver and the step's files under
// UploadRoot/RUN/STEP/attempt-N, the sluice binary once per build under UploadRoot/bin/ID — and
// makes the spark_python_task that runs it. Tasks read the shipped files through the cluster's
// FUSE mounts (/dbfs, /Workspace).
func (s *step) scaleOutTask(ctx context.Context, api API, sc *compute.StepContext, log io.Writer) (Task, error) {
	bin := s.t.cfg.Binary
	if bin == "" {
		var err error
		if bin, err = sparkdriver.Executable(); err != nil {
			return Task{}, err
		}
	}
	job, err := sparkdriver.ScoreJob(sc, bin, s.t.cfg.Workspace)
	if err != nil {
		return Task{}, err
	}
	ws := s.t.cfg.Upload == UploadWorkspace
	fuse := func(p string) string {
		if ws {
			return "/Workspace" + p
		}
		return "/dbfs" + p
	}
	dir := path.Join(s.t.cfg.UploadRoot, sc.RunID, sc.Step, fmt.Sprintf("attempt-%d", sc.Attempt))
	files := append([]sparkdriver.File{{Name: sparkdriver.ScriptName, Data: sparkdriver.Script}}, job.Files...)
	for _, f := range files {
		b, err := f.Content()
		if err != nil {
			return Task{}, fmt.Errorf("%w: %w", sparkdriver.ErrJob, err)
		}
		if err := s.put(ctx, api, path.Join(dir, f.Name), b); err != nil {
			return Task{}, fmt.Errorf("uploading %s: %w", f.Name, err)
		}
	}
	id, err := sparkdriver.BinaryID(job.Binary)
	if err != nil {
		return Task{}, fmt.Errorf("%w: %w", sparkdriver.ErrJob, err)
	}
	binPath := path.Join(s.t.cfg.UploadRoot, "bin", id, sparkdriver.BinaryName)
	have := false
	if ws {
		have, err = api.WorkspaceFileExists(ctx, binPath)
	} else {
		var size int64
		var ok bool
		size, ok, err = api.FileSize(ctx, binPath)
		if st, serr := os.Stat(job.Binary); ok && serr == nil && st.Size() == size {
			have = true
		}
	}
	if err != nil {
		return Task{}, fmt.Errorf("looking for the sluice binary: %w", err)
	}
	if !have {
		b, err := os.ReadFile(job.Binary)
		if err != nil {
			return Task{}, fmt.Errorf("%w: %w", sparkdriver.ErrJob, err)
		}
		if ws {
			err = s.put(ctx, api, binPath, b)
		} else {
			err = api.PutDBFSFile(ctx, binPath, b)
		}
		if err != nil {
			return Task{}, fmt.Errorf("uploading the sluice binary: %w", err)
		}
	}
	fmt.Fprintf(log, "databricks: scale-out of %s in %d shards; %d file(s) uploaded to %s; sluice binary %s %s\n", sc.Job.Type, job.Shards,
		len(files), fuse(dir), fuse(binPath), map[bool]string{true: "already there", false: "uploaded"}[have])
	script := "dbfs:" + path.Join(dir, sparkdriver.ScriptName)
	if ws {
		script = fuse(path.Join(dir, sparkdriver.ScriptName))
	}
	return Task{TaskKey: "sluice", ExistingClusterID: s.t.cfg.ExistingClusterID, NewCluster: s.t.cfg.NewCluster,
		SparkPythonTask: &SparkPythonTask{PythonFile: script, Parameters: job.DriverArgs(fuse(binPath), fuse(dir))}}, nil
}

// put uploads one file where the target uploads code, retrying it whole (an add-block cannot be
// retried alone).
func (s *step) put(ctx context.Context, api API, p string, b []byte) error {
	var err error
	for try := 1; try <= 3; try++ {
		if s.t.cfg.Upload == UploadWorkspace {
			err = api.PutWorkspaceFile(ctx, p, b)
		} else {
			err = api.PutDBFS(ctx, p, b)
		}
		if err == nil || ctx.Err() != nil {
			break
		}
	}
	return err
}

// cancelByName cancels the active one-time runs named name.
func (s *step) cancelByName(ctx context.Context, api API, name string, log interface{ Write([]byte) (int, error) }) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	runs, err := api.ActiveSubmitRuns(cctx)
	if err != nil {
		fmt.Fprintf(log, "databricks: looking for run %q to cancel: %v\n", name, err)
		return
	}
	for _, r := range runs {
		if r.RunName != name {
			continue
		}
		if err := api.Cancel(cctx, r.RunID); err != nil {
			fmt.Fprintf(log, "databricks: canceling run %d: %v\n", r.RunID, err)
		} else {
			fmt.Fprintf(log, "databricks: run %d canceled (its submit was interrupted)\n", r.RunID)
		}
	}
}

// follow polls the run until it reaches a terminal life-cycle state.
func (s *step) follow(ctx context.Context, api API, id int64, log interface{ Write([]byte) (int, error) }) (Run, error) {
	p := rest.Poller{Min: s.t.cfg.PollMin, Max: s.t.cfg.PollMax}
	last := ""
	for {
		run, err := api.Get(ctx, id)
		if err != nil {
			if ctx.Err() != nil {
				return Run{}, ctx.Err()
			}
			return Run{}, fmt.Errorf("runs/get %d: %w", id, err)
		}
		state := run.State.LifeCycleState + "/" + run.State.ResultState
		changed := state != last
		if changed {
			fmt.Fprintf(log, "databricks: run %d %s", id, run.State.LifeCycleState)
			if run.State.ResultState != "" {
				fmt.Fprintf(log, " %s", run.State.ResultState)
			}
			if run.State.StateMessage != "" {
				fmt.Fprintf(log, ": %s", run.State.StateMessage)
			}
			if last == "" && run.RunPageURL != "" {
				fmt.Fprintf(log, " (%s)", run.RunPageURL)
			}
			fmt.Fprintln(log)
			last = state
		}
		switch run.State.LifeCycleState {
		case StateTerminated, StateSkipped, StateInternalError:
			return run, nil
		}
		if err := s.sleep(ctx, p.Next(changed)); err != nil {
			return Run{}, err
		}
	}
}

// taskRunIDs are the ids get-output accepts (one per task; a single-task run has one).
func taskRunIDs(run Run) []int64 {
	if len(run.Tasks) == 0 {
		return []int64{run.RunID}
	}
	ids := make([]int64, 0, len(run.Tasks))
	sort.Slice(run.Tasks, func(i, j int) bool { return run.Tasks[i].TaskKey < run.Tasks[j].TaskKey })
	for _, t := range run.Tasks {
		ids = append(ids, t.RunID)
	}
	return ids
}

// output copies each task's logs, error and trace into the log.
func (s *step) output(ctx context.Context, api API, run Run, log interface{ Write([]byte) (int, error) }) {
	for _, tid := range taskRunIDs(run) {
		out, err := api.Output(ctx, tid)
		if err != nil {
			fmt.Fprintf(log, "databricks: runs/get-output %d: %v\n", tid, err)
			continue
		}
		if out.Logs != "" {
			fmt.Fprint(log, remote.LineWriter("databricks | ", out.Logs))
			if out.LogsTruncated {
				fmt.Fprintln(log, "databricks | (logs truncated by Databricks)")
			}
		}
		if out.Error != "" {
			fmt.Fprint(log, remote.LineWriter("databricks error | ", out.Error))
		}
		if out.ErrorTrace != "" {
			fmt.Fprint(log, remote.LineWriter("databricks trace | ", out.ErrorTrace))
		}
	}
}

func (s *step) taskError(ctx context.Context, api API, run Run) string {
	var msgs []string
	for _, tid := range taskRunIDs(run) {
		if out, err := api.Output(ctx, tid); err == nil && out.Error != "" {
			msgs = append(msgs, out.Error)
		}
	}
	return strings.Join(msgs, "; ")
}

// upload sends the code folder and returns, for each relative file name, the path tasks use.
func (s *step) upload(ctx context.Context, api API, workDir, dir string, log interface{ Write([]byte) (int, error) }) (map[string]string, error) {
	files, err := remote.CodeFiles(workDir)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	out := map[string]string{}
	for _, n := range names {
		p := path.Join(dir, n)
		var err error
		for try := 1; try <= 3; try++ { // add-block cannot be retried alone: redo the whole file
			if s.t.cfg.Upload == UploadWorkspace {
				err = api.PutWorkspaceFile(ctx, p, files[n])
			} else {
				err = api.PutDBFS(ctx, p, files[n])
			}
			if err == nil || ctx.Err() != nil {
				break
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		if s.t.cfg.Upload == UploadWorkspace {
			out[n] = "/Workspace" + p
		} else {
			out[n] = "dbfs:" + p
		}
	}
	fmt.Fprintf(log, "databricks: %d code file(s) uploaded to %s\n", len(names), map[bool]string{true: "/Workspace" + dir, false: "dbfs:" + dir}[s.t.cfg.Upload == UploadWorkspace])
	return out, nil
}
