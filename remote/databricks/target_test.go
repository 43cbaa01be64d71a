package databricks_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-ml/sluice/engine/compute"
	"github.com/sluice-ml/sluice/engine/spec"
	"github.com/sluice-ml/sluice/remote/databricks"
	"github.com/sluice-ml/sluice/remote/databricks/fakedatabricks"
	"github.com/sluice-ml/sluice/remote/rest"
)

const token = "dapi-SECRET-0123456789abcdef"

const pipeline = `name: t
inputs:
  data: {type: uri_folder, path: azblob://acct1/cont/in}
jobs:
  s:
    type: command
    compute: databricks:dbx
    code: ./code
    command: python main.py --in ${{inputs.data}} --out ${{outputs.out}} --n 3
    inputs: {data: ${{parent.inputs.data}}}
    outputs: {out: {type: uri_folder, path: azblob://acct1/cont/out}}
`

type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
	// onSleep runs at each sleep (e.g. to cancel the step).
	onSleep func(n int)
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	n := len(s.d)
	f := s.onSleep
	s.mu.Unlock()
	if f != nil {
		f(n)
	}
	return ctx.Err()
}

type fixture struct {
	fake   *fakedatabricks.Server
	target *databricks.Target
	sc     *compute.StepContext
	log    *bytes.Buffer
	sleeps *sleeps
}

func setup(t *testing.T, b fakedatabricks.Behavior, mutate func(*databricks.Config)) *fixture {
	t.Helper()
	fake := fakedatabricks.New(token, func(databricks.SubmitRequest) fakedatabricks.Behavior { return b })
	t.Cleanup(fake.Close)
	p, err := spec.Parse("p.yaml", []byte(pipeline))
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	os.WriteFile(filepath.Join(work, "main.py"), []byte("print('hello from spark')\n"), 0o644)
	sl := &sleeps{}
	cfg := databricks.Config{Name: "dbx", Host: fake.URL, ExistingClusterID: "0101-abc",
		Token: func(context.Context) (string, error) { return token, nil }, Sleep: sl.sleep, PollMin: time.Second, PollMax: 4 * time.Second}
	if mutate != nil {
		mutate(&cfg)
	}
	tg, err := databricks.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	log := &bytes.Buffer{}
	sc := &compute.StepContext{RunID: "r1", Step: "s", Attempt: 1, Job: p.Jobs["s"],
		Inputs: map[string]string{"data": "azblob://acct1/cont/in"}, Outputs: map[string]string{"out": "azblob://acct1/cont/out"},
		WorkDir: work, Log: log}
	return &fixture{fake: fake, target: tg, sc: sc, log: log, sleeps: sl}
}

func (f *fixture) run(t *testing.T, ctx context.Context) error {
	t.Helper()
	st, err := f.target.Prepare(ctx, f.sc.Job)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.(compute.DataURIs); !ok {
		t.Fatal("databricks step should handle data URIs itself")
	}
	err = st.Run(ctx, f.sc)
	if strings.Contains(f.log.String(), token) || err != nil && strings.Contains(err.Error(), token) {
		t.Fatalf("token leaked:\n%s\n%v", f.log, err)
	}
	return err
}

func TestSuccess(t *testing.T) {
	t.Parallel()
	for _, upload := range []string{databricks.UploadDBFS, databricks.UploadWorkspace} {
		t.Run(upload, func(t *testing.T) {
			f := setup(t, fakedatabricks.Behavior{Logs: "rows written: 42\n"}, func(c *databricks.Config) { c.Upload = upload })
			if err := f.run(t, context.Background()); err != nil {
				t.Fatalf("%v\n%s", err, f.log)
			}
			runs := f.fake.Runs()
			if len(runs) != 1 {
				t.Fatalf("%d runs", len(runs))
			}
			task := runs[0].Request.Tasks[0]
			wantFile := "dbfs:/sluice/code/r1/s/attempt-1/main.py"
			stored := "/sluice/code/r1/s/attempt-1/main.py"
			if upload == databricks.UploadWorkspace {
				wantFile, stored = "/Workspace/Shared/sluice/code/r1/s/attempt-1/main.py", "/Shared/sluice/code/r1/s/attempt-1/main.py"
			}
			if task.SparkPythonTask == nil || task.SparkPythonTask.PythonFile != wantFile || task.ExistingClusterID != "0101-abc" {
				t.Fatalf("task %+v", task)
			}
			wantArgs := []string{"--in", "wasbs://cont@acct1.blob.core.windows.net/in", "--out", "wasbs://cont@acct1.blob.core.windows.net/out", "--n", "3"}
			if !slices.Equal(task.SparkPythonTask.Parameters, wantArgs) {
				t.Fatalf("parameters %q", task.SparkPythonTask.Parameters)
			}
			if b, ok := f.fake.File(stored); !ok || string(b) != "print('hello from spark')\n" {
				t.Fatalf("uploaded code: %q %v", b, ok)
			}
			if runs[0].Request.IdempotencyToken == "" {
				t.Fatal("no idempotency token")
			}
			for _, want := range []string{"PENDING", "RUNNING", "TERMINATED SUCCESS", "databricks | rows written: 42"} {
				if !strings.Contains(f.log.String(), want) {
					t.Fatalf("log lacks %q:\n%s", want, f.log)
				}
			}
		})
	}
}

func TestFailures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		b    fakedatabricks.Behavior
		want []string
	}{
		{"failed", fakedatabricks.Behavior{Result: databricks.ResultFailed, StateMessage: "Task s failed with message: Workload failed.",
			Error: "ZeroDivisionError: division by zero", Trace: "Traceback (most recent call last):\n  File main.py, line 3"},
			[]string{"TERMINATED/FAILED", "Workload failed", "ZeroDivisionError: division by zero"}},
		{"internal error", fakedatabricks.Behavior{Life: databricks.StateInternalError, StateMessage: "Cluster terminated: CLOUD_PROVIDER_LAUNCH_FAILURE"},
			[]string{"INTERNAL_ERROR", "CLOUD_PROVIDER_LAUNCH_FAILURE"}},
		{"timed out", fakedatabricks.Behavior{Result: databricks.ResultTimedOut, StateMessage: "Run timed out"}, []string{"TIMEDOUT"}},
		{"skipped", fakedatabricks.Behavior{Life: databricks.StateSkipped, StateMessage: "upstream failed"}, []string{"SKIPPED"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t, tc.b, nil)
			err := f.run(t, context.Background())
			if !errors.Is(err, databricks.ErrRunFailed) {
				t.Fatalf("err = %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q lacks %q", err, w)
				}
			}
			if tc.b.Error != "" && !strings.Contains(f.log.String(), "databricks error | "+tc.b.Error) {
				t.Fatalf("log lacks the remote error:\n%s", f.log)
			}
			if tc.b.Trace != "" && !strings.Contains(f.log.String(), "databricks trace | Traceback") {
				t.Fatalf("log lacks the trace:\n%s", f.log)
			}
		})
	}
}

func TestCancelReachesRemote(t *testing.T) {
	t.Parallel()
	f := setup(t, fakedatabricks.Behavior{Never: true}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	f.sleeps.onSleep = func(n int) {
		if n == 5 { // polled a few times: the run is RUNNING
			cancel()
		}
	}
	err := f.run(t, ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	runs := f.fake.Runs()
	if c := f.fake.Cancels(); len(runs) != 1 || !slices.Equal(c, []int64{runs[0].ID}) {
		t.Fatalf("cancels %v for runs %v", c, runs)
	}
	if !strings.Contains(f.log.String(), "canceled") {
		t.Fatalf("log:\n%s", f.log)
	}
}

// Polls back off while nothing changes (up to PollMax), with jitter.
func TestPollBackoff(t *testing.T) {
	t.Parallel()
	f := setup(t, fakedatabricks.Behavior{Polls: 8}, nil)
	if err := f.run(t, context.Background()); err != nil {
		t.Fatal(err)
	}
	d := f.sleeps.d
	if len(d) < 6 {
		t.Fatalf("sleeps %v", d)
	}
	for _, x := range d {
		if x < 500*time.Millisecond || x > 4*time.Second {
			t.Fatalf("poll wait %s outside [PollMin/2, PollMax]: %v", x, d)
		}
	}
	if d[len(d)-1] < 2*time.Second {
		t.Fatalf("no backoff while RUNNING: %v", d)
	}
}

func TestThrottlingSurvived(t *testing.T) {
	t.Parallel()
	f := setup(t, fakedatabricks.Behavior{}, nil)
	f.fake.Inject(
		fakedatabricks.Fault{Path: "/runs/submit", Status: 429, RetryAfter: "7"},
		fakedatabricks.Fault{Path: "/runs/submit", Status: 503},
		fakedatabricks.Fault{Path: "/runs/get", Status: 429, RetryAfter: "3"},
		fakedatabricks.Fault{Path: "/runs/get", Status: 500},
		fakedatabricks.Fault{Path: "/dbfs/create", Status: 429},
	)
	if err := f.run(t, context.Background()); err != nil {
		t.Fatalf("%v\n%s", err, f.log)
	}
	if !slices.Contains(f.sleeps.d, 7*time.Second) || !slices.Contains(f.sleeps.d, 3*time.Second) {
		t.Fatalf("Retry-After not honoured: %v", f.sleeps.d)
	}
	if n := len(f.fake.Runs()); n != 1 {
		t.Fatalf("%d runs", n)
	}
	if !strings.Contains(f.log.String(), "HTTP 429") {
		t.Fatalf("retries not logged:\n%s", f.log)
	}
}

func TestLostSubmitResponseMakesNoSecondRun(t *testing.T) {
	t.Parallel()
	f := setup(t, fakedatabricks.Behavior{}, nil)
	f.fake.Inject(fakedatabricks.Fault{Path: "/runs/submit", Drop: true}, fakedatabricks.Fault{Path: "/runs/submit", Drop: true})
	if err := f.run(t, context.Background()); err != nil {
		t.Fatalf("%v\n%s", err, f.log)
	}
	if n := f.fake.Submits(); n != 3 {
		t.Fatalf("%d submits reached the server, want 3 (two lost answers)", n)
	}
	if n := len(f.fake.Runs()); n != 1 {
		t.Fatalf("%d runs created, want 1", n)
	}
}

func TestAuthErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		tok  string
		code int
	}{{"", 401}, {"dapi-WRONG-TOKEN-000", 403}} {
		f := setup(t, fakedatabricks.Behavior{}, func(c *databricks.Config) {
			c.Token = func(context.Context) (string, error) { return tc.tok, nil }
		})
		err := f.run(t, context.Background())
		var se *rest.StatusError
		if !errors.As(err, &se) || se.Code != tc.code {
			t.Fatalf("token %q: err = %v", tc.tok, err)
		}
		if tc.tok != "" && strings.Contains(err.Error()+f.log.String(), tc.tok) {
			t.Fatalf("wrong token leaked: %v", err)
		}
	}
}

func TestPrepareRefuses(t *testing.T) {
	t.Parallel()
	f := setup(t, fakedatabricks.Behavior{}, nil)
	job := *f.sc.Job
	job.Outputs = map[string]*spec.JobOutput{"out": {Name: "out", Type: spec.TypeURIFolder}}
	if _, err := f.target.Prepare(context.Background(), &job); err == nil || !strings.Contains(err.Error(), "path: azblob://") {
		t.Fatalf("output without path: %v", err)
	}
	job = *f.sc.Job
	job.Type = "transfer"
	if _, err := f.target.Prepare(context.Background(), &job); !errors.Is(err, compute.ErrUnsupportedJob) {
		t.Fatalf("transfer job: %v", err)
	}
}

// Canceled while a submit whose answer was lost is being retried: the run that submit created is
// found by name (runs/list) and canceled.
func TestCancelDuringSubmitRetry(t *testing.T) {
	t.Parallel()
	f := setup(t, fakedatabricks.Behavior{Never: true}, nil)
	f.fake.Inject(fakedatabricks.Fault{Path: "/runs/submit", Drop: true})
	ctx, cancel := context.WithCancel(context.Background())
	f.sleeps.onSleep = func(int) { cancel() } // the first wait is the retry after the lost answer
	if err := f.run(t, ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	runs := f.fake.Runs()
	if len(runs) != 1 || !slices.Equal(f.fake.Cancels(), []int64{runs[0].ID}) {
		t.Fatalf("runs %v, cancels %v\n%s", runs, f.fake.Cancels(), f.log)
	}
}
