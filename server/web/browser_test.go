package web_test

import (
	"context"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sluice-ml/sluice/internal/testenv"
	"github.com/sluice-ml/sluice/server"
	"github.com/sluice-ml/sluice/store/state"
)

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

// The run page draws the graph and follows a running step to Finished without a reload.
func TestRunPageShowsGraphAndLiveStatusInHeadlessChromium(t *testing.T) {
	chrome := findChromium()
	if chrome == "" {
		testenv.Missing(t, "chromium is not installed (apt-get install -y chromium); CI installs it — skipping the browser test")
	}
	root := t.TempDir()
	ws, err := state.Open(context.Background(), filepath.Join(root, ".sluice"))
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	srv, err := server.New(server.Config{Workspace: ws, Root: root, Workers: 1, Grace: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(context.Background())
	defer stop()
	if err := srv.Start(sctx); err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	tok, _, err := ws.CreateToken(context.Background(), "browser", state.ScopeRead)
	if err != nil {
		t.Fatal(err)
	}
	gate := filepath.Join(root, "gate")
	defer os.WriteFile(gate, nil, 0o644) // let the step end whatever happens
	if _, err := srv.Catalog.Publish(context.Background(), &state.PipelineVersion{Name: "gated", Version: "1", YAML: gatedYAML}, true); err != nil {
		t.Fatal(err)
	}
	run, _, err := srv.Catalog.Submit(context.Background(), catalogSubmission(gate))
	if err != nil {
		t.Fatal(err)
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
	defer cancelAlloc()
	bctx, cancelBrowser := chromedp.NewContext(actx)
	defer cancelBrowser()
	// A bound for a hung browser only; every wait below is for a state the page must reach.
	ctx, cancel := context.WithTimeout(bctx, 3*time.Minute)
	defer cancel()

	eval := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return v
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
