package livy_test

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
	"github.com/sluice-ml/sluice/remote/livy"
	"github.com/sluice-ml/sluice/remote/livy/fakelivy"
	"github.com/sluice-ml/sluice/remote/rest"
	"github.com/sluice-ml/sluice/store/datastore"
)

const password = "hdi-PASSWORD-s3cr3t-value"

const pipeline = `name: t
inputs:
  data: {type: uri_folder, path: azblob://acct1/cont/in}
jobs:
  s:
    type: command
    compute: hdinsight:spark
    code: ./code
    command: python main.py ${{inputs.data}} ${{outputs.out}}
    inputs: {data: ${{parent.inputs.data}}}
    outputs: {out: {type: uri_folder, path: azblob://acct1/cont/out}}
`

type fixture struct {
	fake   *fakelivy.Server
	target *livy.Target
	sc     *compute.StepContext
	log    *bytes.Buffer
	blob   string // the folder standing in for Blob storage
	mu     sync.Mutex
	sleeps []time.Duration
	onN    func(n int)
}

func setup(t *testing.T, b fakelivy.Behavior, mutate func(*livy.Config)) *fixture {
	t.Helper()
	f := &fixture{log: &bytes.Buffer{}, blob: t.TempDir()}
	f.fake = fakelivy.New("admin", password, func(livy.BatchRequest) fakelivy.Behavior { return b })
	t.Cleanup(f.fake.Close)
	p, err := spec.Parse("p.yaml", []byte(pipeline))
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	os.WriteFile(filepath.Join(work, "main.py"), []byte("print(1)\n"), 0o644)
	cfg := livy.Config{Name: "spark", URL: f.fake.URL, User: "admin", Password: password, CodeRoot: "azblob://acct1/code/sluice",
		Defaults: livy.BatchRequest{DriverMemory: "2g", ExecutorMemory: "4g", NumExecutors: 3, Queue: "default",
			Conf: map[string]string{"spark.yarn.maxAppAttempts": "1"}},
		PollMin: time.Second, PollMax: 8 * time.Second,
		Sleep: func(ctx context.Context, d time.Duration) error {
			f.mu.Lock()
			f.sleeps = append(f.sleeps, d)
			n, on := len(f.sleeps), f.onN
			f.mu.Unlock()
			if on != nil {
				on(n)
			}
			return ctx.Err()
		}}
	if mutate != nil {
		mutate(&cfg)
	}
	f.target, err = livy.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Blob storage stands in as local folders: azblob://ACCOUNT/CONTAINER → blob/ACCOUNT/CONTAINER.
	res := &datastore.Resolver{}
	res.SetBlobOpener(func(_ context.Context, u datastore.URI) (datastore.Datastore, error) {
		return datastore.NewLocal(filepath.Join(f.blob, u.Account, u.Container)), nil
	})
	f.sc = &compute.StepContext{RunID: "r1", Step: "s", Attempt: 1, Job: p.Jobs["s"],
		Inputs: map[string]string{"data": "azblob://acct1/cont/in"}, Outputs: map[string]string{"out": "azblob://acct1/cont/out"},
		WorkDir: work, Log: f.log, Data: res}
	return f
}

func (f *fixture) run(t *testing.T, ctx context.Context) error {
	t.Helper()
	st, err := f.target.Prepare(ctx, f.sc.Job)
	if err != nil {
		t.Fatal(err)
	}
	err = st.Run(ctx, f.sc)
	if strings.Contains(f.log.String(), password) || err != nil && strings.Contains(err.Error(), password) {
		t.Fatalf("password leaked:\n%s\n%v", f.log, err)
	}
	return err
}

func TestSuccess(t *testing.T) {
	t.Parallel()
	f := setup(t, fakelivy.Behavior{Log: []string{"stdout: ", "rows: 42", "YARN Diagnostics: "}}, nil)
	if err := f.run(t, context.Background()); err != nil {
		t.Fatalf("%v\n%s", err, f.log)
	}
	bs := f.fake.Batches()
	if len(bs) != 1 {
		t.Fatalf("%d batches", len(bs))
	}
	req := bs[0].Request
	wantFile := "wasbs://code@acct1.blob.core.windows.net/sluice/r1/s/attempt-1/main.py"
	if req.File != wantFile || !slices.Equal(req.Args, []string{"wasbs://cont@acct1.blob.core.windows.net/in", "wasbs://cont@acct1.blob.core.windows.net/out"}) {
		t.Fatalf("request %+v", req)
	}
	if req.DriverMemory != "2g" || req.NumExecutors != 3 || req.Queue != "default" || req.Conf["spark.yarn.maxAppAttempts"] != "1" || !strings.HasPrefix(req.Name, "sluice-s-") {
		t.Fatalf("defaults not applied: %+v", req)
	}
	if b, err := os.ReadFile(filepath.Join(f.blob, "acct1", "code", "sluice", "r1", "s", "attempt-1", "main.py")); err != nil || string(b) != "print(1)\n" {
		t.Fatalf("code not uploaded: %q %v", b, err)
	}
	for _, want := range []string{"starting", "running", "success", "livy | rows: 42"} {
		if !strings.Contains(f.log.String(), want) {
			t.Fatalf("log lacks %q:\n%s", want, f.log)
		}
	}
	if strings.Count(f.log.String(), "livy | rows: 42") != 1 {
		t.Fatalf("log lines copied twice:\n%s", f.log)
	}
}

func TestFailures(t *testing.T) {
	t.Parallel()
	for _, final := range []string{livy.StateDead, livy.StateKilled, livy.StateError} {
		t.Run(final, func(t *testing.T) {
			f := setup(t, fakelivy.Behavior{Final: final, Log: []string{"Traceback (most recent call last):", "ValueError: bad partition 7"}}, nil)
			err := f.run(t, context.Background())
			if !errors.Is(err, livy.ErrBatchFailed) || !strings.Contains(err.Error(), "ended "+final) ||
				!strings.Contains(err.Error(), "ValueError: bad partition 7") {
				t.Fatalf("err = %v", err)
			}
			if !strings.Contains(f.log.String(), "livy | ValueError: bad partition 7") {
				t.Fatalf("log:\n%s", f.log)
			}
		})
	}
}

func TestCancelDeletesBatch(t *testing.T) {
	t.Parallel()
	f := setup(t, fakelivy.Behavior{Never: true}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	f.onN = func(n int) {
		if n == 4 {
			cancel()
		}
	}
	if err := f.run(t, ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if d := f.fake.Deletes(); !slices.Equal(d, []int64{0}) {
		t.Fatalf("deletes %v", d)
	}
}

func TestThrottlingSurvived(t *testing.T) {
	t.Parallel()
	f := setup(t, fakelivy.Behavior{Log: []string{"ok"}}, nil)
	f.fake.Inject(
		fakelivy.Fault{Method: "POST", Path: "/batches", Status: 429, RetryAfter: "9"},
		fakelivy.Fault{Method: "POST", Path: "/batches", Status: 503},
		fakelivy.Fault{Path: "/state", Status: 429, RetryAfter: "2"},
		fakelivy.Fault{Path: "/state", Status: 502},
		fakelivy.Fault{Path: "/log", Status: 500},
	)
	if err := f.run(t, context.Background()); err != nil {
		t.Fatalf("%v\n%s", err, f.log)
	}
	if !slices.Contains(f.sleeps, 9*time.Second) || !slices.Contains(f.sleeps, 2*time.Second) {
		t.Fatalf("Retry-After not honoured: %v", f.sleeps)
	}
	if n := len(f.fake.Batches()); n != 1 {
		t.Fatalf("%d batches", n)
	}
}

// A lost answer to POST /batches (or a 500 after the batch was made) never makes a second batch.
func TestLostSubmitResponseMakesNoSecondBatch(t *testing.T) {
	t.Parallel()
	for _, fault := range []fakelivy.Fault{
		{Method: "POST", Path: "/batches", Drop: true},
	} {
		f := setup(t, fakelivy.Behavior{}, nil)
		f.fake.Inject(fault)
		if err := f.run(t, context.Background()); err != nil {
			t.Fatalf("%v\n%s", err, f.log)
		}
		if p, n := f.fake.Posts(), len(f.fake.Batches()); p != 1 || n != 1 {
			t.Fatalf("%d posts, %d batches; want 1 and 1\n%s", p, n, f.log)
		}
		if !strings.Contains(f.log.String(), "not submitting again") {
			t.Fatalf("log:\n%s", f.log)
		}
	}
	// A 500 before anything was created: the batch is looked for, not found, and posted again.
	f := setup(t, fakelivy.Behavior{}, nil)
	f.fake.Inject(fakelivy.Fault{Method: "POST", Path: "/batches", Status: 500})
	if err := f.run(t, context.Background()); err != nil {
		t.Fatalf("%v\n%s", err, f.log)
	}
	if p, n := f.fake.Posts(), len(f.fake.Batches()); p != 1 || n != 1 {
		t.Fatalf("%d posts reaching the handler, %d batches", p, n)
	}
}

func TestAuthAndCSRF(t *testing.T) {
	t.Parallel()
	f := setup(t, fakelivy.Behavior{}, func(c *livy.Config) { c.Password = "wrong-password-123" })
	err := f.run(t, context.Background())
	var se *rest.StatusError
	if !errors.As(err, &se) || se.Code != 401 || strings.Contains(err.Error(), "wrong-password-123") {
		t.Fatalf("err = %v", err)
	}
}

func TestFromCommand(t *testing.T) {
	t.Parallel()
	def := livy.BatchRequest{Queue: "q", Conf: map[string]string{"a": "1"}}
	for _, tc := range []struct {
		words []string
		check func(livy.BatchRequest) bool
		err   bool
	}{
		{[]string{"spark-submit", "--class", "org.X", "--jars", "a.jar,b.jar", "--conf", "k=v", "--num-executors=4",
			"--driver-memory", "1g", "--executor-cores", "2", "--queue", "prod", "app.jar", "x", "y"},
			func(b livy.BatchRequest) bool {
				return b.File == "app.jar" && b.ClassName == "org.X" && slices.Equal(b.Jars, []string{"a.jar", "b.jar"}) &&
					b.Conf["k"] == "v" && b.Conf["a"] == "1" && b.NumExecutors == 4 && b.DriverMemory == "1g" &&
					b.ExecutorCores == 2 && b.Queue == "prod" && slices.Equal(b.Args, []string{"x", "y"})
			}, false},
		{[]string{"main.py", "1"}, func(b livy.BatchRequest) bool { return b.File == "main.py" && b.Queue == "q" }, false},
		{[]string{"spark-submit", "--py-files", "u.py", "--files", "f.txt", "m.py"},
			func(b livy.BatchRequest) bool {
				return b.PyFiles[0] == "u.py" && b.Files[0] == "f.txt" && b.File == "m.py"
			}, false},
		{[]string{"spark-submit", "--deploy-mode", "client", "a.jar"}, nil, true},
		{[]string{"spark-submit", "--num-executors", "lots", "a.jar"}, nil, true},
		{[]string{"spark-submit", "--class"}, nil, true},
		{[]string{"bash", "x.sh"}, nil, true},
	} {
		b, err := livy.FromCommand(tc.words, def)
		if tc.err {
			if !errors.Is(err, livy.ErrCommand) {
				t.Errorf("%q: err = %v", tc.words, err)
			}
			continue
		}
		if err != nil || !tc.check(b) {
			t.Errorf("%q: %+v, %v", tc.words, b, err)
		}
	}
	if def.Conf["k"] != "" {
		t.Fatal("defaults modified")
	}
}
