package cli_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// serveProc is `sluice serve` running as a child process (the test binary as the CLI).
type serveProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	url  string
	tok  string
	logs *bytes.Buffer
}

// startServe starts `sluice serve` in dir with extra environment variables env.
func startServe(t *testing.T, dir, tok string, env ...string) *serveProc {
	t.Helper()
	addrFile := filepath.Join(dir, "addr")
	os.Remove(addrFile)
	c := command(dir, "serve", "--addr", "127.0.0.1:0", "--addr-file", addrFile, "--workers", "1", "--root", dir,
		"--schedule-interval", "50ms", "--grace", "100ms")
	c.Env = append(c.Env, env...)
	var logs bytes.Buffer
	c.Stdout, c.Stderr = &logs, &logs
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serveProc{t: t, cmd: c, tok: tok, logs: &logs}
	t.Cleanup(func() {
		if c.ProcessState == nil {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	})
	waitFor(t, "the server to listen", func() bool {
		b, err := os.ReadFile(addrFile)
		if err == nil && len(b) > 0 {
			p.url = "http://" + strings.TrimSpace(string(b))
			return true
		}
		return false
	})
	return p
}

func (p *serveProc) call(method, path string, body any, out any) int {
	p.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, p.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+p.tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatalf("%s %s: %v\nserver log:\n%s", method, path, err, p.logs)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			p.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, b)
		}
	}
	return res.StatusCode
}

const serveYAML = `name: gated
inputs:
  n: {type: integer, default: 0}
  dir: {type: string}
  file: {type: uri_file, optional: true}
jobs:
  wait:
    type: command
    command: touch ${{inputs.dir}}/started-${{inputs.n}}; while [ ! -e ${{inputs.dir}}/gate ]; do sleep 0.05; done; echo done > ${{outputs.out}}/n.txt
    inputs: {n: ${{parent.inputs.n}}, dir: ${{parent.inputs.dir}}}
    outputs: {out: {type: uri_folder}}
`

// SIGKILL of the server with one run executing and three queued, and a file dropped into a
// watched folder while it is down: after a restart, all four runs finish and the file starts
// exactly one run.
func TestServeSIGKILLLosesNoAcceptedRunAndPicksUpFilesThatArrivedMeanwhile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := mustRun(t, dir, "tokens", "create", "--name", "e2e")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	tok := lines[len(lines)-1]
	if !strings.HasPrefix(tok, "slc_") || strings.Contains(tok, " ") {
		t.Fatalf("tokens create: last line %q", tok)
	}
	if err := os.Mkdir(filepath.Join(dir, "inbox"), 0o755); err != nil {
		t.Fatal(err)
	}
	srv := startServe(t, dir, tok)
	if code := srv.call("POST", "/api/v1/pipelines", map[string]any{"name": "gated", "version": "1", "yaml": serveYAML}, nil); code != 201 {
		t.Fatalf("publish: %d", code)
	}
	// Each file dropped into inbox/ starts a run with n=100 reading it.
	if code := srv.call("POST", "/api/v1/schedules", map[string]any{"pipeline": "gated", "watch_path": "inbox", "parameter": "file",
		"parameters": map[string]any{"n": 100, "dir": dir}}, nil); code != 201 {
		t.Fatalf("schedule: %d", code)
	}
	var ids []string
	for n := 1; n <= 4; n++ {
		var sub struct{ ID string }
		if code := srv.call("POST", "/api/v1/pipelines/gated/runs", map[string]any{"parameters": map[string]any{"n": n, "dir": dir}}, &sub); code != 201 {
			t.Fatalf("submit: %d", code)
		}
		ids = append(ids, sub.ID)
	}
	waitFor(t, "run 1 to execute", func() bool { _, err := os.Stat(filepath.Join(dir, "started-1")); return err == nil })
	statuses := func() []string {
		var out []string
		for _, id := range ids {
			var run struct{ Status string }
			srv.call("GET", "/api/v1/runs/"+id, nil, &run)
			out = append(out, run.Status)
		}
		return out
	}
	if got := strings.Join(statuses(), " "); got != "Running Queued Queued Queued" {
		t.Fatalf("before the kill: %s", got)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = srv.cmd.Wait()

	// While it is down: a file arrives, and the gate opens.
	if err := os.WriteFile(filepath.Join(dir, "inbox", "new.txt"), []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "gate"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	// A CLI command in between does not take the server's queue away.
	if out := mustRun(t, dir, "runs", "list").stdout; strings.Contains(out, "Interrupted") {
		t.Fatalf("runs list marked server runs Interrupted:\n%s", out)
	}

	srv = startServe(t, dir, tok)
	waitFor(t, "all four runs to end", func() bool {
		for _, s := range statuses() {
			if s != "Finished" && s != "Failed" && s != "Canceled" && s != "Interrupted" {
				return false
			}
		}
		return true
	})
	if got := strings.Join(statuses(), " "); got != "Finished Finished Finished Finished" {
		t.Fatalf("after the restart: %s\nserver log:\n%s", got, srv.logs)
	}
	var triggered []string
	waitFor(t, "the file's run to finish", func() bool {
		var list struct{ Runs []struct{ ID, Status string } }
		srv.call("GET", "/api/v1/runs?pipeline=gated", nil, &list)
		triggered = nil
		done := true
		for _, r := range list.Runs {
			var run struct {
				Status     string
				Parameters map[string]string
			}
			srv.call("GET", "/api/v1/runs/"+r.ID, nil, &run)
			if run.Parameters["file"] != "" {
				triggered = append(triggered, filepath.Base(run.Parameters["file"]))
				done = done && run.Status == "Finished"
			}
		}
		return len(triggered) > 0 && done
	})
	if fmt.Sprint(triggered) != "[new.txt]" {
		t.Fatalf("trigger runs: %v", triggered)
	}
	// Schedules from the command line, on the same workspace.
	out := mustRun(t, dir, "schedules", "create", "--pipeline", "gated", "--cron", "30 2 * * 1-5", "--timezone", "Europe/Paris",
		"--set", "dir="+dir, "--root", dir).stdout
	id := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(out), "schedule "), " created")
	mustRun(t, dir, "schedules", "pause", id)
	if list := mustRun(t, dir, "schedules", "list").stdout; !strings.Contains(list, id) || !strings.Contains(list, "paused") ||
		!strings.Contains(list, "Europe/Paris") || !strings.Contains(list, "inbox -> file") {
		t.Fatalf("schedules list:\n%s", list)
	}
	mustRun(t, dir, "schedules", "delete", id)
	if r := sluice(t, dir, "schedules", "create", "--pipeline", "gated", "--cron", "bad"); r.code != 2 {
		t.Fatalf("bad cron: exit %d", r.code)
	}
	// SIGTERM: a clean stop.
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := srv.cmd.Wait(); err != nil {
		t.Fatalf("serve after SIGTERM: %v\n%s", err, srv.logs)
	}
}

func TestTokensListAndRevoke(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	r := mustRun(t, dir, "tokens", "create", "--name", "ci", "--read-only")
	if !strings.Contains(r.stdout, "scope read") {
		t.Fatalf("create: %s", r.stdout)
	}
	list := mustRun(t, dir, "tokens", "list").stdout
	tok := strings.TrimSpace(r.stdout[strings.LastIndex(strings.TrimSpace(r.stdout), "\n")+1:])
	if !strings.Contains(list, "ci") || !strings.Contains(list, "active") || strings.Contains(list, tok) {
		t.Fatalf("list:\n%s", list)
	}
	mustRun(t, dir, "tokens", "revoke", "ci")
	if list := mustRun(t, dir, "tokens", "list").stdout; !strings.Contains(list, "revoked") {
		t.Fatalf("after revoke:\n%s", list)
	}
	if r := sluice(t, dir, "tokens", "revoke", "nope"); r.code != 2 {
		t.Fatalf("revoke unknown: exit %d", r.code)
	}
}
