package cli_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sluice-ml/sluice/scenarios/batchscoring"
)

const samplePrep = "size=64,mean=0.5:0.5:0.5,std=0.25:0.25:0.25"

func repoFile(t *testing.T, rel string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", rel))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// imageSet copies the sample's images into n files under dir/images/<class>/.
func imageSet(t *testing.T, dir string, n int) string {
	t.Helper()
	var srcs []string
	filepath.WalkDir(repoFile(t, "sample/images"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			srcs = append(srcs, p)
		}
		return nil
	})
	root := filepath.Join(dir, "images")
	for i := 0; i < n; i++ {
		src := srcs[i%len(srcs)]
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		d := filepath.Join(root, filepath.Base(filepath.Dir(src)))
		os.MkdirAll(d, 0o755)
		if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("%05d.jpg", i)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func scoreArgs(t *testing.T, input, output string, extra ...string) []string {
	return append([]string{"score", "--model", repoFile(t, "sample/classifier.onnx"), "--labels", repoFile(t, "sample/labels.txt"),
		"--input", input, "--output", output, "--preprocess", samplePrep, "--threads", "1", "--decode-workers", "1"}, extra...)
}

func TestScoreExitCodes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	images := imageSet(t, dir, 40)
	os.WriteFile(filepath.Join(images, "bad1.jpg"), []byte("not an image"), 0o644)
	os.WriteFile(filepath.Join(images, "bad2.jpg"), nil, 0o644)

	r := mustRun(t, dir, scoreArgs(t, images, filepath.Join(dir, "ok"), "--eval")...)
	if !strings.Contains(r.stdout, "scored 42 images (2 failed)") || !strings.Contains(r.stdout, "accuracy: ") {
		t.Fatalf("stdout: %s", r.stdout)
	}
	r = sluice(t, dir, scoreArgs(t, images, filepath.Join(dir, "strict"), "--error-threshold", "1")...)
	if r.code != 1 || !strings.Contains(r.stderr, "error_threshold") {
		t.Fatalf("threshold: exit %d, stderr %s", r.code, r.stderr)
	}
	for name, args := range map[string][]string{
		"missing model":  {"score", "--model", filepath.Join(dir, "nope.onnx"), "--input", images, "--output", filepath.Join(dir, "x")},
		"missing input":  scoreArgs(t, filepath.Join(dir, "nowhere"), filepath.Join(dir, "y")),
		"no output flag": {"score", "--model", repoFile(t, "sample/classifier.onnx"), "--input", images},
		"bad preprocess": scoreArgs(t, images, filepath.Join(dir, "z"), "--preprocess", "crop=banana"),
	} {
		r := sluice(t, dir, args...)
		if r.code != 2 || r.stderr == "" {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 with a message", name, r.code, r.stderr)
		}
	}
}

// TestScoreKill9ThenRerunScoresEachImageOnce SIGKILLs a 2,000-image run once some partitions are
// committed, reruns it, and compares with an uninterrupted run: every image exactly once, with
// the same label.
func TestScoreKill9ThenRerunScoresEachImageOnce(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	images := imageSet(t, dir, 2000)
	out := filepath.Join(dir, "killed")
	c := command(dir, scoreArgs(t, images, out, "--mini-batch", "50")...)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a committed partition", func() bool {
		m, _ := filepath.Glob(filepath.Join(out, "part-*.parquet"))
		return len(m) >= 2
	})
	c.Process.Signal(syscall.SIGKILL)
	c.Wait()
	committed, _ := filepath.Glob(filepath.Join(out, "part-*.parquet"))
	if len(committed) >= 40 {
		t.Fatalf("the run finished before the kill (%d partitions)", len(committed))
	}
	r := mustRun(t, dir, scoreArgs(t, images, out, "--mini-batch", "50")...)
	if !strings.Contains(r.stdout, "scored 2000 images") || strings.Contains(r.stdout, " 0 already committed") {
		t.Fatalf("rerun: %s", r.stdout)
	}
	mustRun(t, dir, scoreArgs(t, images, filepath.Join(dir, "clean"), "--mini-batch", "50")...)

	ctx := context.Background()
	got, err := batchscoring.Evaluate(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := batchscoring.Evaluate(ctx, filepath.Join(dir, "clean"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Rows != 2000 || len(got.Labels) != 2000 || len(got.Duplicates) != 0 {
		t.Fatalf("after kill and rerun: %v (%d distinct paths, duplicates %v)", got, len(got.Labels), got.Duplicates)
	}
	for p, l := range want.Labels {
		if got.Labels[p] != l {
			t.Fatalf("%s: label %q after the kill, %q uninterrupted", p, got.Labels[p], l)
		}
	}
	t.Logf("killed after %d of 40 partitions; %v", len(committed), got)
}

// TestScoreStepKill9ThenRerunResumes: a `score` job of a pipeline killed with its run resumes
// in the next `sluice run` from the partitions it had committed.
func TestScoreStepKill9ThenRerunResumes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	imageSet(t, dir, 2000)
	writeFile(t, dir, "p.yaml", `name: bigscore
inputs:
  images: {type: uri_folder, path: ./images}
jobs:
  score:
    type: score
    inputs: {images: ${{parent.inputs.images}}}
    outputs: {predictions: {type: uri_folder}}
    model: `+repoFile(t, "sample/classifier.onnx")+`
    labels: `+repoFile(t, "sample/labels.txt")+`
    preprocess: `+samplePrep+`
    mini_batch_size: 50
`)
	c := command(dir, "run", "p.yaml")
	c.Env = append(c.Env, "GOMAXPROCS=1")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	var committed []string
	waitFor(t, "committed partitions in the step's state folder", func() bool {
		committed, _ = filepath.Glob(filepath.Join(dir, ".sluice", "state", "*", "out", "part-*.parquet"))
		return len(committed) >= 2
	})
	c.Process.Signal(syscall.SIGKILL)
	c.Wait()
	r := mustRun(t, dir, "run", "p.yaml")
	id := runID(t, r)
	log := stepLog(t, dir, id, "score")
	if !strings.Contains(log, "scored 2000 images") || strings.Contains(log, "(0 already committed)") {
		t.Fatalf("rerun log:\n%s", log)
	}
	var out string
	for _, s := range showRun(t, dir, id).Steps {
		for _, o := range s.Outputs {
			out = o.Value
		}
	}
	ev, err := batchscoring.Evaluate(context.Background(), out)
	if err != nil || ev.Rows != 2000 || len(ev.Labels) != 2000 || len(ev.Duplicates) != 0 {
		t.Fatalf("output after kill and rerun: %v, err %v", ev, err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".sluice", "state", "*")); len(left) != 0 {
		t.Fatalf("state folders left after success: %v", left)
	}
}

// TestDataflowJobWithImageOperators: the image operators in a `dataflow` job's chain give the
// same labels as `sluice score`.
func TestDataflowJobWithImageOperators(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	images := imageSet(t, dir, 40)
	writeFile(t, dir, "p.yaml", `name: chain
inputs:
  images: {type: uri_folder, path: ./images}
  model:  {type: uri_file, path: `+repoFile(t, "sample/classifier.onnx")+`}
  labels: {type: uri_file, path: `+repoFile(t, "sample/labels.txt")+`}
jobs:
  classify:
    type: dataflow
    inputs: {images: ${{parent.inputs.images}}, weights: ${{parent.inputs.model}}, classes: ${{parent.inputs.labels}}}
    input_data: images
    outputs: {table: {type: uri_folder}}
    mini_batch_size: 16
    output_format: parquet
    operators:
      - {op: read}
      - {op: decode, preprocess: "`+samplePrep+`"}
      - {op: infer, model: weights, batch: 4}
      - {op: topk, labels: classes, k: 3}
`)
	r := mustRun(t, dir, "run", "p.yaml")
	var out string
	for _, s := range showRun(t, dir, runID(t, r)).Steps {
		for _, o := range s.Outputs {
			out = o.Value
		}
	}
	got, err := batchscoring.Evaluate(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	mustRun(t, dir, scoreArgs(t, images, filepath.Join(dir, "scored"))...)
	want, err := batchscoring.Evaluate(context.Background(), filepath.Join(dir, "scored"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Rows != 40 || len(got.Labels) != 40 {
		t.Fatalf("dataflow job output: %v", got)
	}
	for p, l := range want.Labels {
		if got.Labels[p] != l {
			t.Fatalf("%s: %q from the dataflow job, %q from sluice score", p, got.Labels[p], l)
		}
	}
	// An operator option that does not fit is an error naming the operator and the key.
	writeFile(t, dir, "bad.yaml", strings.Replace(mustRead(t, filepath.Join(dir, "p.yaml")), "batch: 4", "batch: four", 1))
	if r := sluice(t, dir, "run", "bad.yaml"); r.code == 0 || !strings.Contains(r.stderr, "batch") {
		t.Fatalf("bad option: exit %d, stderr %s", r.code, r.stderr)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
