package state

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/sluice-ml/sluice/store/manifest"
)

func TestInterruptedRunsAreRecoveredOnlyWhenTheirOwnerIsGone(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "ws")
	ws, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	mk := func(id string) *RunLock {
		l, err := ws.LockRun(id)
		if err != nil {
			t.Fatal(err)
		}
		if err := ws.CreateRun(ctx, &Run{ID: id, Pipeline: "p", Parameters: map[string]string{}}, []string{"a", "b"}); err != nil {
			t.Fatal(err)
		}
		if err := ws.StartRun(ctx, id, 1); err != nil {
			t.Fatal(err)
		}
		if err := ws.UpdateStep(ctx, id, "a", StepUpdate{Status: Finished}); err != nil {
			t.Fatal(err)
		}
		if err := ws.UpdateStep(ctx, id, "b", StepUpdate{Status: Running}); err != nil {
			t.Fatal(err)
		}
		return l
	}
	alive := mk("alive")
	defer alive.Release()
	dead := mk("dead")
	if _, err := ws.LockRun("alive"); !errors.Is(err, ErrLocked) {
		t.Fatalf("second lock: %v", err)
	}
	dead.Release() // as if its process died

	ws2, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ws2.Close()
	r, err := ws2.GetRun(ctx, "dead")
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != Interrupted || r.Steps[0].Status != Finished || r.Steps[1].Status != Interrupted || r.Ended.IsZero() {
		t.Fatalf("dead run: %s %s %s", r.Status, r.Steps[0].Status, r.Steps[1].Status)
	}
	if r, _ := ws2.GetRun(ctx, "alive"); r.Status != Running {
		t.Fatalf("live run marked %s", r.Status)
	}
	// Prefixes resolve; unknown ids are ErrNotFound.
	if r, err := ws2.GetRun(ctx, "dea"); err != nil || r.ID != "dead" {
		t.Fatalf("prefix: %v", err)
	}
	if _, err := ws2.GetRun(ctx, "zzz"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown: %v", err)
	}
}

func TestCancelOfAnOrphanedRunIsImmediate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ws, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if err := ws.CreateRun(ctx, &Run{ID: "q", Pipeline: "p"}, []string{"a"}); err != nil {
		t.Fatal(err)
	}
	st, err := ws.RequestCancel(ctx, "q")
	if err != nil || st != Canceled {
		t.Fatalf("%s %v", st, err)
	}
	r, _ := ws.GetRun(ctx, "q")
	if r.Status != Canceled || r.Steps[0].Status != Canceled {
		t.Fatalf("%s %s", r.Status, r.Steps[0].Status)
	}
	// A locked (executing) run only gets the request.
	l, _ := ws.LockRun("r")
	defer l.Release()
	if err := ws.CreateRun(ctx, &Run{ID: "r", Pipeline: "p"}, nil); err != nil {
		t.Fatal(err)
	}
	if st, _ := ws.RequestCancel(ctx, "r"); st != Queued {
		t.Fatalf("locked run: %s", st)
	}
	if ok, _ := ws.CancelRequested(ctx, "r"); !ok {
		t.Fatal("request not recorded")
	}
}

func TestDatasetVersionsAreImmutableAndContentIdentified(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ws, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	m := &manifest.Manifest{Entries: []manifest.Entry{{Path: "f", Size: 1, SHA256: "aa"}}}
	for _, h := range []string{"h1", "h2"} {
		if err := ws.PutObject(ctx, &Object{Hash: h, Path: "/data/" + h, Manifest: m}); err != nil {
			t.Fatal(err)
		}
	}
	if err := ws.CreateRun(ctx, &Run{ID: "r1", Pipeline: "p"}, []string{"s"}); err != nil {
		t.Fatal(err)
	}
	if err := ws.RecordIO(ctx, "r1", "s", "in", IO{Name: "src", Value: "/x", Hash: "h0", Dataset: "raw", Version: 4}); err != nil {
		t.Fatal(err)
	}
	v1, _ := ws.RegisterVersion(ctx, "ds", "h1", Producer{RunID: "r1", Step: "s", Output: "o"})
	v2, _ := ws.RegisterVersion(ctx, "ds", "h2", Producer{})
	again, _ := ws.RegisterVersion(ctx, "ds", "h1", Producer{RunID: "other"})
	if v1 != 1 || v2 != 2 || again != 1 {
		t.Fatalf("versions %d %d %d", v1, v2, again)
	}
	v, err := ws.GetVersion(ctx, "ds", "1")
	if err != nil {
		t.Fatal(err)
	}
	if v.Producer.RunID != "r1" || len(v.Inputs) != 1 || v.Inputs[0].Dataset != "raw" || v.Object.Path != "/data/h1" {
		t.Fatalf("%+v", v)
	}
	if latest, _ := ws.GetVersion(ctx, "ds", "latest"); latest.Hash != "h2" {
		t.Fatalf("latest %s", latest.Hash)
	}
	if _, err := ws.GetVersion(ctx, "ds", "9"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing version: %v", err)
	}
	ds, _ := ws.ListDatasets(ctx)
	if len(ds) != 1 || ds[0].Versions != 2 || ds[0].Latest.Version != 2 {
		t.Fatalf("%+v", ds)
	}
	// An owned copy replaces an external record of the same content, not the reverse.
	if err := ws.PutObject(ctx, &Object{Hash: "h3", Path: "/outside", External: true, Manifest: m}); err != nil {
		t.Fatal(err)
	}
	ws.PutObject(ctx, &Object{Hash: "h3", Path: "/owned", Manifest: m})
	ws.PutObject(ctx, &Object{Hash: "h3", Path: "/outside2", External: true, Manifest: m})
	if o, _ := ws.GetObject(ctx, "h3"); o.Path != "/owned" || o.External {
		t.Fatalf("%+v", o)
	}
}
