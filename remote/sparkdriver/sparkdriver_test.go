package sparkdriver_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-ml/sluice/engine/compute"
	"github.com/sluice-ml/sluice/engine/spec"
	"github.com/sluice-ml/sluice/internal/testenv"
	"github.com/sluice-ml/sluice/remote/sparkdriver"
	"github.com/sluice-ml/sluice/remote/sparkdriver/fakespark"
)

func scoreContext(inputs map[string]string) *compute.StepContext {
	job := &spec.Job{Name: "score", Type: "score", InputOrder: []string{"images"}, OutputOrder: []string{"preds"}}
	in := map[string]string{"images": "azblob://acct/data/images"}
	for k, v := range inputs {
		in[k] = v
	}
	return &compute.StepContext{Job: job, Inputs: in, Outputs: map[string]string{"preds": "azblob://acct/data/preds"}}
}

func TestScoreJob(t *testing.T) {
	sc := scoreContext(map[string]string{"model": "/models/net.onnx", "labels": "azblob://acct/data/labels.txt",
		"shards": "3", "mini_batch_size": "16", "format": "csv"})
	j, err := sparkdriver.ScoreJob(sc, "/bin/sluice", []byte("datastores: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"score", "--input", "azblob://acct/data/images", "--output", "azblob://acct/data/preds",
		"--model", "@file:model.onnx", "--labels", "azblob://acct/data/labels.txt", "--format", "csv", "--mini-batch", "16",
		"--workspace-file", "@file:sluice-workspace.yaml"}
	if j.Shards != 3 || !slices.Equal(j.Args, want) {
		t.Fatalf("job %d shards, args %q", j.Shards, j.Args)
	}
	if len(j.Files) != 2 || j.Files[0].Name != "model.onnx" || j.Files[0].Path != "/models/net.onnx" || j.Files[1].Name != sparkdriver.WorkspaceName {
		t.Fatalf("files %+v", j.Files)
	}
	if d := j.DriverArgs("/dbfs/bin/sluice", "/dbfs/code"); !slices.Equal(d[:7], []string{"--shards", "3", "--binary", "/dbfs/bin/sluice", "--files-dir", "/dbfs/code", "--"}) {
		t.Fatalf("driver args %q", d)
	}

	local := scoreContext(nil)
	local.Inputs["images"] = "/data/images"
	if _, err := sparkdriver.ScoreJob(local, "/bin/sluice", nil); !errors.Is(err, sparkdriver.ErrLocalData) {
		t.Fatalf("local images: %v", err)
	}
	for _, bad := range []string{"0", "x", "10001"} {
		if _, err := sparkdriver.ScoreJob(scoreContext(map[string]string{"shards": bad}), "/bin/sluice", nil); !errors.Is(err, sparkdriver.ErrJob) {
			t.Fatalf("shards %q: %v", bad, err)
		}
	}
}

// The driver, run by the stand-in Spark: every shard runs the shipped binary (here a shell
// script) with @file: arguments resolved and --shard i/N added; a shard that fails fails the job
// with the end of its stderr.
func TestDriver(t *testing.T) {
	c := &fakespark.Cluster{}
	if c.Available() != nil {
		testenv.Missing(t, "python3")
	}
	dir := t.TempDir()
	files := filepath.Join(dir, "files")
	os.MkdirAll(files, 0o755)
	script := filepath.Join(dir, sparkdriver.ScriptName)
	os.WriteFile(script, sparkdriver.Script, 0o644)
	// Not executable as shipped: the driver copies it and sets the mode.
	os.WriteFile(filepath.Join(files, "sluice"), []byte(`#!/bin/sh
echo "args: $*"
case "$*" in *"--shard 1/3"*) if [ -n "$FAIL" ]; then echo "shard one broke" >&2; exit 3; fi;; esac
`), 0o644)
	os.WriteFile(filepath.Join(files, "model.onnx"), []byte("m"), 0o644)
	args := sparkdriver.Job{Shards: 3, Args: []string{"score", "--model", "@file:model.onnx"}}.DriverArgs("sluice", "")
	res := c.Exec(context.Background(), fakespark.Run{Script: script, Args: args, FilesDir: files})
	if res.Err != nil {
		t.Fatalf("driver: %v\n%s\n%s", res.Err, res.Stdout, res.Stderr)
	}
	for i := range 3 {
		want := "shard " + string(rune('0'+i)) + "/3: args: score --model " + filepath.Join(files, "model.onnx") + " --shard " + string(rune('0'+i)) + "/3 --state-dir "
		if !strings.Contains(res.Stdout, want) {
			t.Fatalf("stdout lacks %q:\n%s", want, res.Stdout)
		}
	}
	res = c.Exec(context.Background(), fakespark.Run{Script: script, Args: args, FilesDir: files, Env: []string{"FAIL=1"}})
	if res.Err == nil || !strings.Contains(res.LastError(), "sluice shard 1/3 exited with status 3: shard one broke") {
		t.Fatalf("failing shard: %v\n%s", res.Err, res.Stderr)
	}
	// Bad driver arguments are an error, not a crash.
	res = c.Exec(context.Background(), fakespark.Run{Script: script, Args: []string{"--shards", "2"}})
	if res.Err == nil || !strings.Contains(res.Stderr, "need --shards N >= 1, --binary") {
		t.Fatalf("bad args: %v\n%s", res.Err, res.Stderr)
	}
}
