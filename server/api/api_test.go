package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/sluice-ml/sluice/server/api"
	"github.com/sluice-ml/sluice/store/state"
)

// The document and the handlers describe the same routes, both ways.
func TestOpenAPIDocumentsEveryRouteAndNothingElse(t *testing.T) {
	t.Parallel()
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(api.OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	var documented, served []string
	for p, ops := range doc.Paths {
		for m := range ops {
			documented = append(documented, strings.ToUpper(m)+" "+p)
		}
	}
	for _, r := range api.New(api.Config{}).Routes() {
		served = append(served, r.Method+" "+r.Pattern)
	}
	sort.Strings(documented)
	sort.Strings(served)
	if strings.Join(documented, "\n") != strings.Join(served, "\n") {
		t.Fatalf("openapi.json and the routes differ:\ndocumented:\n%s\n\nserved:\n%s", strings.Join(documented, "\n"),
			strings.Join(served, "\n"))
	}
}

func TestPublishSubmitPollFinishedWithOutputsInTheWorkspace(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOpts{workers: 2})
	s.publish("gated", "1", gatedYAML)
	// Publishing the same version again, identically, is fine; with other text it conflicts.
	r := s.do("POST", "/api/v1/pipelines", "/api/v1/pipelines", map[string]any{"name": "gated", "version": "1",
		"description": "test gated", "yaml": gatedYAML}, s.token)
	if r.code != http.StatusOK {
		t.Fatalf("republish: %d %s", r.code, r.body)
	}
	r = s.do("POST", "/api/v1/pipelines", "/api/v1/pipelines", map[string]any{"name": "gated", "version": "1",
		"yaml": gatedYAML + "# changed\n"}, s.token)
	if r.code != http.StatusConflict {
		t.Fatalf("conflicting republish: %d %s", r.code, r.body)
	}
	s.publish("gated", "2", strings.Replace(gatedYAML, "default: 1}", "default: 2}", 1))
	var p api.PipelineJSON
	s.do("GET", "/api/v1/pipelines/{name}", "/api/v1/pipelines/gated", nil, s.token).json(t, &p)
	if p.DefaultVersion != "2" || len(p.Versions) != 2 || len(p.Inputs) != 2 || strings.Join(p.Jobs, ",") != "wait,report" {
		t.Fatalf("pipeline: %+v", p)
	}
	var p2 api.PipelineJSON
	s.do("GET", "/api/v1/pipelines/{name}", "/api/v1/pipelines/gated?version=1", nil, s.token).json(t, &p2)
	if p2.Versions[0].YAML != gatedYAML || p2.Versions[1].YAML != "" || *p2.Inputs[1].Default != "1" {
		t.Fatalf("version 1: %+v", p2)
	}
	if r := s.do("GET", "/api/v1/pipelines/{name}", "/api/v1/pipelines/gated?version=9", nil, s.token); r.code != 404 {
		t.Fatalf("unknown version: %d", r.code)
	}
	if r := s.do("PUT", "/api/v1/pipelines/{name}/default", "/api/v1/pipelines/gated/default",
		map[string]string{"version": "1"}, s.token); r.code != http.StatusOK {
		t.Fatalf("set default: %d %s", r.code, r.body)
	}
	var list struct{ Pipelines []api.PipelineJSON }
	s.do("GET", "/api/v1/pipelines", "/api/v1/pipelines", nil, s.token).json(t, &list)
	if len(list.Pipelines) != 1 || list.Pipelines[0].DefaultVersion != "1" {
		t.Fatalf("list: %+v", list)
	}

	cases := []struct {
		name    string
		body    map[string]any
		wantN   string
		wantVer string
	}{
		{"native body", map[string]any{"parameters": map[string]any{"n": 7}}, "7", "1"},
		{"native body, version 2 default n", map[string]any{"version": "2"}, "2", "2"},
		{"Azure ML body", map[string]any{"ExperimentName": "exp", "ParameterAssignments": map[string]any{"n": "9"}}, "9", "1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.do("POST", "/api/v1/pipelines/{name}/runs", "/api/v1/pipelines/gated/runs", c.body, s.token)
			if r.code != http.StatusCreated {
				t.Fatalf("submit: %d %s", r.code, r.body)
			}
			var sub api.SubmitResponse
			r.json(t, &sub)
			if sub.ID == "" || sub.AzureID != sub.ID || sub.Version != c.wantVer || sub.Parameters["n"] != c.wantN {
				t.Fatalf("submit answer: %+v", sub)
			}
			run := s.waitRun(sub.ID, terminal)
			if run.Status != "Finished" || len(run.Steps) != 2 || run.Version != c.wantVer {
				t.Fatalf("run: %+v", run)
			}
			rep := run.Steps[1]
			if rep.Name != "report" || strings.Join(rep.Upstream, ",") != "wait" || len(rep.Outputs) != 1 || rep.DurationS == nil {
				t.Fatalf("step: %+v", rep)
			}
			// The output is a content-addressed object in the workspace.
			out := rep.Outputs[0]
			if !strings.HasPrefix(out.Value, s.ws.Dir()) || out.Hash == "" {
				t.Fatalf("output %+v not in workspace %s", out, s.ws.Dir())
			}
			b, err := os.ReadFile(filepath.Join(out.Value, "n.txt"))
			if err != nil || string(b) != "waited\nn="+c.wantN+"\n" {
				t.Fatalf("output n.txt: %q %v", b, err)
			}
			logs := s.do("GET", "/api/v1/runs/{id}/logs", "/api/v1/runs/"+sub.ID+"/logs?step=report", nil, s.token)
			if logs.code != http.StatusOK || !strings.Contains(string(logs.body), "reported n="+c.wantN) {
				t.Fatalf("logs: %d %q", logs.code, logs.body)
			}
			all := s.do("GET", "/api/v1/runs/{id}/logs", "/api/v1/runs/"+sub.ID+"/logs", nil, s.token)
			if !strings.Contains(string(all.body), "==> wait (") || !strings.Contains(string(all.body), "==> report (") {
				t.Fatalf("all logs: %q", all.body)
			}
		})
	}
	var runs struct{ Runs []api.RunSummaryJSON }
	s.do("GET", "/api/v1/runs", "/api/v1/runs?pipeline=gated&limit=10", nil, s.token).json(t, &runs)
	if len(runs.Runs) != 3 {
		t.Fatalf("runs: %+v", runs)
	}
	if r := s.do("GET", "/api/v1/runs/{id}/logs", "/api/v1/runs/"+runs.Runs[0].ID+"/logs?step=nope", nil, s.token); r.code != 404 {
		t.Fatalf("unknown step: %d", r.code)
	}
	if r := s.do("GET", "/metrics", "/metrics", nil, s.token); r.code != 200 ||
		!regexp.MustCompile(`(?m)^sluice_runs\{status="Finished"\} 3$`).Match(r.body) ||
		!strings.Contains(string(r.body), `sluice_step_duration_seconds_count{status="Finished"}`) {
		t.Fatalf("metrics: %s", r.body)
	}
}

func TestCancelQueuedAndRunning(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOpts{workers: 1})
	s.publish("gated", "1", gatedYAML)
	gate := filepath.Join(s.root, "never")
	submit := func() string {
		var sub api.SubmitResponse
		s.do("POST", "/api/v1/pipelines/{name}/runs", "/api/v1/pipelines/gated/runs",
			map[string]any{"parameters": map[string]any{"gate": gate}}, s.token).json(t, &sub)
		return sub.ID
	}
	running, queued := submit(), submit()
	s.waitRun(running, func(r api.RunJSON) bool { return r.Steps[0].Status == "Running" })
	var c api.CancelResponse
	r := s.do("POST", "/api/v1/runs/{id}/cancel", "/api/v1/runs/"+queued+"/cancel", nil, s.token)
	r.json(t, &c)
	if r.code != http.StatusOK || c.Status != "Canceled" {
		t.Fatalf("cancel queued: %d %+v", r.code, c)
	}
	r = s.do("POST", "/api/v1/runs/{id}/cancel", "/api/v1/runs/"+running+"/cancel", nil, s.token)
	if r.code != http.StatusAccepted {
		t.Fatalf("cancel running: %d %s", r.code, r.body)
	}
	if run := s.waitRun(running, terminal); run.Status != "Canceled" {
		t.Fatalf("running run: %s", run.Status)
	}
	if r := s.do("POST", "/api/v1/runs/{id}/cancel", "/api/v1/runs/nope/cancel", nil, s.token); r.code != 404 {
		t.Fatalf("cancel unknown: %d", r.code)
	}
}

// concrete turns a route pattern into a path.
func concrete(pattern string) string {
	return strings.NewReplacer("{name}", "gated", "{id}", "x").Replace(pattern)
}

func TestEveryRouteButHealthzNeedsAValidToken(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOpts{workers: 1})
	s.publish("gated", "1", gatedYAML)
	revoked, rec, err := s.ws.CreateToken(context.Background(), "old", state.ScopeWrite)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ws.RevokeToken(context.Background(), rec.ID); err != nil {
		t.Fatal(err)
	}
	reader, _, err := s.ws.CreateToken(context.Background(), "reader", state.ScopeRead)
	if err != nil {
		t.Fatal(err)
	}
	forged := revoked[:len(revoked)-4] + "AAAA"
	for _, rt := range api.New(api.Config{}).Routes() {
		path := concrete(rt.Pattern)
		for _, tok := range []struct{ name, text string }{{"none", ""}, {"revoked", revoked}, {"forged", forged},
			{"garbage", "slc_zz"}} {
			t.Run(rt.Method+" "+rt.Pattern+" "+tok.name, func(t *testing.T) {
				r := s.do(rt.Method, rt.Pattern, path, "{}", tok.text)
				want := http.StatusUnauthorized
				if rt.Pattern == "/healthz" {
					want = http.StatusOK
				}
				if r.code != want {
					t.Fatalf("%d, want %d: %s", r.code, want, r.body)
				}
			})
		}
		if rt.Method != "GET" {
			r := s.do(rt.Method, rt.Pattern, path, "{}", reader)
			if r.code != http.StatusForbidden {
				t.Fatalf("%s %s with a read-only token: %d", rt.Method, path, r.code)
			}
		}
	}
	// A method no route takes: 401 without a token, then a JSON 405 naming the allowed ones.
	for _, tok := range []string{"", s.token} {
		r, err := s.send("DELETE", "/api/v1/runs/x", nil, tok)
		var e api.Error
		if err == nil {
			err = json.Unmarshal(r.body, &e)
		}
		want := map[string]int{"": 401, s.token: 405}[tok]
		if err != nil || r.code != want || e.Error.Message == "" || (want == 405 && r.hdr.Get("Allow") != "GET") {
			t.Fatalf("DELETE /api/v1/runs/x: %d %s %v", r.code, r.body, err)
		}
	}
	if r := s.do("GET", "/api/v1/pipelines", "/api/v1/pipelines", nil, reader); r.code != 200 {
		t.Fatalf("read-only GET: %d", r.code)
	}
	// Revocation takes effect on the next request.
	if r := s.do("GET", "/api/v1/pipelines", "/api/v1/pipelines", nil, s.token); r.code != 200 {
		t.Fatalf("before revoke: %d", r.code)
	}
	toks, _ := s.ws.ListTokens(context.Background())
	if _, err := s.ws.RevokeToken(context.Background(), toks[0].ID); err != nil {
		t.Fatal(err)
	}
	if r := s.do("GET", "/api/v1/pipelines", "/api/v1/pipelines", nil, s.token); r.code != 401 {
		t.Fatalf("after revoke: %d", r.code)
	}
}

func TestBadRequestsAnswerWithJSONErrors(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOpts{workers: 1, maxBody: 4096})
	outside := t.TempDir()
	s.publish("gated", "1", gatedYAML)
	s.publish("files", "1", `inputs:
  data: {type: uri_folder, path: ./data}
jobs:
  ls:
    type: command
    command: ls ${{inputs.d}} > ${{outputs.o}}/ls.txt
    inputs: {d: ${{parent.inputs.data}}}
    outputs: {o: {type: uri_folder}}
`)
	if err := os.MkdirAll(filepath.Join(s.root, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(s.root, "data", "escape")); err != nil {
		t.Fatal(err)
	}
	runs := "/api/v1/pipelines/{name}/runs"
	cases := []struct {
		name, method, pattern, path string
		body                        any
		want                        int
		code                        string
	}{
		{"malformed JSON", "POST", runs, "/api/v1/pipelines/gated/runs", `{"parameters": `, 400, "bad_json"},
		{"two values", "POST", runs, "/api/v1/pipelines/gated/runs", `{} {}`, 400, "bad_json"},
		{"unknown field", "POST", runs, "/api/v1/pipelines/gated/runs", `{"parameterz": {}}`, 422, "invalid"},
		{"unknown field in publish", "POST", "/api/v1/pipelines", "/api/v1/pipelines", `{"name": "a", "yaml": "x", "extra": 1}`, 422, "invalid"},
		{"both bodies", "POST", runs, "/api/v1/pipelines/gated/runs", `{"parameters": {}, "ParameterAssignments": {}}`, 422, "invalid"},
		{"object parameter", "POST", runs, "/api/v1/pipelines/gated/runs", `{"parameters": {"n": {"x": 1}}}`, 422, "invalid"},
		{"wrong type", "POST", runs, "/api/v1/pipelines/gated/runs", `{"parameters": {"n": "seven"}}`, 422, "invalid"},
		{"unknown input", "POST", runs, "/api/v1/pipelines/gated/runs", `{"parameters": {"m": 1}}`, 422, "invalid"},
		{"too large", "POST", runs, "/api/v1/pipelines/gated/runs", `{"parameters": {"gate": "` + strings.Repeat("x", 5000) + `"}}`, 413, "too_large"},
		{"unknown pipeline", "POST", runs, "/api/v1/pipelines/nope/runs", `{}`, 404, "not_found"},
		{"unknown version", "POST", runs, "/api/v1/pipelines/gated/runs", `{"version": "9"}`, 404, "not_found"},
		{"unknown run", "GET", "/api/v1/runs/{id}", "/api/v1/runs/nope", nil, 404, "not_found"},
		{"unknown page", "GET", "/", "/nope", nil, 404, "not_found"},
		{"path outside the roots", "POST", runs, "/api/v1/pipelines/files/runs", map[string]any{"parameters": map[string]any{"data": outside}}, 403, "forbidden"},
		{"relative path escaping", "POST", runs, "/api/v1/pipelines/files/runs", map[string]any{"parameters": map[string]any{"data": "../.."}}, 403, "forbidden"},
		{"symlink escaping", "POST", runs, "/api/v1/pipelines/files/runs", map[string]any{"parameters": map[string]any{"data": "data/escape"}}, 403, "forbidden"},
		{"bad pipeline text", "POST", "/api/v1/pipelines", "/api/v1/pipelines", map[string]any{"name": "bad", "yaml": "jobs: {a: {type: command}}"}, 422, "invalid"},
		{"bad name", "POST", "/api/v1/pipelines", "/api/v1/pipelines", map[string]any{"name": "../x", "yaml": gatedYAML}, 422, "invalid"},
		{"default path outside", "POST", "/api/v1/pipelines", "/api/v1/pipelines", map[string]any{"name": "evil", "yaml": "inputs:\n  d: {type: uri_folder, path: /etc}\njobs:\n  a: {type: command, command: ls ${{inputs.d}}, inputs: {d: ${{parent.inputs.d}}}}\n"}, 403, "forbidden"},
		{"code outside", "POST", "/api/v1/pipelines", "/api/v1/pipelines", map[string]any{"name": "evil2", "yaml": "jobs:\n  a: {type: command, code: ../.., command: ls}\n"}, 403, "forbidden"},
		{"bad cron", "POST", "/api/v1/schedules", "/api/v1/schedules", map[string]any{"pipeline": "gated", "cron": "61 * * * *"}, 422, "invalid"},
		{"bad zone", "POST", "/api/v1/schedules", "/api/v1/schedules", map[string]any{"pipeline": "gated", "cron": "@daily", "timezone": "Mars/Base"}, 422, "invalid"},
		{"watch outside", "POST", "/api/v1/schedules", "/api/v1/schedules", map[string]any{"pipeline": "gated", "watch_path": outside, "parameter": "gate"}, 403, "forbidden"},
		{"watch parameter not a file", "POST", "/api/v1/schedules", "/api/v1/schedules", map[string]any{"pipeline": "gated", "watch_path": s.root, "parameter": "n"}, 422, "invalid"},
		{"unknown schedule", "DELETE", "/api/v1/schedules/{id}", "/api/v1/schedules/nope", nil, 404, "not_found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.do(c.method, c.pattern, c.path, c.body, s.token)
			var e api.Error
			r.json(t, &e)
			if r.code != c.want || e.Error.Code != c.code || e.Error.Message == "" {
				t.Fatalf("%d %+v, want %d %s", r.code, e, c.want, c.code)
			}
		})
	}
	// A path inside the roots is fine.
	if r := s.do("POST", runs, "/api/v1/pipelines/files/runs", map[string]any{"parameters": map[string]any{"data": "data"}}, s.token); r.code != 201 {
		t.Fatalf("inside: %d %s", r.code, r.body)
	}
}

func TestSchedulesCreateListPauseDelete(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOpts{workers: 1})
	s.publish("gated", "1", gatedYAML)
	var cron, watch api.ScheduleJSON
	r := s.do("POST", "/api/v1/schedules", "/api/v1/schedules", map[string]any{"name": "nightly", "pipeline": "gated",
		"cron": "30 2 * * 1-5", "timezone": "Europe/Paris", "parameters": map[string]any{"n": 3}}, s.token)
	r.json(t, &cron)
	if r.code != 201 || cron.Kind != "cron" || cron.Parameters["n"] != "3" {
		t.Fatalf("cron: %d %s", r.code, r.body)
	}
	inbox := filepath.Join(s.root, "inbox")
	if err := os.Mkdir(inbox, 0o755); err != nil {
		t.Fatal(err)
	}
	r = s.do("POST", "/api/v1/schedules", "/api/v1/schedules", map[string]any{"pipeline": "gated", "watch_path": "inbox",
		"parameter": "gate"}, s.token)
	r.json(t, &watch)
	if r.code != 201 || watch.Kind != "datastore" || watch.WatchPath != inbox {
		t.Fatalf("watch: %d %s", r.code, r.body)
	}
	r = s.do("POST", "/api/v1/schedules/{id}/pause", "/api/v1/schedules/"+cron.ID+"/pause", nil, s.token)
	var got api.ScheduleJSON
	r.json(t, &got)
	if !got.Paused {
		t.Fatalf("pause: %s", r.body)
	}
	s.do("POST", "/api/v1/schedules/{id}/resume", "/api/v1/schedules/"+cron.ID+"/resume", nil, s.token).json(t, &got)
	if got.Paused {
		t.Fatal("resume")
	}
	if r := s.do("DELETE", "/api/v1/schedules/{id}", "/api/v1/schedules/"+watch.ID, nil, s.token); r.code != 204 {
		t.Fatalf("delete: %d", r.code)
	}
	var list struct{ Schedules []api.ScheduleJSON }
	s.do("GET", "/api/v1/schedules", "/api/v1/schedules", nil, s.token).json(t, &list)
	if len(list.Schedules) != 1 || list.Schedules[0].ID != cron.ID {
		t.Fatalf("list: %+v", list)
	}
	if r := s.do("GET", "/api/v1/schedules/{id}", "/api/v1/schedules/"+watch.ID, nil, s.token); r.code != 404 {
		t.Fatalf("deleted: %d", r.code)
	}
}

// 1,000 concurrent submits over loopback: the client keeps at most 32 connections, the server
// handles at most 64 requests at once. Every 201 names a distinct run, recorded exactly once,
// and nothing else is recorded.
func TestThousandConcurrentSubmitsAreEachRecordedOnce(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOpts{workers: 1})
	s.publish("gated", "1", gatedYAML)
	gate := filepath.Join(s.root, "gate") // written at cleanup: the runs wait meanwhile
	const n = 1000
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r, err := s.send("POST", "/api/v1/pipelines/gated/runs", map[string]any{"parameters": map[string]any{"gate": gate, "n": i}}, s.token)
			if err == nil && r.code != http.StatusCreated {
				err = fmt.Errorf("submit %d: %d %s", i, r.code, r.body)
			}
			if err == nil {
				var sub api.SubmitResponse
				if err = json.Unmarshal(r.body, &sub); err == nil {
					ids[i] = sub.ID
				}
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	seen := map[string]int{}
	for i, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
		if prev, dup := seen[ids[i]]; dup {
			t.Fatalf("submits %d and %d got the same run %s", prev, i, ids[i])
		}
		seen[ids[i]] = i
	}
	runs, err := s.ws.FindRuns(context.Background(), state.RunFilter{Pipeline: "gated", Limit: 5000})
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != n {
		t.Fatalf("%d runs recorded for %d accepted submits", len(runs), n)
	}
	for _, r := range runs {
		i, ok := seen[r.ID]
		if !ok {
			t.Fatalf("run %s recorded but never answered", r.ID)
		}
		if r.Parameters["n"] != fmt.Sprint(i) {
			t.Fatalf("run %s has n=%s, submit %d sent n=%d", r.ID, r.Parameters["n"], i, i)
		}
		delete(seen, r.ID)
	}
	// Idempotency-Key: a retried submit makes no second run.
	var a, b api.SubmitResponse
	r1 := s.do("POST", "/api/v1/pipelines/{name}/runs", "/api/v1/pipelines/gated/runs", map[string]any{}, s.token, "Idempotency-Key", "k1")
	r1.json(t, &a)
	r2 := s.do("POST", "/api/v1/pipelines/{name}/runs", "/api/v1/pipelines/gated/runs", map[string]any{}, s.token, "Idempotency-Key", "k1")
	r2.json(t, &b)
	if r1.code != 201 || r2.code != 200 || a.ID != b.ID {
		t.Fatalf("idempotent submit: %d %s, %d %s", r1.code, a.ID, r2.code, b.ID)
	}
}
