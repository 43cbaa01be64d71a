package cli

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/sluice-ml/sluice/engine/compute"
	"github.com/sluice-ml/sluice/engine/executor"
	"github.com/sluice-ml/sluice/store/state"
)

// display shows a run's progress: a live bar on a terminal, plain timestamped lines otherwise.
type display struct {
	mu       sync.Mutex
	w        io.Writer
	bar      *progressbar.ProgressBar
	running  map[string]bool
	progress map[string]compute.Progress // of running steps that report it (dataflow, parallel)
	closed   bool
}

func newDisplay(w io.Writer, steps int) *display {
	d := &display{w: w, running: map[string]bool{}, progress: map[string]compute.Progress{}}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		d.bar = newBar(w, steps)
	}
	return d
}

// newBar is the terminal's progress bar: steps done of steps, the running ones (with the
// progress of those that report it) as its description.
func newBar(w io.Writer, steps int) *progressbar.ProgressBar {
	return progressbar.NewOptions(steps,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("starting"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetElapsedTime(true),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionSetWidth(24),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSpinnerType(14),
	)
}

func (d *display) observe(ev executor.Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	line := formatEvent(ev)
	if d.bar == nil {
		if line != "" {
			fmt.Fprintln(d.w, line)
		}
		return
	}
	if ev.Step != "" {
		switch {
		case ev.Progress != nil:
			d.progress[ev.Step] = *ev.Progress
		case ev.Status == state.Running:
			d.running[ev.Step] = true
		case ev.Status.Terminal():
			if d.running[ev.Step] || ev.Status == state.Reused || ev.Status == state.Finished {
				_ = d.bar.Add(1)
			}
			delete(d.running, ev.Step)
			delete(d.progress, ev.Step)
		}
	}
	// Notable lines go above the bar.
	if ev.Step != "" && ev.Progress == nil && (ev.Status.Terminal() || ev.Message != "") {
		_ = d.bar.Clear()
		fmt.Fprintln(d.w, line)
	}
	names := make([]string, 0, len(d.running))
	for n := range d.running {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, n := range names {
		if p, ok := d.progress[n]; ok {
			names[i] = n + " " + p.String()
		}
	}
	desc := "running: " + strings.Join(names, ", ")
	if len(names) == 0 {
		desc = "waiting"
	}
	d.bar.Describe(desc)
}

func (d *display) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	d.closed = true
	if d.bar != nil {
		_ = d.bar.Finish()
		fmt.Fprintln(d.w)
	}
}

func formatEvent(ev executor.Event) string {
	ts := ev.Time.Format("15:04:05.000")
	if ev.Step == "" {
		if ev.Message != "" {
			return fmt.Sprintf("%s  run %s  %s: %s", ts, ev.RunID, ev.Status, firstLine(ev.Message))
		}
		return fmt.Sprintf("%s  run %s  %s", ts, ev.RunID, ev.Status)
	}
	if ev.Progress != nil {
		return fmt.Sprintf("%s  %-16s progress  %s", ts, ev.Step, ev.Progress)
	}
	s := fmt.Sprintf("%s  %-16s %s", ts, ev.Step, ev.Status)
	if ev.Attempt > 1 && ev.Status == state.Running && ev.Message == "" {
		s += fmt.Sprintf(" (attempt %d)", ev.Attempt)
	}
	if ev.Message != "" {
		s += "  " + firstLine(ev.Message)
	}
	return s
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}
