package livy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-ml/sluice/engine/compute"
	"github.com/sluice-ml/sluice/engine/spec"
	"github.com/sluice-ml/sluice/internal/secret"
	"github.com/sluice-ml/sluice/remote"
	"github.com/sluice-ml/sluice/remote/rest"
	"github.com/sluice-ml/sluice/remote/sparkdriver"
	"github.com/sluice-ml/sluice/store/datastore"
)

// Config is one configured cluster (an `hdinsight` entry of the workspace file).
type Config struct {
	Name     string // the target is "hdinsight:" + Name
	URL      string // Livy's root, e.g. https://CLUSTER.azurehdinsight.net/livy
	User     string
	Password string // HTTP Basic password (from the environment); never logged
	// CodeRoot is an azblob:// URI on the cluster's storage where step code is uploaded; "" to
	// upload nothing (then the command must name files the cluster can already read).
	CodeRoot string
	// Defaults is the batch every step starts from (conf, memory, cores, queue...); File, Args and
	// Name are set per step.
	Defaults BatchRequest
	// Binary is the sluice executable shipped to scale-out steps (default: this process's own);
	// Workspace the workspace file their tasks read (datastores only: names of environment
	// variables, no secret). The cluster supplies those variables (spark.executorEnv.* in conf).
	Binary    string
	Workspace []byte
	// PollMin and PollMax space the state polls (default 2 s and 30 s).
	PollMin, PollMax time.Duration
	// Tests.
	HTTP        *http.Client
	Sleep       func(ctx context.Context, d time.Duration) error
	MaxAttempts int
	Backoff     time.Duration
}

// Target runs command steps as Livy batches.
type Target struct {
	cfg Config
	api API
}

// New makes the target; it makes no request.
func New(cfg Config) (*Target, error) {
	if cfg.URL == "" {
		return nil, fmt.Errorf("hdinsight %s: url is required", cfg.Name)
	}
	if cfg.CodeRoot != "" {
		if _, err := datastore.ParseURI(cfg.CodeRoot); err != nil {
			return nil, fmt.Errorf("hdinsight %s: code_root: %w", cfg.Name, err)
		}
	}
	if cfg.PollMin <= 0 {
		cfg.PollMin = 2 * time.Second
	}
	if cfg.PollMax <= 0 {
		cfg.PollMax = 30 * time.Second
	}
	secret.Add(cfg.Password)
	c := &rest.Client{Base: cfg.URL, HTTP: cfg.HTTP, Sleep: cfg.Sleep, MaxAttempts: cfg.MaxAttempts, Backoff: cfg.Backoff,
		Header: http.Header{"X-Requested-By": {"sluice"}},
		Auth: func(_ context.Context, req *http.Request) error {
			if cfg.User != "" || cfg.Password != "" {
				req.SetBasicAuth(cfg.User, cfg.Password)
			}
			return nil
		}}
	return &Target{cfg: cfg, api: API{C: c}}, nil
}

// Name is "hdinsight:NAME".
func (t *Target) Name() string { return "hdinsight:" + t.cfg.Name }

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

// FromCommand turns a command's words into a batch request on top of defaults.
func FromCommand(words []string, defaults BatchRequest) (BatchRequest, error) {
	b := defaults
	b.Conf = maps.Clone(defaults.Conf)
	b.Args = nil
	if len(words) == 0 {
		return b, fmt.Errorf("%w: empty command", ErrCommand)
	}
	switch {
	case words[0] == "spark-submit":
		rest := words[1:]
		for len(rest) > 0 && strings.HasPrefix(rest[0], "--") {
			opt, val, hasVal := strings.Cut(rest[0], "=")
			rest = rest[1:]
			if !hasVal {
				if len(rest) == 0 {
					return b, fmt.Errorf("%w: spark-submit option %s needs a value", ErrCommand, opt)
				}
				val, rest = rest[0], rest[1:]
			}
			if err := b.set(opt, val); err != nil {
				return b, err
			}
		}
		if len(rest) == 0 {
			return b, fmt.Errorf("%w: spark-submit without an application file", ErrCommand)
		}
		b.File, b.Args = rest[0], rest[1:]
	case (words[0] == "python" || words[0] == "python3") && len(words) > 1:
		b.File, b.Args = words[1], words[2:]
	case strings.HasSuffix(words[0], ".py") || strings.HasSuffix(words[0], ".jar"):
		b.File, b.Args = words[0], words[1:]
	default:
		return b, fmt.Errorf("%w: %q is neither `python FILE.py ...`, `FILE.py|FILE.jar ...` nor `spark-submit ...`", ErrCommand, words[0])
	}
	return b, nil
}

func (b *BatchRequest) set(opt, val string) error {
	num := func() (int, error) {
		n, err := strconv.Atoi(val)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("%w: %s %q must be a positive integer", ErrCommand, opt, val)
		}
		return n, nil
	}
	var err error
	switch opt {
	case "--class":
		b.ClassName = val
	case "--jars":
		b.Jars = append(b.Jars, strings.Split(val, ",")...)
	case "--py-files":
		b.PyFiles = append(b.PyFiles, strings.Split(val, ",")...)
	case "--files":
		b.Files = append(b.Files, strings.Split(val, ",")...)
	case "--archives":
		b.Archives = append(b.Archives, strings.Split(val, ",")...)
	case "--conf":
		k, v, ok := strings.Cut(val, "=")
		if !ok {
			return fmt.Errorf("%w: --conf %q: want KEY=VALUE", ErrCommand, val)
		}
		if b.Conf == nil {
			b.Conf = map[string]string{}
		}
		b.Conf[k] = v
	case "--driver-memory":
		b.DriverMemory = val
	case "--executor-memory":
		b.ExecutorMemory = val
	case "--driver-cores":
		b.DriverCores, err = num()
	case "--executor-cores":
		b.ExecutorCores, err = num()
	case "--num-executors":
		b.NumExecutors, err = num()
	case "--queue":
		b.Queue = val
	case "--name":
		b.Name = val
	case "--proxy-user":
		b.ProxyUser = val
	default:
		return fmt.Errorf("%w: spark-submit option %s is not supported by Livy batches", ErrCommand, opt)
	}
	return err
}

// Run uploads the code, submits the batch (never twice), follows it and copies its log.
func (s *step) Run(ctx context.Context, sc *compute.StepContext) (err error) {
	log := secret.Writer(sc.Log)
	defer log.Close()
	api := s.t.api
	c := *api.C
	c.OnRetry = func(attempt int, wait time.Duration, err error) {
		fmt.Fprintf(log, "livy: retry %d in %s: %v\n", attempt, wait.Round(time.Millisecond), err)
	}
	api.C = &c
	var req BatchRequest
	if sparkdriver.Supports(sc.Job.Type) {
		req, err = s.scaleOutBatch(ctx, sc, log)
	} else {
		req, err = s.commandBatch(ctx, sc, log)
	}
	if err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(sc.RunID + "\x00" + sc.Step + "\x00" + strconv.Itoa(sc.Attempt)))
	req.Name = "sluice-" + sc.Step + "-" + hex.EncodeToString(sum[:8])
	id, err := s.submit(ctx, api, req, log)
	if err != nil {
		return fmt.Errorf("POST /batches: %w", err)
	}
	fmt.Fprintf(log, "livy: batch %d (%s) submitted: %s\n", id, req.Name, req.File)
	defer func() {
		if ctx.Err() == nil {
			return
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if derr := api.Delete(cctx, id); derr != nil {
			fmt.Fprintf(log, "livy: deleting batch %d: %v\n", id, derr)
		} else {
			fmt.Fprintf(log, "livy: batch %d deleted (canceled)\n", id)
		}
		err = ctx.Err()
	}()
	p := rest.Poller{Min: s.t.cfg.PollMin, Max: s.t.cfg.PollMax}
	last, logged := "", 0
	var tail []string
	for {
		state, err := api.State(ctx, id)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("batch %d state: %w", id, err)
		}
		changed := state != last
		if changed {
			fmt.Fprintf(log, "livy: batch %d %s\n", id, state)
			last = state
		}
		logged, tail = s.copyLog(ctx, api, id, logged, tail, log)
		if Terminal(state) {
			if state == StateSuccess {
				return nil
			}
			msg := fmt.Sprintf("batch %d ended %s", id, state)
			if len(tail) > 0 {
				msg += "; last log lines:\n  " + strings.Join(tail, "\n  ")
			}
			return fmt.Errorf("%w: %s", ErrBatchFailed, secret.Redact(msg))
		}
		if err := s.sleep(ctx, p.Next(changed)); err != nil {
			return err
		}
	}
}

// commandBatch uploads a command step's code (when CodeRoot is set) and makes its batch.
func (s *step) commandBatch(ctx context.Context, sc *compute.StepContext, log io.Writer) (BatchRequest, error) {
	words, err := remote.Args(sc)
	if err != nil {
		return BatchRequest{}, err
	}
	if s.t.cfg.CodeRoot != "" {
		uploaded, err := s.upload(ctx, sc, log)
		if err != nil {
			return BatchRequest{}, fmt.Errorf("uploading code: %w", err)
		}
		for i, w := range words {
			if p, ok := uploaded[strings.TrimPrefix(w, "./")]; ok {
				words[i] = p
			}
		}
	}
	return FromCommand(words, s.t.cfg.Defaults)
}

// scaleOutBatch ships a dataflow step (package sparkdriver) to CodeRoot — the driver and the
// step's files under RUN/STEP/attempt-N, the sluice binary once per build under bin/ID — and makes
// the batch that runs the driver with them as its `files` (YARN puts them in every executor's
// working folder, where SparkFiles finds them).
func (s *step) scaleOutBatch(ctx context.Context, sc *compute.StepContext, log io.Writer) (BatchRequest, error) {
	if s.t.cfg.CodeRoot == "" {
		return BatchRequest{}, fmt.Errorf("%w: %s steps on %s need the target's code_root (where the sluice binary is shipped)",
			sparkdriver.ErrJob, sc.Job.Type, s.t.Name())
	}
	if sc.Data == nil {
		return BatchRequest{}, fmt.Errorf("no datastore resolver for %s", s.t.cfg.CodeRoot)
	}
	bin := s.t.cfg.Binary
	if bin == "" {
		var err error
		if bin, err = sparkdriver.Executable(); err != nil {
			return BatchRequest{}, err
		}
	}
	job, err := sparkdriver.ScoreJob(sc, bin, s.t.cfg.Workspace)
	if err != nil {
		return BatchRequest{}, err
	}
	root, _ := datastore.ParseURI(s.t.cfg.CodeRoot)
	dir := root.Join(path.Join(sc.RunID, sc.Step, fmt.Sprintf("attempt-%d", sc.Attempt)))
	loc, err := sc.Data.Resolve(ctx, dir.String())
	if err != nil {
		return BatchRequest{}, err
	}
	req := s.t.cfg.Defaults
	req.Conf = maps.Clone(req.Conf)
	req.Files = slices.Clone(req.Files)
	files := append([]sparkdriver.File{{Name: sparkdriver.ScriptName, Data: sparkdriver.Script}}, job.Files...)
	for _, f := range files {
		b, err := f.Content()
		if err != nil {
			return BatchRequest{}, fmt.Errorf("%w: %w", sparkdriver.ErrJob, err)
		}
		if err := datastore.Write(ctx, loc.Store, loc.Name(f.Name), bytes.NewReader(b), datastore.CreateOptions{}); err != nil {
			return BatchRequest{}, fmt.Errorf("uploading %s: %w", f.Name, err)
		}
		if f.Name != sparkdriver.ScriptName {
			req.Files = append(req.Files, remote.SparkURI(dir.Join(f.Name).String()))
		}
	}
	id, err := sparkdriver.BinaryID(job.Binary)
	if err != nil {
		return BatchRequest{}, fmt.Errorf("%w: %w", sparkdriver.ErrJob, err)
	}
	binURI := root.Join(path.Join("bin", id, sparkdriver.BinaryName))
	bloc, err := sc.Data.Resolve(ctx, binURI.String())
	if err != nil {
		return BatchRequest{}, err
	}
	have := false
	if st, serr := os.Stat(job.Binary); serr == nil {
		if in, err := bloc.Store.Stat(ctx, bloc.Prefix); err == nil && in.Size == st.Size() {
			have = true
		}
	}
	if !have {
		up, ok := bloc.Store.(datastore.FileUploader)
		if ok {
			err = up.UploadFile(ctx, bloc.Prefix, job.Binary, datastore.CreateOptions{})
		} else {
			var b []byte
			if b, err = os.ReadFile(job.Binary); err == nil {
				err = datastore.Write(ctx, bloc.Store, bloc.Prefix, bytes.NewReader(b), datastore.CreateOptions{})
			}
		}
		if err != nil {
			return BatchRequest{}, fmt.Errorf("uploading the sluice binary: %w", err)
		}
	}
	req.Files = append(req.Files, remote.SparkURI(binURI.String()))
	req.File = remote.SparkURI(dir.Join(sparkdriver.ScriptName).String())
	req.Args = job.DriverArgs(sparkdriver.BinaryName, "")
	fmt.Fprintf(log, "livy: scale-out of %s in %d shards; %d file(s) uploaded to %s; sluice binary %s %s\n", sc.Job.Type, job.Shards,
		len(files), dir, binURI, map[bool]string{true: "already there", false: "uploaded"}[have])
	return req, nil
}

// submit posts the batch; when the outcome of a post is unknown it looks for the batch by name
// before posting again, so that at most one batch runs.
func (s *step) submit(ctx context.Context, api API, req BatchRequest, log io.Writer) (int64, error) {
	var last error
	for try := 1; try <= 5; try++ {
		b, err := api.Create(ctx, req)
		if err == nil {
			return b.ID, nil
		}
		var se *rest.StatusError
		unknown := errors.Is(err, rest.ErrUnknownOutcome) || errors.As(err, &se) && se.Code >= 500
		if !unknown || ctx.Err() != nil {
			return 0, err
		}
		last = err
		fmt.Fprintf(log, "livy: submit outcome unknown (%v); looking for batch %s\n", err, req.Name)
		if id, ok, ferr := s.find(ctx, api, req.Name); ferr == nil && ok {
			fmt.Fprintf(log, "livy: batch %s exists (id %d): not submitting again\n", req.Name, id)
			return id, nil
		} else if ferr != nil {
			return 0, fmt.Errorf("%w (and listing batches failed: %w)", err, ferr)
		}
		if err := s.sleep(ctx, rest.Jitter(time.Duration(try)*time.Second)); err != nil {
			return 0, err
		}
	}
	return 0, last
}

func (s *step) find(ctx context.Context, api API, name string) (int64, bool, error) {
	for from := 0; ; from += 100 {
		bs, err := api.List(ctx, from, 100)
		if err != nil {
			return 0, false, err
		}
		for _, b := range bs {
			if b.Name == name {
				return b.ID, true, nil
			}
		}
		if len(bs) < 100 {
			return 0, false, nil
		}
	}
}

// copyLog appends the log lines not copied yet; it keeps the last 10 for error messages.
func (s *step) copyLog(ctx context.Context, api API, id int64, from int, tail []string, log io.Writer) (int, []string) {
	for {
		lines, total, err := api.Log(ctx, id, from, 200)
		if err != nil {
			return from, tail
		}
		for _, l := range lines {
			fmt.Fprintf(log, "livy | %s\n", l)
			tail = append(tail, l)
			if len(tail) > 10 {
				tail = tail[1:]
			}
		}
		from += len(lines)
		if len(lines) == 0 || from >= total {
			return from, tail
		}
	}
}

// upload copies the code folder under CodeRoot/RUN/STEP/attempt-N and returns each file's
// wasbs:// URL.
func (s *step) upload(ctx context.Context, sc *compute.StepContext, log io.Writer) (map[string]string, error) {
	files, err := remote.CodeFiles(sc.WorkDir)
	if err != nil {
		return nil, err
	}
	root, _ := datastore.ParseURI(s.t.cfg.CodeRoot)
	dir := root.Join(path.Join(sc.RunID, sc.Step, fmt.Sprintf("attempt-%d", sc.Attempt)))
	if sc.Data == nil {
		return nil, fmt.Errorf("no datastore resolver for %s", dir)
	}
	loc, err := sc.Data.Resolve(ctx, dir.String())
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
		if err := datastore.Write(ctx, loc.Store, loc.Name(n), bytes.NewReader(files[n]), datastore.CreateOptions{}); err != nil {
			return nil, err
		}
		out[n] = remote.SparkURI(dir.Join(n).String())
	}
	fmt.Fprintf(log, "livy: %d code file(s) uploaded to %s\n", len(names), dir)
	return out, nil
}
