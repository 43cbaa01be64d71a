package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ml/sluice/engine/compute"
	"github.com/sluice-ml/sluice/engine/executor"
	"github.com/sluice-ml/sluice/store/state"
)

// Off a terminal, the progress of a dataflow or parallel step is a plain line per report.
func TestDisplayProgressLinesWithoutTTY(t *testing.T) {
	var buf bytes.Buffer
	d := newDisplay(&buf, 1)
	if d.bar != nil {
		t.Fatal("a progress bar on a buffer")
	}
	at := time.Date(2026, 11, 26, 1, 2, 3, 4e6, time.UTC)
	d.observe(executor.Event{Time: at, RunID: "r1", Step: "classify", Status: state.Running, Attempt: 1})
	d.observe(executor.Event{Time: at.Add(2 * time.Second), RunID: "r1", Step: "classify", Status: state.Running, Attempt: 1,
		Progress: &compute.Progress{Done: 1200, Total: 20000, PerSec: 850.25, ETA: 22*time.Second + 400*time.Millisecond, Bottleneck: "infer-bound"}})
	d.observe(executor.Event{Time: at.Add(4 * time.Second), RunID: "r1", Step: "classify", Status: state.Running, Attempt: 2,
		Progress: &compute.Progress{Done: 7, PerSec: 3.5, ETA: 200 * time.Millisecond}})
	d.observe(executor.Event{Time: at.Add(5 * time.Second), RunID: "r1", Step: "classify", Status: state.Finished})
	d.close()
	want := strings.Join([]string{
		"01:02:03.004  classify         Running",
		"01:02:05.004  classify         progress  1200/20000 items  850.2 items/s  ETA 22s  infer-bound",
		"01:02:07.004  classify         progress  7 items  3.5 items/s",
		"01:02:08.004  classify         Finished",
	}, "\n") + "\n"
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}

// On a terminal the bar's description carries each running step's progress.
func TestDisplayBarDescribesProgress(t *testing.T) {
	var buf bytes.Buffer
	d := newDisplay(&buf, 2)
	d.bar = newBar(&buf, 2)
	d.observe(executor.Event{Time: time.Now(), Step: "a", Status: state.Running})
	d.observe(executor.Event{Time: time.Now(), Step: "b", Status: state.Running})
	d.observe(executor.Event{Time: time.Now(), Step: "b", Status: state.Running,
		Progress: &compute.Progress{Done: 5, Total: 10, PerSec: 2, Bottleneck: "write-bound"}})
	if got := d.bar.State().Description; got != "running: a, b 5/10 items  2.0 items/s  write-bound" {
		t.Errorf("description %q", got)
	}
	d.observe(executor.Event{Time: time.Now(), Step: "b", Status: state.Finished})
	if got := d.bar.State().Description; got != "running: a" {
		t.Errorf("description after b finished %q", got)
	}
	d.close()
}
