package command

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ml/sluice/engine/spec"
)

func echoBack(t *testing.T, s string) string {
	t.Helper()
	out, err := exec.Command("/bin/sh", "-c", "printf '%s' "+Quote(s)).Output()
	if err != nil {
		t.Fatalf("sh on %q: %v", s, err)
	}
	return string(out)
}

func FuzzQuote(f *testing.F) {
	for _, s := range []string{"", "plain", "with space", "it's", `"$HOME"`, "a;rm -rf /", "$(id)", "`id`", "new\nline", "*", "-n", "\\", "'''"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.IndexByte(s, 0) >= 0 {
			t.Skip("NUL cannot be in an argument")
		}
		if got := echoBack(t, s); got != s {
			t.Fatalf("quoted %q came back as %q", s, got)
		}
	})
}

func TestRenderQuotesEveryValue(t *testing.T) {
	t.Parallel()
	tmpl := &spec.Template{Parts: []spec.TemplatePart{
		{Text: "cp "}, {Ref: &spec.Binding{Kind: spec.BindInput, Name: "src"}},
		{Text: " "}, {Ref: &spec.Binding{Kind: spec.BindOutput, Name: "dst"}},
	}}
	got, err := Render(tmpl, map[string]string{"src": "my file; rm -rf ~"}, map[string]string{"dst": "/out"})
	if err != nil || got != `cp 'my file; rm -rf ~' /out` {
		t.Fatalf("%q %v", got, err)
	}
	if _, err := Render(tmpl, nil, map[string]string{"dst": "/out"}); err == nil {
		t.Fatal("missing input accepted")
	}
}

func TestRunReportsExitAndOutput(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	err := Run(context.Background(), Cmd{Line: "echo out; echo err >&2; exit 7", Dir: t.TempDir(), Output: &out})
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 7 {
		t.Fatalf("err = %v", err)
	}
	if out.String() != "out\nerr\n" {
		t.Fatalf("output %q", out.String())
	}
	if err := Run(context.Background(), Cmd{Line: "kill -9 $$", Output: &out}); !errors.As(err, &ee) || ee.Signal == "" {
		t.Fatalf("signal: %v", err)
	}
}

func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	f := strings.Fields(string(b))
	return len(f) > 2 && f[2] != "Z"
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still alive", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func readPID(t *testing.T, path string) int {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && n > 0 {
			return n
		}
		if time.Now().After(deadline) {
			t.Fatalf("no pid in %s", path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCancelKillsTheWholeGroup(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		// The child ignores SIGTERM: only the SIGKILL after the grace period ends it.
		done <- Run(ctx, Cmd{Line: `sh -c 'trap "" TERM; echo $$ > ` + pidFile + `; while :; do sleep 0.05; done' & wait`,
			Dir: dir, Output: &bytes.Buffer{}, Grace: 200 * time.Millisecond})
	}()
	child := readPID(t, pidFile)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	waitGone(t, child)
}

func TestLeftoverBackgroundProcessesAreEnded(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "bg")
	f, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	start := time.Now()
	if err := Run(context.Background(), Cmd{Line: "sleep 60 & echo $! > " + pidFile, Output: f}); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 30*time.Second {
		t.Fatal("Run waited for a background process")
	}
	waitGone(t, readPID(t, pidFile))
}
