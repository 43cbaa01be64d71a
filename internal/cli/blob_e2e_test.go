package cli_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-ml/sluice/internal/azuritetest"
	"github.com/sluice-ml/sluice/store/azureblob"
	"github.com/sluice-ml/sluice/store/datastore"
)

// sluiceEnv is sluice with extra environment variables.
func sluiceEnv(t *testing.T, dir string, env []string, args ...string) result {
	t.Helper()
	c := command(dir, args...)
	c.Env = append(c.Env, env...)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	err := c.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running sluice %v: %v", args, err)
	}
	if r.code != 0 {
		t.Fatalf("sluice %v: exit %d\nstdout: %s\nstderr: %s", args, r.code, r.stdout, r.stderr)
	}
	return r
}

func blobText(t *testing.T, s datastore.Datastore, name string) string {
	t.Helper()
	r, err := s.Open(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, _ := io.ReadAll(r)
	return string(b)
}

func stepLog(t *testing.T, dir, id, step string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, ".sluice", "runs", id, "logs", step+".log"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Local folder → transfer → Blob → a command step reading Blob (staged to a local folder) and
// writing Blob → transfer back to the workspace. A rerun reuses every step and copies nothing; a
// changed file is the only one copied again; Blob outputs are dataset versions; the storage key
// appears in no log, record or output.
func TestBlobPipelineOnAzurite(t *testing.T) {
	t.Parallel()
	az := azuritetest.Shared(t)
	dir := t.TempDir()
	writeFile(t, dir, "sluice-workspace.yaml", `datastores:
  test:
    type: azure_blob
    account: sluicetest
    endpoint: `+az.Endpoint+`
    auth: shared_key
    secret_env: SLUICE_TEST_BLOB_KEY
`)
	writeFile(t, dir, "pipeline.yaml", `name: blobflow
inputs:
  images: {type: uri_folder, path: ./data}
outputs:
  final: ${{parent.jobs.download.outputs.local}}
jobs:
  upload:
    type: transfer
    inputs: {source: ${{parent.inputs.images}}}
    outputs: {dest: {type: uri_folder, path: azblob://sluicetest/e2e/raw}}
    concurrency: 4
  process:
    type: command
    code: ./steps/process
    command: ./process.sh ${{inputs.raw}} ${{outputs.processed}}
    inputs: {raw: ${{parent.jobs.upload.outputs.dest}}}
    outputs: {processed: {type: uri_folder, path: azblob://sluicetest/e2e/processed}}
  download:
    type: transfer
    inputs: {source: ${{parent.jobs.process.outputs.processed}}}
    outputs: {local: {type: uri_folder}}
`)
	writeFile(t, dir, "steps/process/process.sh", "#!/bin/sh\necho process >> \"$MARKS\"\nset -e\ncd \"$1\"\n"+
		"find . -type f | while read f; do mkdir -p \"$2/$(dirname \"$f\")\"; tr a-z A-Z < \"$f\" > \"$2/$f\"; done\n")
	for i, name := range []string{"a.txt", "b.txt", "sub/c.txt", "sub/deep/d.txt"} {
		writeFile(t, dir, "data/"+name, strings.Repeat("line "+name+"\n", i+1))
	}
	env := []string{"SLUICE_TEST_BLOB_KEY=" + az.Key}

	r1 := sluiceEnv(t, dir, env, "run", "pipeline.yaml")
	id1 := runID(t, r1)
	rj := showRun(t, dir, id1)
	if rj.Status != "Finished" {
		t.Fatalf("run 1: %+v", rj)
	}
	if m := marks(t, dir); !slices.Equal(m, []string{"process"}) {
		t.Fatalf("marks %v", m)
	}
	store, err := azureblob.New(context.Background(), azureblob.Config{Account: azuritetest.Account, Container: "e2e",
		Endpoint: az.Endpoint, Auth: azureblob.AuthSharedKey, Secret: az.Key})
	if err != nil {
		t.Fatal(err)
	}
	if got := blobText(t, store, "raw/sub/deep/d.txt"); got != strings.Repeat("line sub/deep/d.txt\n", 4) {
		t.Fatalf("raw blob %q", got)
	}
	if got := blobText(t, store, "processed/sub/c.txt"); got != strings.Repeat("LINE SUB/C.TXT\n", 3) {
		t.Fatalf("processed blob %q", got)
	}
	var processedVersion string
	for _, s := range rj.Steps {
		for _, o := range s.Outputs {
			if s.Name == "process" {
				if o.Value != "azblob://sluicetest/e2e/processed" || o.Dataset != "blobflow.process.processed" || o.Version != 1 {
					t.Fatalf("process output %+v", o)
				}
				processedVersion = o.Hash
			}
			if s.Name == "download" {
				b, err := os.ReadFile(filepath.Join(o.Value, "sub", "deep", "d.txt"))
				if err != nil || string(b) != strings.Repeat("LINE SUB/DEEP/D.TXT\n", 4) {
					t.Fatalf("downloaded %q %v", b, err)
				}
			}
		}
	}
	if !strings.Contains(stepLog(t, dir, id1, "upload"), "4/4 files (4 copied, 0 already there)") {
		t.Fatalf("upload log:\n%s", stepLog(t, dir, id1, "upload"))
	}
	ds := mustRun(t, dir, "datasets", "show", "blobflow.process.processed:1")
	if !strings.Contains(ds.stdout, "azblob://sluicetest/e2e/processed") {
		t.Fatalf("datasets show:\n%s", ds.stdout)
	}

	// Rerun: every step reused, nothing started, nothing copied.
	r2 := sluiceEnv(t, dir, env, "run", "pipeline.yaml")
	rj2 := showRun(t, dir, runID(t, r2))
	for name, st := range statuses(rj2) {
		if st != "Reused" {
			t.Fatalf("rerun: step %s %s", name, st)
		}
	}
	if m := marks(t, dir); len(m) != 0 {
		t.Fatalf("rerun started %v", m)
	}

	// Without reuse, the transfer still copies nothing: every blob is already there, checksums equal.
	r3 := sluiceEnv(t, dir, env, "run", "--no-reuse", "pipeline.yaml")
	id3 := runID(t, r3)
	if l := stepLog(t, dir, id3, "upload"); !strings.Contains(l, "4/4 files (0 copied, 4 already there)") {
		t.Fatalf("no-reuse upload log:\n%s", l)
	}
	marks(t, dir)

	// One changed file: only it is copied; the steps downstream rerun; a new version is registered.
	writeFile(t, dir, "data/b.txt", "changed\n")
	r4 := sluiceEnv(t, dir, env, "run", "pipeline.yaml")
	id4 := runID(t, r4)
	if l := stepLog(t, dir, id4, "upload"); !strings.Contains(l, "4/4 files (1 copied, 3 already there)") {
		t.Fatalf("changed upload log:\n%s", l)
	}
	if m := marks(t, dir); !slices.Equal(m, []string{"process"}) {
		t.Fatalf("marks %v", m)
	}
	if got := blobText(t, store, "processed/b.txt"); got != "CHANGED\n" {
		t.Fatalf("processed b %q", got)
	}
	for _, s := range showRun(t, dir, id4).Steps {
		for _, o := range s.Outputs {
			if s.Name == "process" && (o.Version != 2 || o.Hash == processedVersion) {
				t.Fatalf("changed process output %+v", o)
			}
		}
	}

	// A blob changed behind Sluice's back is noticed: the step that wrote it is not reused.
	w, _ := store.Create(context.Background(), "processed/extra.txt", datastore.CreateOptions{})
	w.Write([]byte("x"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r5 := sluiceEnv(t, dir, env, "run", "pipeline.yaml")
	if st := statuses(showRun(t, dir, runID(t, r5))); st["process"] != "Finished" || st["upload"] != "Reused" {
		t.Fatalf("after tampering: %v", st)
	}
	marks(t, dir)

	// The key appears nowhere: not in outputs, logs, run records or the database.
	out := r1.stdout + r1.stderr + r2.stdout + r2.stderr + r3.stderr + r4.stderr + r5.stderr
	if strings.Contains(out, az.Key) {
		t.Fatal("key in command output")
	}
	grepSecret(t, filepath.Join(dir, ".sluice"), az.Key)
}

// grepSecret fails when any file under root contains secret.
func grepSecret(t *testing.T, root, secret string) {
	t.Helper()
	n := 0
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		n++
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s contains the secret", p)
		}
		return nil
	})
	if n == 0 {
		t.Fatalf("no files under %s", root)
	}
}
