package executor_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-ml/sluice/engine/executor"
	"github.com/sluice-ml/sluice/engine/spec"
	"github.com/sluice-ml/sluice/store/datastore"
	"github.com/sluice-ml/sluice/store/state"
)

// blobInFolders resolves azblob://ACCOUNT/CONTAINER to folders under root: Blob without a server
// (the same tests run against Azurite in internal/cli).
func blobInFolders(root string) *datastore.Resolver {
	r := &datastore.Resolver{}
	r.SetBlobOpener(func(_ context.Context, u datastore.URI) (datastore.Datastore, error) {
		return datastore.NewLocal(filepath.Join(root, u.Account, u.Container)), nil
	})
	return r
}

// URI inputs are versioned and staged for command steps; outputs with a path are uploaded,
// versioned and reused only while the remote data is unchanged; transfers copy both ways.
func TestURIInputsAndOutputs(t *testing.T) {
	t.Parallel()
	blob := t.TempDir()
	in := filepath.Join(blob, "acct1", "cont", "in")
	os.MkdirAll(filepath.Join(in, "sub"), 0o755)
	os.WriteFile(filepath.Join(in, "a.txt"), []byte("hello\n"), 0o644)
	os.WriteFile(filepath.Join(in, "sub", "b.txt"), []byte("world\n"), 0o644)
	dir := t.TempDir()
	src := `name: uris
inputs:
  data: {type: uri_folder, path: azblob://acct1/cont/in}
jobs:
  upper:
    type: command
    command: cd ${{inputs.data}} && for f in a.txt sub/b.txt; do mkdir -p ${{outputs.out}}/$(dirname $f); tr a-z A-Z < $f > ${{outputs.out}}/$f; done
    inputs: {data: ${{parent.inputs.data}}}
    outputs: {out: {type: uri_folder, path: azblob://acct1/cont/upper}}
  back:
    type: transfer
    inputs: {source: ${{parent.jobs.upper.outputs.out}}}
    outputs: {local: {type: uri_folder}}
`
	os.WriteFile(filepath.Join(dir, "p.yaml"), []byte(src), 0o644)
	p, err := spec.ParseFile(filepath.Join(dir, "p.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ws := open(t)
	opts := executor.Options{Data: blobInFolders(blob)}
	r1, _, err := run(t, ws, p, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(blob, "acct1", "cont", "upper", "sub", "b.txt")); string(b) != "WORLD\n" {
		t.Fatalf("uploaded output %q", b)
	}
	up := step(r1, "upper")
	if len(up.Outputs) != 1 || up.Outputs[0].Value != "azblob://acct1/cont/upper" || up.Outputs[0].Version != 1 {
		t.Fatalf("upper outputs %+v", up.Outputs)
	}
	back := step(r1, "back")
	if b, _ := os.ReadFile(filepath.Join(back.Outputs[0].Value, "a.txt")); string(b) != "HELLO\n" {
		t.Fatalf("transferred back %q", b)
	}
	if in := step(r1, "upper").Inputs; len(in) != 1 || in[0].Dataset != "uris.inputs.data" || in[0].Hash == "" {
		t.Fatalf("input record %+v", in)
	}

	// Unchanged: everything reused.
	r2, _, err := run(t, ws, p, opts, nil)
	if err != nil || step(r2, "upper").Status != state.Reused || step(r2, "back").Status != state.Reused {
		t.Fatalf("rerun: %v %v %v", err, step(r2, "upper").Status, step(r2, "back").Status)
	}
	// The output changed behind our back: the step that wrote it runs again.
	os.WriteFile(filepath.Join(blob, "acct1", "cont", "upper", "junk"), []byte("x"), 0o644)
	r3, _, err := run(t, ws, p, opts, nil)
	if err != nil || step(r3, "upper").Status != state.Finished {
		t.Fatalf("after tampering: %v %v", err, step(r3, "upper").Status)
	}
	// The input changed: a new input version, the step reruns.
	os.WriteFile(filepath.Join(in, "a.txt"), []byte("changed\n"), 0o644)
	r4, _, err := run(t, ws, p, opts, nil)
	if err != nil || step(r4, "upper").Status != state.Finished || step(r4, "upper").Inputs[0].Version != 2 {
		t.Fatalf("after input change: %v %+v", err, step(r4, "upper"))
	}
	// A missing input fails the run, naming the URI.
	r5, _, err := run(t, ws, p, opts, map[string]string{"data": "azblob://acct1/cont/nothing-here"})
	if err == nil || !strings.Contains(r5.Message, "azblob://acct1/cont/nothing-here") {
		t.Fatalf("missing input: %v %q", err, r5.Message)
	}
}
