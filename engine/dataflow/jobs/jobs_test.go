package jobs_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluice-ml/sluice/engine/dataflow/jobs"
	"github.com/sluice-ml/sluice/engine/executor"
	"github.com/sluice-ml/sluice/engine/spec"
	"github.com/sluice-ml/sluice/internal/testenv"
	"github.com/sluice-ml/sluice/store/state"
)

// classify prints one line per listed file: "ok:<content>", or an error for content "bad";
// with $SIDE set it also appends each path it handles to that file.
const classify = `#!/bin/sh
while IFS= read -r f; do
  if [ -n "$SIDE" ]; then echo "$f" >> "$SIDE"; fi
  if [ -n "$SLOW" ]; then sleep "$SLOW"; fi
  c=$(cat "$f")
  case "$c" in
    bad*) echo "ERROR: bad content in $(basename "$f")" ;;
    *) echo "ok:$c" ;;
  esac
done < "$1"
`

// setup makes a pipeline folder with code/classify.sh and data/ holding n items
// (item-000.txt ...), those whose index is in bad holding "bad".
func setup(t *testing.T, n int, bad ...int) string {
	t.Helper()
	if _, err := os.Stat("/bin/sh"); err != nil {
		testenv.Missing(t, "/bin/sh")
	}
	dir := t.TempDir()
	for _, d := range []string{"code", "data"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "code", "classify.sh"), []byte(classify), 0o755); err != nil {
		t.Fatal(err)
	}
	isBad := map[int]bool{}
	for _, b := range bad {
		isBad[b] = true
	}
	for i := 0; i < n; i++ {
		c := fmt.Sprintf("v%d", i)
		if isBad[i] {
			c = "bad"
		}
		if err := os.WriteFile(filepath.Join(dir, "data", fmt.Sprintf("item-%03d.txt", i)), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func parse(t *testing.T, dir, src string) *spec.Pipeline {
	t.Helper()
	p, err := spec.Parse(filepath.Join(dir, "p.yaml"), []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func openWS(t *testing.T) *state.Workspace {
	t.Helper()
	ws, err := state.Open(context.Background(), filepath.Join(t.TempDir(), "ws"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

type events struct {
	mu sync.Mutex
	ev []executor.Event
}

func (e *events) add(ev executor.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ev = append(e.ev, ev)
}

func (e *events) progress() []executor.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []executor.Event
	for _, ev := range e.ev {
		if ev.Progress != nil {
			out = append(out, ev)
		}
	}
	return out
}

func execute(ctx context.Context, t *testing.T, ws *state.Workspace, p *spec.Pipeline, env []string, ev *events) (*state.Run, error) {
	t.Helper()
	return executeOpts(ctx, t, ws, p, env, ev, false)
}

func executeOpts(ctx context.Context, t *testing.T, ws *state.Workspace, p *spec.Pipeline, env []string, ev *events, noReuse bool) (*state.Run, error) {
	t.Helper()
	rec, lock, err := executor.Submit(context.Background(), ws, p, nil, nil, noReuse)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release()
	opts := executor.Options{Env: append(os.Environ(), env...)}
	if ev != nil {
		opts.Observe = ev.add
	}
	return executor.Execute(ctx, ws, p, rec.ID, opts)
}

func stepOf(r *state.Run, name string) state.Step {
	for _, s := range r.Steps {
		if s.Name == name {
			return s
		}
	}
	return state.Step{}
}

func outputDir(t *testing.T, r *state.Run, step string) string {
	t.Helper()
	for _, o := range stepOf(r, step).Outputs {
		return o.Value
	}
	t.Fatalf("step %s has no output", step)
	return ""
}

func lines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

const parallelYAML = `name: par
inputs:
  items: {type: uri_folder, path: ./data}
jobs:
  classify:
    type: parallel
    code: ./code
    command: ./classify.sh
    inputs: {items: ${{parent.inputs.items}}}
    outputs: {results: {type: uri_folder}}
    mini_batch_size: "%s"
    error_threshold: %d
    process_count_per_node: 2
    run_invocation_timeout: 30
    environment_variables: {SLOW: "%s"}
`

func TestParallelJob(t *testing.T) {
	old := jobs.ProgressEvery
	jobs.ProgressEvery = 20 * time.Millisecond
	t.Cleanup(func() { jobs.ProgressEvery = old })
	dir := setup(t, 25, 3, 17)
	ws := openWS(t)
	p := parse(t, dir, fmt.Sprintf(parallelYAML, "4", -1, "0.02"))
	var ev events
	r, err := execute(context.Background(), t, ws, p, nil, &ev)
	if err != nil {
		t.Fatal(err)
	}
	out := outputDir(t, r, "classify")
	got := lines(t, filepath.Join(out, jobs.DefaultAppendRowFile))
	if len(got) != 25 {
		t.Fatalf("%d result lines, want 25:\n%s", len(got), strings.Join(got, "\n"))
	}
	for i, l := range got {
		want := fmt.Sprintf("item-%03d.txt ok:v%d", i, i)
		if i == 3 || i == 17 {
			want = fmt.Sprintf("item-%03d.txt ERROR: bad content in item-%03d.txt", i, i)
		}
		if l != want {
			t.Errorf("line %d = %q, want %q", i, l, want)
		}
	}
	parts, _ := filepath.Glob(filepath.Join(out, "part-*.txt"))
	if len(parts) != 7 {
		t.Errorf("%d part files, want 7 (25 items by 4)", len(parts))
	}
	if dots, _ := filepath.Glob(filepath.Join(out, ".*")); len(dots) != 0 {
		t.Errorf("engine files in the output: %v", dots)
	}
	// Progress reached the observers and the log.
	prog := ev.progress()
	if len(prog) == 0 {
		t.Error("no progress events")
	} else if p := prog[len(prog)-1].Progress; p.Total != 25 || p.Bottleneck == "" {
		t.Errorf("last progress %+v", *p)
	}
	logText, _ := os.ReadFile(stepOf(r, "classify").LogPath)
	if !strings.Contains(string(logText), "progress: ") || !strings.Contains(string(logText), "25 items (2 failed), 7 mini-batches (0 failed)") {
		t.Errorf("log:\n%s", logText)
	}
	// The state folder is gone once the outputs are stored.
	if ents, _ := os.ReadDir(filepath.Join(ws.Dir(), "state")); len(ents) != 0 {
		t.Errorf("state folder not cleaned: %v", ents)
	}

	// Same definition: reused. Another mini_batch_size: a new key, run again.
	r2, err := execute(context.Background(), t, ws, p, nil, nil)
	if err != nil || stepOf(r2, "classify").Status != state.Reused {
		t.Errorf("second run: %v, step %s", err, stepOf(r2, "classify").Status)
	}
	p3 := parse(t, dir, fmt.Sprintf(parallelYAML, "5", -1, "0"))
	r3, err := execute(context.Background(), t, ws, p3, nil, nil)
	if err != nil || stepOf(r3, "classify").Status != state.Finished {
		t.Fatalf("third run: %v, step %s", err, stepOf(r3, "classify").Status)
	}
	if parts, _ := filepath.Glob(filepath.Join(outputDir(t, r3, "classify"), "part-*.txt")); len(parts) != 5 {
		t.Errorf("%d part files, want 5", len(parts))
	}
}

func TestParallelThreshold(t *testing.T) {
	dir := setup(t, 12, 1, 5, 9)
	ws := openWS(t)
	r, err := execute(context.Background(), t, ws, parse(t, dir, fmt.Sprintf(parallelYAML, "3", 2, "0")), nil, nil)
	var re *executor.RunError
	if !errors.As(err, &re) || r.Status != state.Failed {
		t.Fatalf("err %v, status %s", err, r.Status)
	}
	msg := stepOf(r, "classify").Message
	if s := stepOf(r, "classify"); s.Status != state.Failed || !strings.Contains(msg, "error_threshold exceeded: 3 failed items > 2 allowed") {
		t.Errorf("step %s: %s", s.Status, msg)
	}
}

// A run stopped in the middle resumes: the next run skips the mini-batches the first one
// committed, and every item is in the output once.
func TestParallelResume(t *testing.T) {
	dir := setup(t, 40)
	side := filepath.Join(t.TempDir(), "side.log")
	ws := openWS(t)
	p := parse(t, dir, fmt.Sprintf(parallelYAML, "2", -1, "0.05"))
	first := interrupt(t, ws, p, side)
	r2, err := execute(context.Background(), t, ws, p, []string{"SIDE=" + side}, nil)
	if err != nil {
		t.Fatal(err)
	}
	skipped := skippedInLog(t, r2)
	if skipped == 0 {
		t.Error("nothing skipped on resume")
	}
	handled := len(lines(t, side))
	if handled-first > 40-2*skipped {
		t.Errorf("second run handled %d items; %d were committed already", handled-first, 2*skipped)
	}
	got := lines(t, filepath.Join(outputDir(t, r2, "classify"), jobs.DefaultAppendRowFile))
	sort.Strings(got)
	if len(got) != 40 {
		t.Fatalf("%d lines, want 40", len(got))
	}
	for i, l := range got {
		if want := fmt.Sprintf("item-%03d.txt ok:v%d", i, i); l != want {
			t.Errorf("line %d = %q, want %q", i, l, want)
		}
	}
}

// --no-reuse reuses nothing, not even what an interrupted run committed.
func TestNoReuseStartsOver(t *testing.T) {
	dir := setup(t, 40)
	side := filepath.Join(t.TempDir(), "side.log")
	ws := openWS(t)
	p := parse(t, dir, fmt.Sprintf(parallelYAML, "2", -1, "0.05"))
	first := interrupt(t, ws, p, side)
	r2, err := executeOpts(context.Background(), t, ws, p, []string{"SIDE=" + side}, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if n := skippedInLog(t, r2); n != 0 {
		t.Errorf("--no-reuse skipped %d mini-batches", n)
	}
	if handled := len(lines(t, side)) - first; handled != 40 {
		t.Errorf("--no-reuse handled %d items, want 40", handled)
	}
}

// skippedInLog returns the mini-batches the step's log says an earlier run committed.
func skippedInLog(t *testing.T, r *state.Run) int {
	t.Helper()
	logText, _ := os.ReadFile(stepOf(r, "classify").LogPath)
	sc := bufio.NewScanner(strings.NewReader(string(logText)))
	for sc.Scan() {
		var skipped int
		if _, err := fmt.Sscanf(sc.Text(), "parallel: 40 items (0 failed), 20 mini-batches (0 failed), %d mini-batches committed by an earlier run", &skipped); err == nil {
			return skipped
		}
	}
	t.Fatalf("no summary in the log:\n%s", logText)
	return 0
}

// interrupt runs p until 12 items are handled, cancels it, and returns how many were handled.
func interrupt(t *testing.T, ws *state.Workspace, p *spec.Pipeline, side string) int {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { // stop once a few mini-batches are through
		for ctx.Err() == nil {
			if data, _ := os.ReadFile(side); strings.Count(string(data), "\n") >= 12 {
				cancel()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	r1, err := execute(ctx, t, ws, p, []string{"SIDE=" + side}, nil)
	cancel()
	if err == nil || r1.Status != state.Canceled {
		t.Fatalf("first run: %v, %s", err, r1.Status)
	}
	return len(lines(t, side))
}

func TestDataflowJob(t *testing.T) {
	dir := setup(t, 6, 2)
	if err := os.WriteFile(filepath.Join(dir, "data", "big.txt"), []byte("0123456789"), 0o644); err != nil {
		t.Fatal(err)
	}
	src := `name: df
inputs:
  items: {type: uri_folder, path: ./data}
jobs:
  table:
    type: dataflow
    code: ./code
    inputs: {items: ${{parent.inputs.items}}}
    outputs: {out: {type: uri_folder}}
    mini_batch_size: 12B
    output_format: csv
    operators:
      - {op: read, max_bytes: 8}
      - {op: hash, name: digest}
      - {op: command, run: "./classify.sh {minibatch}"}
`
	ws := openWS(t)
	r, err := execute(context.Background(), t, ws, parse(t, dir, src), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := outputDir(t, r, "table")
	files, _ := filepath.Glob(filepath.Join(out, "part-*.csv"))
	var rows []string
	for _, f := range files {
		rows = append(rows, lines(t, f)[1:]...)
	}
	sort.Strings(rows)
	want := []string{
		`big.txt,,"big.txt: 10 bytes, more than max_bytes 8"`,
		"item-000.txt,ok:v0,", "item-001.txt,ok:v1,", "item-002.txt,,bad content in item-002.txt",
		"item-003.txt,ok:v3,", "item-004.txt,ok:v4,", "item-005.txt,ok:v5,",
	}
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
	logText, _ := os.ReadFile(stepOf(r, "table").LogPath)
	if !strings.Contains(string(logText), "stages read → digest → command") {
		t.Errorf("log:\n%s", logText)
	}
	// The operators are part of the step's key: the same chain is reused, another one runs.
	r2, err := execute(context.Background(), t, ws, parse(t, dir, src), nil, nil)
	if err != nil || stepOf(r2, "table").Status != state.Reused {
		t.Errorf("same chain: %v, %s", err, stepOf(r2, "table").Status)
	}
	r3, err := execute(context.Background(), t, ws, parse(t, dir, strings.Replace(src, "max_bytes: 8", "max_bytes: 9", 1)), nil, nil)
	if err != nil || stepOf(r3, "table").Status != state.Finished {
		t.Errorf("another chain: %v, %s", err, stepOf(r3, "table").Status)
	}
}

// A bad operator option fails the step with the option's position.
func TestDataflowJobBadOption(t *testing.T) {
	dir := setup(t, 2)
	src := "jobs:\n  t:\n    type: dataflow\n    inputs: {i: {type: uri_folder, path: ./data}}\n    outputs: {o: {type: uri_folder}}\n" +
		"    operators:\n      - {op: read, max_byte: 8}\n"
	ws := openWS(t)
	r, err := execute(context.Background(), t, ws, parse(t, dir, src), nil, nil)
	if err == nil || !strings.Contains(stepOf(r, "t").Message, `p.yaml:7:20: operator 1 (read): unknown option "max_byte"`) {
		t.Errorf("err %v; step: %s", err, stepOf(r, "t").Message)
	}
}

func TestParseErrors(t *testing.T) {
	head := "jobs:\n  j:\n"
	par := head + "    type: parallel\n    command: x\n    inputs: {i: {type: uri_folder, path: .}}\n    outputs: {o: {type: uri_folder}}\n"
	df := head + "    type: dataflow\n    inputs: {i: {type: uri_folder, path: .}}\n    outputs: {o: {type: uri_folder}}\n"
	for _, tc := range []struct{ src, want string }{
		{par + "    mini_batch_size: 10XB\n", `p.yaml:7:22: job "j": mini_batch_size: "10XB" is neither a number of items (10) nor a size (10MB, 1GB)`},
		{par + "    mini_batch_size: 0\n", `p.yaml:7:22: job "j": mini_batch_size: "0": a mini-batch holds at least one item`},
		{par + "    mini_batch_size: 5\n    partition_keys: '{a}/*'\n", `p.yaml:7:22: job "j": mini_batch_size: give mini_batch_size or partition_keys, not both`},
		{par + "    partition_keys: '{a'\n", `p.yaml:7:21: job "j": partition_keys: `},
		{par + "    error_threshold: -2\n", `p.yaml:7:22: job "j": error_threshold: "-2" is not an item count (-1 ignores failed items)`},
		{par + "    allowed_failed_percent: 101\n", `p.yaml:7:29: job "j": allowed_failed_percent: "101" is not a percentage from 0 to 100`},
		{par + "    run_max_try: 0\n", `p.yaml:7:18: job "j": run_max_try: "0" is not a number of tries (at least 1)`},
		{par + "    run_invocation_timeout: -1\n", `p.yaml:7:29: job "j": run_invocation_timeout: "-1" is not a number of seconds (0: no limit)`},
		{par + "    process_count_per_node: 0\n", `p.yaml:7:29: job "j": process_count_per_node: "0" is not a number of processes (at least 1)`},
		{par + "    output_format: json\n", `p.yaml:7:20: job "j": output_format: unknown output format "json" (want parquet, csv, ipc or text)`},
		{par + "    output_format: parquet\n    append_row_file_name: r.txt\n", `p.yaml:8:27: job "j": append_row_file_name: append_row output is text: it needs output_format text, not parquet`},
		{par + "    append_row_file_name: ../r.txt\n", `p.yaml:7:27: job "j": append_row_file_name: "../r.txt" must be a plain file name`},
		{par + "    input_data: nope\n", `p.yaml:7:17: job "j": input_data: "nope" is not an input of the job (inputs: i)`},
		{par + "    mini_batch_size: 10\n    nope: 1\n", `p.yaml:8:5: unknown key "nope" in job "j" of type "parallel" (allowed: allowed_failed_count, allowed_failed_percent, append_row_file_name, code, command,`},
		{head + "    type: parallel\n    inputs: {i: {type: uri_folder, path: .}}\n    outputs: {o: {type: uri_folder}}\n", `p.yaml:2:3: job "j": missing required key "command"`},
		{head + "    type: parallel\n    command: x\n    inputs: {i: {type: uri_folder, path: .}, k: 3}\n    outputs: {o: {type: uri_folder}}\n",
			`p.yaml:5:13: job "j": several inputs (i, k): name the one holding the items with input_data: NAME`},
		{head + "    type: parallel\n    command: x\n    inputs: {i: {type: uri_folder, path: .}}\n    outputs: {o: {type: uri_folder}, p: {type: uri_folder}}\n",
			`p.yaml:6:14: job "j": a parallel job has exactly one output, a uri_folder`},
		{head + "    type: parallel\n    command: x\n    outputs: {o: {type: uri_folder}}\n", `p.yaml:2:3: job "j": a parallel job needs an input folder`},
		{df, `p.yaml:2:3: job "j": missing required key "operators"`},
		{df + "    operators: []\n", `p.yaml:6:16: job "j": operators: want a non-empty list of operators`},
		{df + "    operators:\n      - {op: decodez}\n", `p.yaml:7:14: job "j": operator 1: unknown operator "decodez" (known: command, hash, read, select)`},
		{df + "    command: x\n    operators: [{op: read}]\n", `p.yaml:6:14: job "j": a dataflow job has no command`},
		{df + "    operators: [{op: read}]\n    process_count_per_node: 2\n", `p.yaml:7:5: unknown key "process_count_per_node" in job "j" of type "dataflow"`},
	} {
		_, err := spec.Parse("p.yaml", []byte(tc.src))
		if err == nil || !errors.Is(err, spec.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s\n got %v\nwant %s", tc.src, err, tc.want)
		}
	}
	// Accepted: sizes and counts, -1, a bound value checked at run time.
	for _, ok := range []string{
		par + "    mini_batch_size: 10MB\n    error_threshold: -1\n    allowed_failed_percent: -1\n    output_format: csv\n",
		par + "    partition_keys: '{store}/*'\n    output_format: text\n    append_row_file_name: out.txt\n",
		"inputs: {n: {type: string, default: '3'}}\n" + par + "    mini_batch_size: ${{parent.inputs.n}}\n",
		df + "    operators: [{op: read}, {op: hash}]\n    output_format: ipc\n",
	} {
		if _, err := spec.Parse("p.yaml", []byte(ok)); err != nil {
			t.Errorf("%s\n%v", ok, err)
		}
	}
}

// A value bound to a pipeline input is checked when the step runs.
func TestBoundValueCheckedAtRun(t *testing.T) {
	dir := setup(t, 3)
	src := `inputs: {n: {type: string, default: "lots"}, items: {type: uri_folder, path: ./data}}
jobs:
  j:
    type: parallel
    code: ./code
    command: ./classify.sh
    inputs: {items: ${{parent.inputs.items}}}
    outputs: {o: {type: uri_folder}}
    mini_batch_size: ${{parent.inputs.n}}
`
	ws := openWS(t)
	r, err := execute(context.Background(), t, ws, parse(t, dir, src), nil, nil)
	if err == nil || !strings.Contains(stepOf(r, "j").Message, `mini_batch_size: "lots" is neither a number of items`) {
		t.Errorf("err %v; step: %s", err, stepOf(r, "j").Message)
	}
}

// An empty input folder is an empty output (and an empty append_row file), not an error.
func TestEmptyInput(t *testing.T) {
	dir := setup(t, 0)
	ws := openWS(t)
	r, err := execute(context.Background(), t, ws, parse(t, dir, fmt.Sprintf(parallelYAML, "4", 0, "0")), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := outputDir(t, r, "classify")
	data, err := os.ReadFile(filepath.Join(out, jobs.DefaultAppendRowFile))
	if err != nil || len(data) != 0 {
		t.Errorf("append_row file: %q, %v", data, err)
	}
	if parts, _ := filepath.Glob(filepath.Join(out, "part-*")); len(parts) != 0 {
		t.Errorf("part files: %v", parts)
	}
}

// partition_keys: one mini-batch per value of the key (a path segment).
func TestPartitionKeys(t *testing.T) {
	dir := setup(t, 0)
	for _, p := range []string{"east/1.txt", "east/2.txt", "west/3.txt", "north/4.txt", "north/5.txt", "north/6.txt"} {
		full := filepath.Join(dir, "data", p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	src := strings.Replace(fmt.Sprintf(parallelYAML, "1", -1, "0"), `mini_batch_size: "1"`, `partition_keys: "{region}/*"`, 1)
	ws := openWS(t)
	r, err := execute(context.Background(), t, ws, parse(t, dir, src), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := outputDir(t, r, "classify")
	if parts, _ := filepath.Glob(filepath.Join(out, "part-*.txt")); len(parts) != 3 {
		t.Errorf("%d part files, want 3 (east, north, west)", len(parts))
	}
	got := lines(t, filepath.Join(out, jobs.DefaultAppendRowFile))
	sort.Strings(got)
	want := []string{"east/1.txt ok:east/1.txt", "east/2.txt ok:east/2.txt", "north/4.txt ok:north/4.txt",
		"north/5.txt ok:north/5.txt", "north/6.txt ok:north/6.txt", "west/3.txt ok:west/3.txt"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s", strings.Join(got, "\n"))
	}
}
