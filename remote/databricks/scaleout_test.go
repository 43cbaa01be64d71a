package databricks_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-ml/sluice/engine/compute"
	"github.com/sluice-ml/sluice/engine/spec"
	"github.com/sluice-ml/sluice/internal/testenv"
	"github.com/sluice-ml/sluice/remote/databricks"
	"github.com/sluice-ml/sluice/remote/databricks/fakedatabricks"
	"github.com/sluice-ml/sluice/remote/sparkdriver/fakespark"
)

// A stand-in sluice binary: prints its arguments; with SO_PIDS set, records its pid there and
// sleeps (a shard that takes long).
const stubBinary = `#!/bin/sh
echo "args: $*"
if [ -n "$SO_PIDS" ]; then echo $$ > "$SO_PIDS/$$"; sleep 60; fi
`

func scaleOutFixture(t *testing.T, env ...string) (*fakedatabricks.Server, *databricks.Target, *compute.StepContext, *bytes.Buffer) {
	t.Helper()
	cluster := &fakespark.Cluster{Env: env}
	if cluster.Available() != nil {
		testenv.Missing(t, "python3 (runs the Spark driver in the fake)")
	}
	fake := fakedatabricks.New(token, nil)
	fake.Execute(cluster)
	t.Cleanup(fake.Close)
	dir := t.TempDir()
	bin := filepath.Join(dir, "sluice")
	os.WriteFile(bin, []byte(stubBinary), 0o755)
	model := filepath.Join(dir, "net.onnx")
	os.WriteFile(model, []byte("onnx"), 0o644)
	target, err := databricks.New(databricks.Config{Name: "dbx", Host: fake.URL, Token: func(context.Context) (string, error) { return token, nil },
		NewCluster: map[string]any{"spark_version": "15.4.x-scala2.12", "num_workers": 2}, Binary: bin,
		Workspace: []byte("datastores: {}\n"), PollMin: time.Millisecond, PollMax: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	job := &spec.Job{Name: "score", Type: "score", Compute: "databricks:dbx", InputOrder: []string{"images"}, OutputOrder: []string{"preds"},
		Outputs: map[string]*spec.JobOutput{"preds": {Type: spec.TypeURIFolder, Path: "azblob://acct1/cont/preds"}}}
	var log bytes.Buffer
	sc := &compute.StepContext{RunID: "r1", Step: "score", Attempt: 1, Job: job, Log: &log, WorkDir: dir,
		Inputs:  map[string]string{"images": "azblob://acct1/cont/images", "model": model, "shards": "2"},
		Outputs: map[string]string{"preds": "azblob://acct1/cont/preds"}}
	return fake, target, sc, &log
}

// A score step on Databricks ships the driver, the model, the workspace file and the binary,
// and runs a spark_python_task whose tasks run the binary on shard i/N with the shipped files.
func TestScaleOutStep(t *testing.T) {
	fake, target, sc, log := scaleOutFixture(t)
	step, err := target.Prepare(context.Background(), sc.Job)
	if err != nil {
		t.Fatal(err)
	}
	if err := step.Run(context.Background(), sc); err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	for i := range 2 {
		want := "databricks | shard " + strconv.Itoa(i) + "/2: args: score --input azblob://acct1/cont/images --output azblob://acct1/cont/preds --model /"
		if !strings.Contains(log.String(), want) {
			t.Fatalf("log lacks %q:\n%s", want, log)
		}
	}
	task := fake.Runs()[0].Request.Tasks[0].SparkPythonTask
	if task.PythonFile != "dbfs:/sluice/code/r1/score/attempt-1/sluice_driver.py" ||
		!strings.Contains(strings.Join(task.Parameters, " "), "--shards 2 --binary /dbfs/sluice/code/bin/") {
		t.Fatalf("task %+v", task)
	}
	for _, f := range []string{"sluice_driver.py", "model.onnx", "sluice-workspace.yaml"} {
		if _, ok := fake.File("/sluice/code/r1/score/attempt-1/" + f); !ok {
			t.Fatalf("%s not uploaded", f)
		}
	}
	// A second attempt ships the binary no more.
	sc.Attempt = 2
	log.Reset()
	if err := step.Run(context.Background(), sc); err != nil || !strings.Contains(log.String(), "/sluice already there") {
		t.Fatalf("attempt 2: %v\n%s", err, log)
	}
	// Local images cannot be read by the cluster.
	sc.Inputs["images"] = "/data/images"
	if err := step.Run(context.Background(), sc); err == nil || !strings.Contains(err.Error(), "azblob:// data only") {
		t.Fatalf("local images: %v", err)
	}
}

// Canceling a scale-out step cancels the run, and the fake kills the driver with its tasks.
func TestScaleOutCancel(t *testing.T) {
	pids := t.TempDir()
	fake, target, sc, log := scaleOutFixture(t, "SO_PIDS="+pids)
	step, _ := target.Prepare(context.Background(), sc.Job)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			if ents, _ := os.ReadDir(pids); len(ents) == 2 {
				cancel()
				return
			}
		}
	}()
	if err := step.Run(ctx, sc); !errors.Is(err, context.Canceled) {
		t.Fatalf("%v\n%s", err, log)
	}
	if c := fake.Cancels(); len(c) != 1 {
		t.Fatalf("cancels %v", c)
	}
	ents, _ := os.ReadDir(pids)
	for _, e := range ents {
		pid, _ := strconv.Atoi(e.Name())
		for deadline := time.Now().Add(30 * time.Second); syscall.Kill(pid, 0) == nil; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("shard process %d still running after the cancel", pid)
			}
		}
	}
}
