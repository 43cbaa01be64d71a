package schedule_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/sluice-ml/sluice/server/catalog"
	"github.com/sluice-ml/sluice/server/schedule"
	"github.com/sluice-ml/sluice/store/state"
)

const fileYAML = `name: ingest
inputs:
  file: {type: uri_file}
  tag: {type: string, default: x}
jobs:
  copy:
    type: command
    command: cp ${{inputs.f}} ${{outputs.o}}/
    inputs: {f: ${{parent.inputs.file}}}
    outputs: {o: {type: uri_folder}}
`

// world is a workspace with a published pipeline, and a clock tests move.
type world struct {
	t    *testing.T
	root string
	ws   *state.Workspace
	mu   sync.Mutex
	now  time.Time
}

func newWorld(t *testing.T) *world {
	w := &world{t: t, root: t.TempDir(), now: time.Date(2026, 1, 5, 10, 5, 0, 0, time.UTC)}
	w.open()
	cat := w.catalog()
	if _, err := cat.Publish(context.Background(), &state.PipelineVersion{Name: "ingest", Version: "1", YAML: fileYAML}, true); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *world) open() {
	ws, err := state.Open(context.Background(), filepath.Join(w.root, ".sluice"))
	if err != nil {
		w.t.Fatal(err)
	}
	w.ws = ws
	w.t.Cleanup(func() { ws.Close() })
}

func (w *world) catalog() *catalog.Catalog {
	c, err := catalog.New(catalog.Config{Workspace: w.ws, Root: w.root, Owner: "server"})
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

func (w *world) scheduler() *schedule.Scheduler {
	s, err := schedule.New(schedule.Config{Workspace: w.ws, Catalog: w.catalog(), Owner: "server",
		Now: func() time.Time { w.mu.Lock(); defer w.mu.Unlock(); return w.now }})
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

func (w *world) set(t time.Time) { w.mu.Lock(); w.now = t; w.mu.Unlock() }

func (w *world) tick(s *schedule.Scheduler) {
	w.t.Helper()
	if err := s.Tick(context.Background()); err != nil {
		w.t.Fatal(err)
	}
}

// files returns the file parameter of every run, sorted.
func (w *world) files() []string {
	w.t.Helper()
	runs, err := w.ws.FindRuns(context.Background(), state.RunFilter{Limit: 1000})
	if err != nil {
		w.t.Fatal(err)
	}
	var out []string
	for _, r := range runs {
		if r.Status == state.Failed {
			w.t.Fatalf("run %s failed: %s", r.ID, r.Message)
		}
		out = append(out, filepath.Base(r.Parameters["file"]))
	}
	sort.Strings(out)
	return out
}

func write(t *testing.T, path, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func eq(a []string, b ...string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestDatastoreTriggerFiresOncePerNewOrChangedFileAcrossRestarts(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	inbox := filepath.Join(w.root, "inbox")
	write(t, filepath.Join(inbox, "a.txt"), "a")
	s := w.scheduler()
	sch := &state.Schedule{Pipeline: "ingest", Kind: state.ScheduleDatastore, WatchPath: "inbox", Parameter: "file"}
	if err := s.Validate(context.Background(), sch); err != nil {
		t.Fatal(err)
	}
	if err := w.ws.CreateSchedule(context.Background(), sch); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(inbox, "sub", "b.txt"), "b")
	write(t, filepath.Join(inbox, ".hidden"), "h")
	write(t, filepath.Join(inbox, "c.part"), "partial")
	w.tick(s) // first sight: not settled yet
	if got := w.files(); len(got) != 0 {
		t.Fatalf("fired before files settled: %v", got)
	}
	w.tick(s)
	if got := w.files(); !eq(got, "a.txt", "b.txt") {
		t.Fatalf("after settling: %v", got)
	}
	w.tick(s)
	w.tick(s)
	if got := w.files(); !eq(got, "a.txt", "b.txt") {
		t.Fatalf("fired again for unchanged files: %v", got)
	}
	// A changed file fires once more.
	write(t, filepath.Join(inbox, "a.txt"), "a, longer now")
	w.tick(s)
	w.tick(s)
	w.tick(s)
	if got := w.files(); !eq(got, "a.txt", "a.txt", "b.txt") {
		t.Fatalf("after a change: %v", got)
	}

	// The server goes down; files arrive meanwhile; a new process starts.
	w.ws.Close()
	write(t, filepath.Join(inbox, "d.txt"), "d")
	write(t, filepath.Join(inbox, "sub", "e.txt"), "e")
	w.open()
	s2 := w.scheduler()
	if err := s2.Recover(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.tick(s2)
	w.tick(s2)
	w.tick(s2)
	if got := w.files(); !eq(got, "a.txt", "a.txt", "b.txt", "d.txt", "e.txt") {
		t.Fatalf("after restart: %v", got)
	}
	// Paused: nothing fires; resumed: what arrived meanwhile does.
	if err := w.ws.SetSchedulePaused(context.Background(), sch.ID, true); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(inbox, "f.txt"), "f")
	w.tick(s2)
	w.tick(s2)
	if got := w.files(); len(got) != 5 {
		t.Fatalf("paused schedule fired: %v", got)
	}
	if err := w.ws.SetSchedulePaused(context.Background(), sch.ID, false); err != nil {
		t.Fatal(err)
	}
	w.tick(s2)
	w.tick(s2)
	if got := w.files(); len(got) != 6 || got[5] != "f.txt" {
		t.Fatalf("resumed: %v", got)
	}
}

// A crash between claiming a fire and recording its run: recovery records the run, once.
func TestClaimedFireWithoutRunIsRecoveredExactlyOnce(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	inbox := filepath.Join(w.root, "inbox")
	write(t, filepath.Join(inbox, "a.txt"), "a")
	sch := &state.Schedule{Pipeline: "ingest", Kind: state.ScheduleDatastore, WatchPath: inbox, Parameter: "file"}
	if err := w.ws.CreateSchedule(context.Background(), sch); err != nil {
		t.Fatal(err)
	}
	// What the scheduler does first, then "dies": the claim without the run.
	files, err := schedule.LocalFolder{Dir: inbox}.Scan(context.Background())
	if err != nil || len(files) != 1 {
		t.Fatalf("scan: %v %v", files, err)
	}
	f := &state.Fire{ScheduleID: sch.ID, Key: files[0].Path, Version: files[0].Version, RunID: "crashed-run"}
	if ok, err := w.ws.ClaimFire(context.Background(), f); !ok || err != nil {
		t.Fatalf("claim: %v %v", ok, err)
	}
	for i := 0; i < 2; i++ {
		s := w.scheduler()
		if err := s.Recover(context.Background()); err != nil {
			t.Fatal(err)
		}
		w.tick(s)
		w.tick(s)
	}
	if got := w.files(); !eq(got, "a.txt") {
		t.Fatalf("runs: %v", got)
	}
	if _, err := w.ws.GetRun(context.Background(), "crashed-run"); err != nil {
		t.Fatalf("the claimed run id was not used: %v", err)
	}
	if src, err := w.ws.GetRunSource(context.Background(), "crashed-run"); err != nil || src.Schedule != sch.ID || src.Version != "1" {
		t.Fatalf("source: %+v %v", src, err)
	}
}

func TestCronFiresInItsTimeZoneOncePerSlot(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	s := w.scheduler()
	// 09:00 in New York is 14:00 UTC in January.
	sch := &state.Schedule{Pipeline: "ingest", Kind: state.ScheduleCron, Cron: "0 9 * * *", TimeZone: "America/New_York",
		Parameters: map[string]string{"file": "in.txt"}, Created: w.now}
	if err := s.Validate(context.Background(), sch); err != nil {
		t.Fatal(err)
	}
	if err := w.ws.CreateSchedule(context.Background(), sch); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		runs, err := w.ws.FindRuns(context.Background(), state.RunFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return len(runs)
	}
	steps := []struct {
		at   time.Time
		want int
	}{
		{time.Date(2026, 1, 5, 13, 59, 59, 0, time.UTC), 0},
		{time.Date(2026, 1, 5, 14, 0, 1, 0, time.UTC), 1},
		{time.Date(2026, 1, 5, 14, 0, 30, 0, time.UTC), 1}, // same slot
		{time.Date(2026, 1, 6, 13, 0, 0, 0, time.UTC), 1},
		// Down for three days: the missed slots fire once, not three times.
		{time.Date(2026, 1, 9, 15, 0, 0, 0, time.UTC), 2},
		{time.Date(2026, 1, 9, 16, 0, 0, 0, time.UTC), 2},
	}
	for _, st := range steps {
		w.set(st.at)
		w.tick(s)
		w.tick(w.scheduler()) // a restarted scheduler agrees
		if got := count(); got != st.want {
			t.Fatalf("at %s: %d runs, want %d", st.at, got, st.want)
		}
	}
}

func TestParseCron(t *testing.T) {
	t.Parallel()
	cases := []struct {
		spec, tz string
		ok       bool
	}{
		{"30 2 * * 1-5", "Europe/Paris", true},
		{"@daily", "", true},
		{"@every 1h30m", "", true},
		{"*/15 * * * *", "UTC", true},
		{"@every 10s", "", false},
		{"61 * * * *", "", false},
		{"* * * *", "", false},
		{"", "", false},
		{"CRON_TZ=UTC 0 * * * *", "", false},
		{"0 * * * *", "Mars/Olympus", false},
		{"0 * * * *", "../../etc/passwd", false},
	}
	for _, c := range cases {
		_, err := schedule.ParseCron(c.spec, c.tz)
		if (err == nil) != c.ok {
			t.Errorf("ParseCron(%q, %q): %v", c.spec, c.tz, err)
		}
	}
}

func FuzzParseCron(f *testing.F) {
	for _, s := range []string{"30 2 * * 1-5", "@daily", "@every 1h", "*/5 1,2 ? JAN-MAR MON", "0 0 31 2 *", "@every -1m"} {
		f.Add(s, "UTC")
	}
	f.Add("0 9 * * *", "America/New_York")
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, spec, tz string) {
		s, err := schedule.ParseCron(spec, tz)
		if err != nil {
			return
		}
		if n := s.Next(from); !n.IsZero() && !n.After(from) {
			t.Fatalf("Next(%s) = %s for %q", from, n, spec)
		}
	})
}
