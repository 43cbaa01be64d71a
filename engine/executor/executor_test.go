package executor_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-ml/sluice/engine/executor"
	"github.com/sluice-ml/sluice/engine/spec"
	"github.com/sluice-ml/sluice/store/state"
)

func open(t *testing.T) *state.Workspace {
	t.Helper()
	ws, err := state.Open(context.Background(), filepath.Join(t.TempDir(), "ws"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

// run submits and executes p, collecting events.
func run(t *testing.T, ws *state.Workspace, p *spec.Pipeline, opts executor.Options, set map[string]string) (*state.Run, []executor.Event, error) {
	t.Helper()
	ctx := context.Background()
	rec, lock, err := executor.Submit(ctx, ws, p, nil, set, false)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	var mu sync.Mutex
	var events []executor.Event
	opts.Observe = func(e executor.Event) {
		mu.Lock()
		events = append(events, e)
		mu.Unlock()
	}
	final, err := executor.Execute(ctx, ws, p, rec.ID, opts)
	return final, events, err
}

func step(r *state.Run, name string) state.Step {
	for _, s := range r.Steps {
		if s.Name == name {
			return s
		}
	}
	return state.Step{}
}

// The Go builder API runs through the same executor as pipeline files.
func TestBuilderPipelineRunsAndBoundsParallelism(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "in.txt"), []byte("3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := spec.New("built").
		Input("seed", spec.TypeURIFile, spec.File("in.txt")).
		Input("factor", spec.TypeInteger, spec.Int(7)).
		Job(spec.Command("double", `echo $(( $(cat ${{inputs.x}}) * 2 )) > ${{outputs.y}}; sleep 0.2`).
			In("x", spec.FromInput("seed")).Out("y", spec.TypeURIFile)).
		Job(spec.Command("times", `echo $(( $(cat ${{inputs.x}}) * ${{inputs.f}} )) > ${{outputs.y}}; sleep 0.2`).
			In("x", spec.FromInput("seed")).In("f", spec.FromInput("factor")).Out("y", spec.TypeURIFile)).
		Job(spec.Command("sum", `echo $(( $(cat ${{inputs.a}}) + $(cat ${{inputs.b}}) )) > ${{outputs.total}}/total`).
			In("a", spec.FromJob("double", "y")).In("b", spec.FromJob("times", "y")).Out("total", spec.TypeURIFolder)).
		Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	ws := open(t)
	final, events, err := run(t, ws, p, executor.Options{MaxParallel: 1}, map[string]string{"factor": "10"})
	if err != nil {
		t.Fatal(err)
	}
	out := step(final, "sum").Outputs[0]
	b, err := os.ReadFile(filepath.Join(out.Value, "total"))
	if err != nil || strings.TrimSpace(string(b)) != "36" {
		t.Fatalf("total = %q, %v", b, err)
	}
	// MaxParallel 1: double and times never overlap.
	d, x := step(final, "double"), step(final, "times")
	if d.Started.Before(x.Ended) && x.Started.Before(d.Ended) {
		t.Fatalf("steps overlapped with MaxParallel 1: %v-%v and %v-%v", d.Started, d.Ended, x.Started, x.Ended)
	}
	// Events: every step went Queued -> Running -> Finished, the run Running -> Finished.
	seen := map[string][]state.Status{}
	for _, e := range events {
		seen[e.Step] = append(seen[e.Step], e.Status)
	}
	for _, s := range []string{"double", "times", "sum"} {
		got := seen[s]
		if len(got) != 3 || got[0] != state.Queued || got[1] != state.Running || got[2] != state.Finished {
			t.Fatalf("events of %s: %v", s, got)
		}
	}
	if r := seen[""]; len(r) != 2 || r[1] != state.Finished {
		t.Fatalf("run events %v", r)
	}
	// Output versions are content-addressed: the path is the object of its hash.
	if !strings.Contains(out.Value, out.Hash) || out.Dataset != "built.sum.total" || out.Version != 1 {
		t.Fatalf("output %+v", out)
	}
}

func TestReuseNeedsTheDataStillPresent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p, err := spec.New("gone").
		Job(spec.Command("make", `echo hi > ${{outputs.o}}/f`).Out("o", spec.TypeURIFolder)).
		Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	ws := open(t)
	first, _, err := run(t, ws, p, executor.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	second, _, _ := run(t, ws, p, executor.Options{}, nil)
	if s := step(second, "make"); s.Status != state.Reused || s.ReusedFrom != first.ID {
		t.Fatalf("second run: %+v", s)
	}
	// Someone deleted the stored data: the step runs again rather than binding a missing path.
	if err := os.RemoveAll(step(first, "make").Outputs[0].Value); err != nil {
		t.Fatal(err)
	}
	third, _, err := run(t, ws, p, executor.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := step(third, "make"); s.Status != state.Finished {
		t.Fatalf("third run: %s", s.Status)
	}
	if _, err := os.Stat(filepath.Join(step(third, "make").Outputs[0].Value, "f")); err != nil {
		t.Fatal(err)
	}
}

func TestMissingFileOutputFailsTheStep(t *testing.T) {
	t.Parallel()
	p, err := spec.New("nofile").
		Job(spec.Command("lazy", `true`).Out("result", spec.TypeURIFile)).
		Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	final, _, err := run(t, open(t), p, executor.Options{}, nil)
	var re *executor.RunError
	if !errors.As(err, &re) || re.Status != "Failed" {
		t.Fatalf("err = %v", err)
	}
	if s := step(final, "lazy"); s.Status != state.Failed || !strings.Contains(s.Message, "output result (uri_file) was not written") {
		t.Fatalf("%s: %s", s.Status, s.Message)
	}
}

func TestCancelRequestStopsRun(t *testing.T) {
	t.Parallel()
	p, err := spec.New("cancel").
		Job(spec.Command("long", `sleep 30`)).
		Job(spec.Command("next", `true`).After("long")).
		Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ws := open(t)
	ctx := context.Background()
	rec, lock, err := executor.Submit(ctx, ws, p, nil, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	go func() {
		for {
			r, err := ws.GetRun(ctx, rec.ID)
			if err == nil && step(r, "long").Status == state.Running {
				ws.RequestCancel(ctx, rec.ID)
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	start := time.Now()
	final, err := executor.Execute(ctx, ws, p, rec.ID, executor.Options{PollInterval: 20 * time.Millisecond})
	if !errors.Is(err, executor.ErrCanceled) {
		t.Fatalf("err = %v", err)
	}
	if time.Since(start) > 20*time.Second {
		t.Fatal("cancel did not stop the step")
	}
	if final.Status != state.Canceled || step(final, "long").Status != state.Canceled || step(final, "next").Status != state.Canceled {
		t.Fatalf("%s %s %s", final.Status, step(final, "long").Status, step(final, "next").Status)
	}
}

func TestUnknownComputeFailsStepWithReason(t *testing.T) {
	t.Parallel()
	p, err := spec.New("remote").
		Job(spec.Command("x", `true`).Compute("adla")).
		Build(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	final, _, err := run(t, open(t), p, executor.Options{}, nil)
	if err == nil || !strings.Contains(step(final, "x").Message, "retired by Microsoft on 2024-02-29") {
		t.Fatalf("%v / %s", err, step(final, "x").Message)
	}
}
