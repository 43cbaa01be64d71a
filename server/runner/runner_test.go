package runner_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sluice-ml/sluice/server/catalog"
	"github.com/sluice-ml/sluice/server/runner"
	"github.com/sluice-ml/sluice/store/state"
)

const yaml = `name: gated
inputs:
  gate: {type: string}
jobs:
  wait:
    type: command
    command: while [ ! -e ${{inputs.gate}} ]; do sleep 0.05; done
    inputs: {gate: ${{parent.inputs.gate}}}
`

func wait(t *testing.T, ws *state.Workspace, id string, want state.Status) {
	t.Helper()
	for {
		r, err := ws.GetRun(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status == want {
			return
		}
		if r.Status.Terminal() {
			t.Fatalf("run %s ended %s (%s), want %s", id, r.Status, r.Message, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Close waits for executing runs until its context ends, then cancels them and puts them back in
// the queue; the next runner executes them, and the ones still queued, to the end.
func TestCloseRequeuesExecutingRunsAndStartResumesTheQueue(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	ws, err := state.Open(context.Background(), filepath.Join(root, ".sluice"))
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	var r *runner.Runner
	cat, err := catalog.New(catalog.Config{Workspace: ws, Root: root, Owner: "server", Notify: func(id string) { _ = r.Notify(id) }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cat.Publish(context.Background(), &state.PipelineVersion{Name: "gated", YAML: yaml}, true); err != nil {
		t.Fatal(err)
	}
	r, err = runner.New(runner.Config{Workspace: ws, Owner: "server", Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	gate := filepath.Join(root, "gate")
	var ids []string
	for i := 0; i < 3; i++ {
		rec, _, err := cat.Submit(context.Background(), catalog.Submission{Pipeline: "gated", Parameters: map[string]string{"gate": gate}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, rec.ID)
	}
	wait(t, ws, ids[0], state.Running)
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // no grace at all
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if err := r.Notify("x"); err == nil {
		t.Fatal("Notify after Close accepted")
	}
	for _, id := range ids {
		wait(t, ws, id, state.Queued)
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err = runner.New(runner.Config{Workspace: ws, Owner: "server", Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer r.Close(context.Background())
	for _, id := range ids {
		wait(t, ws, id, state.Finished)
	}
}
