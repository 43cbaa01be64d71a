package web_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sluice-ml/sluice/engine/dataflow/jobs" // the parallel job type
	"github.com/sluice-ml/sluice/internal/testenv"
	"github.com/sluice-ml/sluice/server"
	"github.com/sluice-ml/sluice/server/catalog"
	"github.com/sluice-ml/sluice/store/state"
)

func init() { jobs.ProgressEvery = 50 * time.Millisecond }

const gatedYAML = `name: gated
inputs:
  gate: {type: string}
jobs:
  wait:
    type: command
    command: echo waiting; while [ ! -e ${{inputs.gate}} ]; do sleep 0.05; done; echo opened > ${{outputs.out}}/w.txt
    inputs: {gate: ${{parent.inputs.gate}}}
    outputs: {out: {type: uri_folder}}
  report:
    type: command
    command: cat ${{inputs.w}}/w.txt; echo reported > ${{outputs.out}}/r.txt
    inputs: {w: ${{parent.jobs.wait.outputs.out}}}
    outputs: {out: {type: uri_folder}}
`

func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// webStack is a server on a fresh workspace, served over loopback, with a read token.
type webStack struct {
	root string
	srv  *server.Server
	hs   *httptest.Server
	tok  string
}

// newWebStack starts a server; cleanups stop it after opening the gate file (root/gate).
func newWebStack(t *testing.T) *webStack {
	t.Helper()
	root := t.TempDir()
	ws, err := state.Open(context.Background(), filepath.Join(root, ".sluice"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	srv, err := server.New(server.Config{Workspace: ws, Root: root, Workers: 1, Grace: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(context.Background())
	if err := srv.Start(sctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	t.Cleanup(func() { _ = srv.Stop() })
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	tok, _, err := ws.CreateToken(context.Background(), "browser", state.ScopeRead)
	if err != nil {
		t.Fatal(err)
	}
	// Registered last, runs first: let gated steps end whatever happens.
	t.Cleanup(func() { _ = os.WriteFile(filepath.Join(root, "gate"), nil, 0o644) })
	return &webStack{root: root, srv: srv, hs: hs, tok: tok}
}

// newBrowser starts headless Chromium (skipping the test when it is not installed) and returns
// its context, bounded by a limit for a hung browser only.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	chrome := findChromium()
	if chrome == "" {
		testenv.Missing(t, "chromium is not installed (apt-get install -y chromium); CI installs it — skipping the browser test")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chrome),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	t.Cleanup(cancelBrowser)
	// A bound for a hung browser only; every wait in the tests is for a state the page must reach.
	ctx, cancel := context.WithTimeout(bctx, 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// evaluator evaluates JavaScript expressions that give a string.
func evaluator(t *testing.T, ctx context.Context) func(expr string) string {
	return func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return v
	}
}

// The run page draws the graph and follows a running step to Finished without a reload.
func TestRunPageShowsGraphAndLiveStatusInHeadlessChromium(t *testing.T) {
	ctx := newBrowser(t)
	eval := evaluator(t, ctx)
	w := newWebStack(t)
	srv, hs, tok := w.srv, w.hs, w.tok
	gate := filepath.Join(w.root, "gate")
	if _, err := srv.Catalog.Publish(context.Background(), &state.PipelineVersion{Name: "gated", Version: "1", YAML: gatedYAML}, true); err != nil {
		t.Fatal(err)
	}
	run, _, err := srv.Catalog.Submit(context.Background(), catalogSubmission(gate))
	if err != nil {
		t.Fatal(err)
	}
	// ?token= sets the session cookie and redirects to the page without it.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(hs.URL+"/runs/"+run.ID+"?token="+tok),
		chromedp.WaitReady(chromedp.CSS(`g.node[data-step="wait"][data-status="Running"]`)),
	); err != nil {
		t.Fatalf("run page: %v", err)
	}
	loadedAt := eval(`window.__sluiceLoadedAt`)
	graph := eval(`document.querySelectorAll("svg#graph g.node").length + " nodes, " +
		[...document.querySelectorAll("svg#graph path.edge")].map(e => e.dataset.from + ">" + e.dataset.to).join(",")`)
	if graph != "2 nodes, wait>report" || loadedAt == "" {
		t.Fatalf("graph: %s (loaded %q)", graph, loadedAt)
	}
	if st := eval(`document.querySelector('g.node[data-step="report"]').dataset.status`); st != "NotStarted" {
		t.Fatalf("report step before the gate: %s", st)
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.WaitReady(chromedp.CSS(`g.node[data-step="wait"][data-status="Finished"]`)),
		chromedp.WaitReady(chromedp.CSS(`g.node[data-step="report"][data-status="Finished"]`)),
		chromedp.WaitReady(chromedp.CSS(`div[data-status="Finished"]`)),
	); err != nil {
		t.Fatalf("live update: %v", err)
	}
	if after := eval(`window.__sluiceLoadedAt`); after != loadedAt {
		t.Fatalf("the page reloaded (%s -> %s); it must update in place", loadedAt, after)
	}
	if info := eval(`document.querySelector('g.node[data-step="wait"] text.info').textContent`); !strings.HasSuffix(info, "s") {
		t.Fatalf("duration of the wait step: %q", info)
	}
	// A step's log, by clicking its node.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`g.node[data-step="wait"] rect`))); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("log").textContent.includes("waiting")`)); err != nil {
		t.Fatalf("log: %v (%s)", err, eval(`document.getElementById("log").textContent`))
	}
	// The pipelines page lists the published pipeline.
	if err := chromedp.Do(ctx, chromedp.Navigate(hs.URL+"/pipelines"),
		chromedp.WaitReady(chromedp.CSS(`a[href="/pipelines/gated"]`))); err != nil {
		t.Fatal(err)
	}
}

// slowParallelYAML: a parallel step over the files of ./items, one per mini-batch; every item but
// item-00 and item-01 waits for the gate file, so the step reports progress (2 of 6 items done)
// until the test opens it.
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

// A running parallel step shows "N/M items · X items/s · ETA · bottleneck" next to its status,
// and on its graph node, until it ends.
func TestRunPageShowsItemsPerSecondOfARunningDataflowStepInHeadlessChromium(t *testing.T) {
	ctx := newBrowser(t)
	eval := evaluator(t, ctx)
	w := newWebStack(t)
	items := filepath.Join(w.root, "items")
	if err := os.MkdirAll(items, 0o755); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 6; i++ {
		if err := os.WriteFile(filepath.Join(items, fmt.Sprintf("item-%02d.txt", i)), []byte(fmt.Sprintf("item %d\n", i)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gate := filepath.Join(w.root, "gate")
	if _, err := w.srv.Catalog.Publish(context.Background(), &state.PipelineVersion{Name: "slowpar", Version: "1", YAML: slowParallelYAML}, true); err != nil {
		t.Fatal(err)
	}
	run, _, err := w.srv.Catalog.Submit(context.Background(), catalog.Submission{Pipeline: "slowpar", Parameters: map[string]string{"gate": gate}})
	if err != nil {
		t.Fatal(err)
	}
	// Reports come every 50ms and the page polls every second; the step waits for the gate, so
	// the page must come to show 2 of 6 items done (the browser's bound is the only deadline).
	if err := chromedp.Do(ctx,
		chromedp.Navigate(w.hs.URL+"/runs/"+run.ID+"?token="+w.tok),
		chromedp.WaitReady(chromedp.CSS(`g.node[data-step="work"][data-status="Running"]`)),
	); err != nil {
		t.Fatalf("run page: %v", err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`(document.querySelector('tr[data-step="work"] span.progress') || {}).textContent?.includes("2/6 items") || false`)); err != nil {
		t.Fatalf("progress of the running step: %v (row %q)", err, eval(`document.querySelector('tr[data-step="work"]')?.textContent || ""`))
	}
	row := eval(`document.querySelector('tr[data-step="work"] td:nth-child(2)').textContent`)
	m := regexp.MustCompile(`^Running 2/6 items · ([0-9.]+) items/s · ETA [0-9.]+ (ms|s|min [0-9]+ s) · [a-z]+-bound$`).FindStringSubmatch(row)
	if m == nil {
		t.Fatalf("status cell of the running step: %q", row)
	}
	if rate, err := strconv.ParseFloat(m[1], 64); err != nil || rate <= 0 {
		t.Fatalf("items/s in %q: %v %v", row, rate, err)
	}
	node := eval(`document.querySelector('g.node[data-step="work"] text.prog').textContent`)
	nm := regexp.MustCompile(`^2/6 · ([0-9.]+) items/s$`).FindStringSubmatch(node)
	if nm == nil {
		t.Fatalf("graph node of the running step: %q", node)
	}
	if rate, err := strconv.ParseFloat(nm[1], 64); err != nil || rate <= 0 {
		t.Fatalf("items/s on the graph node %q: %v %v", node, rate, err)
	}
	t.Logf("running step: %q; node: %q", row, node)
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.WaitReady(chromedp.CSS(`g.node[data-step="work"][data-status="Finished"]`)),
		chromedp.WaitReady(chromedp.CSS(`div[data-status="Finished"]`)),
	); err != nil {
		t.Fatalf("live update: %v", err)
	}
	if left := eval(`(document.querySelector('tr[data-step="work"] span.progress') ? "row " : "") + document.querySelector('g.node[data-step="work"] text.prog').textContent`); left != "" {
		t.Fatalf("the finished step still shows progress: %q", left)
	}
}
