package cli_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-ml/sluice/internal/azuritetest"
	"github.com/sluice-ml/sluice/scenarios/batchscoring"
)

// Local folder → transfer → Blob → score reading Blob, Parquet written to Blob → transfer back,
// on Azurite. A rerun reuses every step; without reuse, nothing is copied to Blob again.
func TestBlobScoringOnAzurite(t *testing.T) {
	t.Parallel()
	az := azuritetest.Shared(t)
	dir := t.TempDir()
	images := imageSet(t, dir, 30)
	os.WriteFile(filepath.Join(images, "broken.jpg"), []byte("not a jpeg"), 0o644)
	writeFile(t, dir, "sluice-workspace.yaml", `datastores:
  test: {type: azure_blob, account: sluicetest, endpoint: `+az.Endpoint+`, auth: shared_key, secret_env: SLUICE_TEST_BLOB_KEY}
`)
	writeFile(t, dir, "pipeline.yaml", `name: blobscore
inputs:
  images: {type: uri_folder, path: ./images}
outputs:
  predictions: ${{parent.jobs.download.outputs.local}}
jobs:
  upload:
    type: transfer
    inputs: {source: ${{parent.inputs.images}}}
    outputs: {dest: {type: uri_folder, path: azblob://sluicetest/scoring/images}}
  score:
    type: score
    inputs: {images: ${{parent.jobs.upload.outputs.dest}}}
    outputs: {predictions: {type: uri_folder, path: azblob://sluicetest/scoring/predictions}}
    model: `+repoFile(t, "sample/classifier.onnx")+`
    labels: `+repoFile(t, "sample/labels.txt")+`
    preprocess: `+samplePrep+`
    mini_batch_size: 8
  download:
    type: transfer
    inputs: {source: ${{parent.jobs.score.outputs.predictions}}}
    outputs: {local: {type: uri_folder}}
`)
	env := []string{"SLUICE_TEST_BLOB_KEY=" + az.Key}
	r1 := sluiceEnv(t, dir, env, "run", "pipeline.yaml")
	id1 := runID(t, r1)
	rj := showRun(t, dir, id1)
	if rj.Status != "Finished" {
		t.Fatalf("run 1: %+v", rj)
	}
	if l := stepLog(t, dir, id1, "score"); !strings.Contains(l, "scored 31 images (1 failed)") || !strings.Contains(l, "published by this run, 0 committed by other runs") {
		t.Fatalf("score log:\n%s", l)
	}
	var local string
	for _, s := range rj.Steps {
		for _, o := range s.Outputs {
			if s.Name == "download" {
				local = o.Value
			}
		}
	}
	ev, err := batchscoring.Evaluate(context.Background(), local)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Rows != 31 || ev.Errors != 1 || ev.Failed[0].Path != "broken.jpg" || len(ev.Duplicates) != 0 {
		t.Fatalf("predictions back from Blob: %v %+v", ev, ev.Failed)
	}

	r2 := sluiceEnv(t, dir, env, "run", "pipeline.yaml")
	for name, st := range statuses(showRun(t, dir, runID(t, r2))) {
		if st != "Reused" {
			t.Fatalf("rerun: step %s %s", name, st)
		}
	}
	r3 := sluiceEnv(t, dir, env, "run", "--no-reuse", "pipeline.yaml")
	id3 := runID(t, r3)
	if l := stepLog(t, dir, id3, "upload"); !strings.Contains(l, "(0 copied, 31 already there)") {
		t.Fatalf("no-reuse upload log:\n%s", l)
	}
	// The output's commit records say every partition is there, made with the same model and
	// settings: nothing is scored or uploaded again.
	if l := stepLog(t, dir, id3, "score"); !strings.Contains(l, ": 0 images scored and 0 partitions published by this run, 3 committed by other runs") {
		t.Fatalf("no-reuse score log:\n%s", l)
	}
}
