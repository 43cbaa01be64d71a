package api_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/sluice-ml/sluice/engine/dataflow/jobs" // the parallel job type
	"github.com/sluice-ml/sluice/server/api"
)

func init() { jobs.ProgressEvery = 50 * time.Millisecond }

// slowParallelYAML: a parallel step over the files of ./items, one per mini-batch; every item but
// item-00 and item-01 waits for the file named by the gate input, so the step reports progress
// (2 items done) while it waits.
const slowParallelYAML = `name: slowpar
inputs:
  items: {type: uri_folder, path: ./items}
  gate: {type: string}
jobs:
  work:
    type: parallel
    command: |
      while IFS= read -r f; do
        case "$f" in
          *item-00.txt|*item-01.txt) ;;
          *) while [ ! -e ${{inputs.gate}} ]; do sleep 0.05; done ;;
        esac
        echo ok
      done < {minibatch}
    inputs: {items: ${{parent.inputs.items}}, gate: ${{parent.inputs.gate}}}
    input_data: items
    outputs: {results: {type: uri_folder}}
    mini_batch_size: "1"
    process_count_per_node: 2
    run_invocation_timeout: 0
`

// writeItems makes n small files in root/items.
func writeItems(t *testing.T, root string, n int) {
	t.Helper()
	dir := filepath.Join(root, "items")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("item-%02d.txt", i)), []byte(fmt.Sprintf("item %d\n", i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func stepNamed(run api.RunJSON, name string) *api.StepJSON {
	for i := range run.Steps {
		if run.Steps[i].Name == name {
			return &run.Steps[i]
		}
	}
	return nil
}

// metricValue finds the sample of a metric for a run and step in a /metrics answer.
func metricValue(t *testing.T, body []byte, name, run, step string) (float64, bool) {
	t.Helper()
	re := regexp.MustCompile(`(?m)^` + name + `\{run="` + regexp.QuoteMeta(run) + `",step="` + step + `"\} (\S+)$`)
	m := re.FindSubmatch(body)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatalf("%s: %q: %v", name, m[1], err)
	}
	return v, true
}

// A running parallel step shows its progress (items done, items/s) in the run JSON and in
// /metrics; both forget it once the step ends.
func TestRunningDataflowStepShowsItemsPerSecondInRunAndMetrics(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOpts{workers: 1})
	writeItems(t, s.root, 6)
	s.publish("slowpar", "1", slowParallelYAML)
	gate := filepath.Join(s.root, "gate") // the stack's cleanup opens it too
	r := s.do("POST", "/api/v1/pipelines/{name}/runs", "/api/v1/pipelines/slowpar/runs",
		map[string]any{"parameters": map[string]any{"gate": gate}}, s.token)
	if r.code != http.StatusCreated {
		t.Fatalf("submit: %d %s", r.code, r.body)
	}
	var sub api.SubmitResponse
	r.json(t, &sub)

	// Wait for a report with the two ungated items done (reports come every 50ms; the deadline
	// is for a report that never comes, not a speed requirement).
	deadline := time.Now().Add(2 * time.Minute)
	run := s.waitRun(sub.ID, func(run api.RunJSON) bool {
		if terminal(run) {
			t.Fatalf("run ended before the gate opened: %+v", run)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no progress with 2 items done in 2 minutes: %+v", run)
		}
		st := stepNamed(run, "work")
		return st != nil && st.Progress != nil && st.Progress.Done >= 2
	})
	p := stepNamed(run, "work").Progress
	if stepNamed(run, "work").Status != "Running" || p.Done != 2 || p.Total != 6 || p.ItemsPerS <= 0 || p.Bottleneck == "" {
		t.Fatalf("progress of the running step: %+v", *p)
	}
	if p.ETAS == nil || *p.ETAS <= 0 {
		t.Fatalf("ETA of the running step: %v", p.ETAS)
	}
	m := s.do("GET", "/metrics", "/metrics", nil, s.token)
	rate, ok := metricValue(t, m.body, "sluice_step_items_per_second", sub.ID, "work")
	done, ok2 := metricValue(t, m.body, "sluice_step_items_done", sub.ID, "work")
	if !ok || !ok2 || rate <= 0 || done != 2 {
		t.Fatalf("metrics of the running step (rate %v %v, done %v %v):\n%s", rate, ok, done, ok2, m.body)
	}

	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	run = s.waitRun(sub.ID, terminal)
	if run.Status != "Finished" {
		t.Fatalf("run: %+v", run)
	}
	if st := stepNamed(run, "work"); st.Progress != nil {
		t.Fatalf("the ended step still shows progress: %+v", *st.Progress)
	}
	m = s.do("GET", "/metrics", "/metrics", nil, s.token)
	if _, ok := metricValue(t, m.body, "sluice_step_items_per_second", sub.ID, "work"); ok {
		t.Fatalf("metrics still have the ended step:\n%s", m.body)
	}
	if _, ok := metricValue(t, m.body, "sluice_step_items_done", sub.ID, "work"); ok {
		t.Fatalf("metrics still have the ended step:\n%s", m.body)
	}
}
