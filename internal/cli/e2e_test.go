package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-ml/sluice/internal/azuritetest"
	"github.com/sluice-ml/sluice/internal/cli"
)

// The test binary doubles as the sluice binary: with SLUICE_E2E_EXEC=1 it runs the CLI, so the
// tests drive real processes (signals, kill -9, detach) without building anything else.
func TestMain(m *testing.M) {
	if os.Getenv("SLUICE_E2E_EXEC") == "1" {
		os.Exit(cli.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	code := m.Run()
	azuritetest.Stop()
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

func command(dir string, args ...string) *exec.Cmd {
	c := exec.Command(os.Args[0], args...)
	c.Dir = dir
	c.Env = append(os.Environ(), "SLUICE_E2E_EXEC=1", "SLUICE_WORKSPACE="+filepath.Join(dir, ".sluice"),
		"MARKS="+filepath.Join(dir, "marks"))
	return c
}

func sluice(t *testing.T, dir string, args ...string) result {
	t.Helper()
	c := command(dir, args...)
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
	return r
}

func mustRun(t *testing.T, dir string, args ...string) result {
	t.Helper()
	r := sluice(t, dir, args...)
	if r.code != 0 {
		t.Fatalf("sluice %v: exit %d\nstdout: %s\nstderr: %s", args, r.code, r.stdout, r.stderr)
	}
	return r
}

func writeFile(t *testing.T, root, rel, body string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
}

// marks returns the step names that started a process since the last call, sorted, and clears them.
func marks(t *testing.T, dir string) []string {
	t.Helper()
	p := filepath.Join(dir, "marks")
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(p)
	out := strings.Fields(string(b))
	sort.Strings(out)
	return out
}

type runJSON struct {
	ID      string            `json:"id"`
	Status  string            `json:"status"`
	Message string            `json:"message"`
	Params  map[string]string `json:"parameters"`
	Steps   []struct {
		Name     string     `json:"name"`
		Status   string     `json:"status"`
		Attempts int        `json:"attempts"`
		Started  *time.Time `json:"started"`
		Ended    *time.Time `json:"ended"`
		Reused   bool       `json:"reused"`
		Message  string     `json:"message"`
		Outputs  []struct {
			Name    string `json:"name"`
			Value   string `json:"value"`
			Hash    string `json:"hash"`
			Dataset string `json:"dataset"`
			Version int    `json:"version"`
		} `json:"outputs"`
	} `json:"steps"`
}

func showRun(t *testing.T, dir, id string) runJSON {
	t.Helper()
	r := mustRun(t, dir, "runs", "show", "--json", id)
	var out runJSON
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("runs show --json: %v\n%s", err, r.stdout)
	}
	return out
}

var runIDRe = regexp.MustCompile(`run (\d{8}-\d{6}-[0-9a-f]{6})`)

func runID(t *testing.T, r result) string {
	t.Helper()
	m := runIDRe.FindStringSubmatch(r.stderr + r.stdout)
	if m == nil {
		t.Fatalf("no run id in output:\n%s\n%s", r.stdout, r.stderr)
	}
	return m[1]
}

func statuses(rj runJSON) map[string]string {
	m := map[string]string{}
	for _, s := range rj.Steps {
		m[s.Name] = s.Status
	}
	return m
}

// diamond writes a pipeline A -> B, A -> C, (B, C) -> D plus an independent E. Each step that
// starts a process appends its name to $MARKS.
func diamond(t *testing.T) string {
	dir := t.TempDir()
	writeFile(t, dir, "pipeline.yaml", `name: diamond
inputs:
  corpus: {type: uri_folder, path: ./data}
  greeting: {type: string, default: hello}
jobs:
  a:
    type: command
    code: ./steps/a
    command: ./a.sh ${{inputs.corpus}} ${{outputs.words}}
    inputs: {corpus: ${{parent.inputs.corpus}}}
    outputs: {words: {type: uri_folder}}
  b:
    type: command
    code: ./steps/b
    command: ./b.sh ${{inputs.words}} ${{outputs.count}}
    inputs: {words: ${{parent.jobs.a.outputs.words}}}
    outputs: {count: {type: uri_file}}
  c:
    type: command
    code: ./steps/c
    command: ./c.sh ${{inputs.words}} ${{outputs.sorted}}
    inputs: {words: ${{parent.jobs.a.outputs.words}}}
    outputs: {sorted: {type: uri_folder}}
  d:
    type: command
    command: echo d >> "$MARKS"; cat ${{inputs.count}} ${{inputs.sorted}}/sorted.txt > ${{outputs.report}}/report.txt
    inputs:
      count: ${{parent.jobs.b.outputs.count}}
      sorted: ${{parent.jobs.c.outputs.sorted}}
    outputs: {report: {type: uri_folder, name: report}}
  e:
    type: command
    command: echo e >> "$MARKS"; echo ${{inputs.greeting}} > ${{outputs.note}}/note.txt; sleep 1.5
    inputs: {greeting: ${{parent.inputs.greeting}}}
    outputs: {note: {type: uri_folder}}
`)
	writeFile(t, dir, "data/x.txt", "the quick brown fox\n")
	writeFile(t, dir, "data/y.txt", "jumps over the lazy dog\n")
	writeFile(t, dir, "steps/a/a.sh", "#!/bin/sh\necho a >> \"$MARKS\"\ncat \"$1\"/* | tr ' ' '\\n' > \"$2/words.txt\"\n")
	writeFile(t, dir, "steps/b/b.sh", "#!/bin/sh\necho b >> \"$MARKS\"\nwc -l < \"$1/words.txt\" > \"$2\"\nsleep 1\n")
	writeFile(t, dir, "steps/c/c.sh", "#!/bin/sh\necho c >> \"$MARKS\"\nsort \"$1/words.txt\" > \"$2/sorted.txt\"\nsleep 1\n")
	writeFile(t, dir, "steps/c/.gitignore", "*.tmp\n")
	return dir
}

func TestDiamondRunsInParallelAndRecordsLineage(t *testing.T) {
	t.Parallel()
	dir := diamond(t)
	r := mustRun(t, dir, "run", "pipeline.yaml")
	id := runID(t, r)
	if got := marks(t, dir); strings.Join(got, "") != "abcde" {
		t.Fatalf("steps started: %v", got)
	}
	rj := showRun(t, dir, id)
	if rj.Status != "Finished" {
		t.Fatalf("status %s: %s", rj.Status, rj.Message)
	}
	// B, C and E overlap: the latest start is before the earliest end.
	var latestStart, earliestEnd time.Time
	for _, s := range rj.Steps {
		if s.Name != "b" && s.Name != "c" && s.Name != "e" {
			continue
		}
		if s.Started == nil || s.Ended == nil {
			t.Fatalf("step %s has no times", s.Name)
		}
		if s.Started.After(latestStart) {
			latestStart = *s.Started
		}
		if earliestEnd.IsZero() || s.Ended.Before(earliestEnd) {
			earliestEnd = *s.Ended
		}
	}
	if !latestStart.Before(earliestEnd) {
		t.Fatalf("b, c, e did not overlap: latest start %v, earliest end %v", latestStart, earliestEnd)
	}
	// Data passed along the edges: D's report holds B's count and C's sorted words.
	var report string
	for _, s := range rj.Steps {
		if s.Name == "d" {
			b, err := os.ReadFile(filepath.Join(s.Outputs[0].Value, "report.txt"))
			if err != nil {
				t.Fatal(err)
			}
			report = string(b)
		}
	}
	if want := "9\nbrown\ndog\nfox\njumps\nlazy\nover\nquick\nthe\nthe\n"; report != want {
		t.Fatalf("report = %q, want %q", report, want)
	}
	// Lineage: the report's version was made by d in this run from b's and c's versions.
	show := mustRun(t, dir, "datasets", "show", "report:1").stdout
	for _, want := range []string{"Lineage:  run " + id + ", step d, output report", "from count", "diamond.b.count:1",
		"diamond.c.sorted:1", "report.txt"} {
		if !strings.Contains(show, want) {
			t.Fatalf("datasets show lacks %q:\n%s", want, show)
		}
	}
	human := mustRun(t, dir, "runs", "show", id).stdout
	if !strings.Contains(human, "diamond.inputs.corpus:1") || !strings.Contains(human, "Finished") {
		t.Fatalf("runs show:\n%s", human)
	}
}

func TestReuseRerunsExactlyWhatChanged(t *testing.T) {
	t.Parallel()
	dir := diamond(t)
	mustRun(t, dir, "run", "pipeline.yaml")
	marks(t, dir)

	step := func(name string, wantRan string, args ...string) {
		t.Helper()
		r := mustRun(t, dir, append([]string{"run", "pipeline.yaml"}, args...)...)
		if got := strings.Join(marks(t, dir), ""); got != wantRan {
			t.Fatalf("%s: processes started for %q, want %q\n%s", name, got, wantRan, r.stdout)
		}
		rj := showRun(t, dir, runID(t, r))
		for _, s := range rj.Steps {
			ran := strings.Contains(wantRan, s.Name)
			if ran && s.Status != "Finished" || !ran && (s.Status != "Reused" || !s.Reused) {
				t.Fatalf("%s: step %s is %s", name, s.Name, s.Status)
			}
		}
		if !strings.Contains(r.stdout, "reused:") {
			t.Fatalf("%s: summary does not say what was reused: %s", name, r.stdout)
		}
	}
	step("identical rerun", "")
	// A file ignored by C's .gitignore changes nothing.
	writeFile(t, dir, "steps/c/scratch.tmp", "noise")
	step("ignored file", "")
	// One file of C's code: C and what depends on it.
	writeFile(t, dir, "steps/c/c.sh", "#!/bin/sh\necho c >> \"$MARKS\"\n# a comment\nsort \"$1/words.txt\" > \"$2/sorted.txt\"\nsleep 1\n")
	step("C's code", "cd")
	// A parameter only E reads.
	step("E's parameter", "e", "--set", "greeting=hi")
	step("same parameter again", "", "--set", "greeting=hi")
	// A file inside the pipeline's input folder: A and everything downstream.
	writeFile(t, dir, "data/y.txt", "jumps over the lazy cat\n")
	step("input data", "abcd", "--set", "greeting=hi")
	// --no-reuse runs everything.
	step("no reuse", "abcde", "--set", "greeting=hi", "--no-reuse")
}

func TestRetriesThenFailsNamingStepAndLog(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "p.yaml", `name: flaky
jobs:
  f:
    type: command
    command: 'echo f >> "$MARKS"; echo "checking the disk"; echo "boom: disk on fire" >&2; exit 3'
    retry: {max_attempts: 3, delay: 10ms}
    outputs: {out: {type: uri_folder}}
  g:
    type: command
    command: echo g >> "$MARKS"; ls ${{inputs.x}}
    inputs: {x: ${{parent.jobs.f.outputs.out}}}
`)
	r := sluice(t, dir, "run", "p.yaml")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1\n%s", r.code, r.stderr)
	}
	if got := marks(t, dir); strings.Join(got, ",") != "f,f,f" {
		t.Fatalf("started %v, want f three times and never g", got)
	}
	for _, want := range []string{"step f", "failed after 3 attempt(s): exit status 3", "boom: disk on fire", "checking the disk"} {
		if !strings.Contains(r.stderr, want) {
			t.Fatalf("error lacks %q:\n%s", want, r.stderr)
		}
	}
	rj := showRun(t, dir, runID(t, r))
	st := statuses(rj)
	if rj.Status != "Failed" || st["f"] != "Failed" || st["g"] != "Canceled" {
		t.Fatalf("statuses %s %v", rj.Status, st)
	}
	for _, s := range rj.Steps {
		if s.Name == "f" && s.Attempts != 3 {
			t.Fatalf("attempts %d", s.Attempts)
		}
		if s.Name == "g" && s.Started != nil {
			t.Fatal("g started")
		}
	}
	logs := mustRun(t, dir, "runs", "logs", rj.ID, "f").stdout
	if strings.Count(logs, "\nboom: disk on fire\n") != 3 || !strings.Contains(logs, "attempt 3 of 3") {
		t.Fatalf("log:\n%s", logs)
	}
}

func TestContinueOnStepFailureAndTimeout(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "p.yaml", `name: partial
settings: {continue_on_step_failure: true}
jobs:
  slow:
    type: command
    command: sleep 30
    timeout: 300ms
    outputs: {out: {type: uri_folder}}
  after_slow:
    type: command
    command: echo after_slow >> "$MARKS"
    run_after: [slow]
  independent:
    type: command
    command: sleep 0.5; echo independent >> "$MARKS"
`)
	start := time.Now()
	r := sluice(t, dir, "run", "p.yaml")
	if r.code != 1 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if time.Since(start) > 20*time.Second {
		t.Fatal("the timeout did not stop the step")
	}
	if got := marks(t, dir); strings.Join(got, ",") != "independent" {
		t.Fatalf("ran %v", got)
	}
	rj := showRun(t, dir, runID(t, r))
	st := statuses(rj)
	if st["slow"] != "Failed" || st["after_slow"] != "Canceled" || st["independent"] != "Finished" {
		t.Fatalf("%v", st)
	}
	if !strings.Contains(r.stderr, "timed out after 300ms") {
		t.Fatalf("stderr: %s", r.stderr)
	}
}

func TestMalformedPipelinesExit2WithPosition(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("../../engine/spec/testdata/invalid/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("want at least ten malformed pipelines, found %d", len(files))
	}
	dir := t.TempDir()
	for _, f := range files {
		abs, _ := filepath.Abs(f)
		r := sluice(t, dir, "run", abs)
		if r.code != 2 {
			t.Errorf("%s: exit %d, want 2\n%s", f, r.code, r.stderr)
			continue
		}
		if !regexp.MustCompile(regexp.QuoteMeta(abs) + `:\d+:\d+: `).MatchString(r.stderr) {
			t.Errorf("%s: no file:line:column in %q", f, r.stderr)
		}
		if strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine ") {
			t.Errorf("%s: panicked: %s", f, r.stderr)
		}
	}
	// Bad usage is exit 2 too.
	for _, args := range [][]string{{"run"}, {"run", "missing.yaml"}, {"run", "x", "--bogus"}, {"runs", "show", "nope"}} {
		if r := sluice(t, dir, args...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2: %s", args, r.code, r.stderr)
		}
	}
}

// slowPipeline: a quick step, then one that records its pid and a child's pid and sleeps.
const slowPipeline = `name: slow
inputs:
  secs: {type: number, default: 60}
jobs:
  quick:
    type: command
    command: echo quick >> "$MARKS"; echo done > ${{outputs.out}}/x
    outputs: {out: {type: uri_folder}}
  sleeper:
    type: command
    command: echo $$ > "$MARKS.pid"; sleep ${{inputs.secs}} & echo $! > "$MARKS.child"; echo sleeper >> "$MARKS"; wait
    inputs:
      in: ${{parent.jobs.quick.outputs.out}}
      secs: ${{parent.inputs.secs}}
`

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func readPID(t *testing.T, path string) int {
	t.Helper()
	var pid int
	b, _ := os.ReadFile(path)
	fmt.Sscan(string(b), &pid)
	return pid
}

func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	// A zombie still answers kill(0); look at its state.
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	return len(f) > 2 && f[2] != "Z"
}

func started(dir string) bool {
	b, _ := os.ReadFile(filepath.Join(dir, "marks"))
	return strings.Contains(string(b), "sleeper")
}

func TestKill9LeavesRunInterruptedAndNextRunReuses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "p.yaml", slowPipeline)
	c := command(dir, "run", "p.yaml")
	var errb bytes.Buffer
	c.Stderr = &errb
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the sleeper step", func() bool { return started(dir) })
	child := readPID(t, filepath.Join(dir, "marks.child"))
	t.Cleanup(func() { syscall.Kill(child, syscall.SIGKILL) })
	if err := c.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c.Wait()
	id := runID(t, result{stderr: errb.String()})
	rj := showRun(t, dir, id)
	st := statuses(rj)
	if rj.Status != "Interrupted" || st["quick"] != "Finished" || st["sleeper"] != "Interrupted" {
		t.Fatalf("after kill -9: %s %v", rj.Status, st)
	}
	marks(t, dir)
	r := mustRun(t, dir, "run", "p.yaml", "--set", "secs=0")
	st = statuses(showRun(t, dir, runID(t, r)))
	if st["quick"] != "Reused" || st["sleeper"] != "Finished" {
		t.Fatalf("rerun: %v", st)
	}
	if got := marks(t, dir); strings.Join(got, ",") != "sleeper" {
		t.Fatalf("rerun started %v", got)
	}
}

func TestSIGTERMCancelsRunAndStepProcesses(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "p.yaml", slowPipeline)
	c := command(dir, "run", "p.yaml")
	var errb bytes.Buffer
	c.Stderr = &errb
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the sleeper step", func() bool { return started(dir) })
	shell, child := readPID(t, filepath.Join(dir, "marks.pid")), readPID(t, filepath.Join(dir, "marks.child"))
	if !alive(shell) || !alive(child) {
		t.Fatalf("step processes not running: %d %d", shell, child)
	}
	if err := c.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := c.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v\n%s", err, errb.String())
	}
	waitFor(t, "step processes to end", func() bool { return !alive(shell) && !alive(child) })
	rj := showRun(t, dir, runID(t, result{stderr: errb.String()}))
	if st := statuses(rj); rj.Status != "Canceled" || st["sleeper"] != "Canceled" || st["quick"] != "Finished" {
		t.Fatalf("%s %v", rj.Status, st)
	}
}

func TestDetachAndCancelFromAnotherProcess(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "p.yaml", slowPipeline)
	r := mustRun(t, dir, "run", "p.yaml", "--detach")
	id := strings.TrimSpace(r.stdout)
	if !runIDRe.MatchString("run " + id) {
		t.Fatalf("detach printed %q", r.stdout)
	}
	waitFor(t, "the sleeper step", func() bool { return started(dir) })
	child := readPID(t, filepath.Join(dir, "marks.child"))
	if rj := showRun(t, dir, id); rj.Status != "Running" {
		t.Fatalf("detached run is %s", rj.Status)
	}
	out := mustRun(t, dir, "runs", "cancel", id).stdout
	if !strings.Contains(out, "cancel requested") {
		t.Fatalf("cancel said %q", out)
	}
	waitFor(t, "the run to be canceled", func() bool { return showRun(t, dir, id).Status == "Canceled" })
	waitFor(t, "the step's child to end", func() bool { return !alive(child) })
	list := mustRun(t, dir, "runs", "list").stdout
	if !strings.Contains(list, id) || !strings.Contains(list, "Canceled") {
		t.Fatalf("runs list:\n%s", list)
	}
}
