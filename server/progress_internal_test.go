package server

import (
	"bufio"
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ml/sluice/engine/compute"
	"github.com/sluice-ml/sluice/engine/executor"
	"github.com/sluice-ml/sluice/store/state"
)

// The server keeps a step's latest progress while it runs, and only then: a new attempt, the
// step's end, or the run's end forget it, and a report after the end is not kept.
func TestProgressIsKeptWhileTheStepRunsAndDroppedAfter(t *testing.T) {
	ws, err := state.Open(context.Background(), filepath.Join(t.TempDir(), ".sluice"))
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	s, err := New(Config{Workspace: ws, Root: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	m := s.m
	now := time.Now()
	ev := func(run, step string, st state.Status, p *compute.Progress) {
		m.observe(executor.Event{Time: now, RunID: run, Step: step, Status: st, Progress: p})
	}
	scrape := func() string {
		var b bytes.Buffer
		if _, err := s.reg.WriteTo(&b); err != nil {
			t.Fatal(err)
		}
		var keep []string
		sc := bufio.NewScanner(&b)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "sluice_step_items_") {
				keep = append(keep, sc.Text())
			}
		}
		return strings.Join(keep, "\n")
	}
	p := func(done int64, rate float64) *compute.Progress {
		return &compute.Progress{Done: done, Total: 10, PerSec: rate, ETA: time.Second, Bottleneck: "write-bound"}
	}

	ev("r1", "a", state.Running, nil)
	ev("r1", "a", state.Running, p(2, 4))
	ev("r1", "a", state.Running, p(3, 4.5)) // the latest counts
	ev("r1", "b", state.Running, nil)
	ev("r1", "b", state.Running, p(1, 0.5))
	ev("r2", "a", state.Running, nil)
	ev("r2", "a", state.Running, p(7, 1))
	if got := m.Progress("r1"); len(got) != 2 || got["a"].Done != 3 || got["a"].PerSec != 4.5 || got["b"].Done != 1 {
		t.Fatalf("progress of r1: %+v", got)
	}
	want := `sluice_step_items_per_second{run="r1",step="a"} 4.5
sluice_step_items_per_second{run="r1",step="b"} 0.5
sluice_step_items_per_second{run="r2",step="a"} 1
sluice_step_items_done{run="r1",step="a"} 3
sluice_step_items_done{run="r1",step="b"} 1
sluice_step_items_done{run="r2",step="a"} 7`
	if got := scrape(); got != want {
		t.Fatalf("metrics:\n%s\nwant:\n%s", got, want)
	}

	ev("r1", "b", state.Running, nil) // attempt 2 starts from nothing
	ev("r1", "a", state.Finished, nil)
	ev("r1", "a", state.Running, p(9, 9)) // late: not kept
	if got := m.Progress("r1"); len(got) != 0 {
		t.Fatalf("progress of r1 after a's end and b's retry: %+v", got)
	}
	ev("r1", "b", state.Running, p(2, 3))
	if got := m.Progress("r1"); got["b"].Done != 2 {
		t.Fatalf("progress of b's second attempt: %+v", got)
	}
	ev("r1", "", state.Canceled, nil) // the run's end forgets its steps
	ev("r2", "a", state.Failed, nil)
	if got := scrape(); got != "" {
		t.Fatalf("metrics after every step ended:\n%s", got)
	}
	if m.Progress("r1") != nil || m.Progress("r2") != nil {
		t.Fatal("progress left after the runs ended")
	}
}
