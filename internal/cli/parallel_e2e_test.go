package cli_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-ml/sluice/internal/testenv"
)

// copyExample copies examples/<name> into a fresh folder and returns it.
func copyExample(t *testing.T, name string) string {
	t.Helper()
	src := filepath.Join("..", "..", "examples", name)
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, info.Mode().Perm())
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func countLines(path string) int {
	b, _ := os.ReadFile(path)
	return strings.Count(string(b), "\n")
}

// examples/parallel: kill -9 in the middle of the parallel step, run again: the mini-batches
// committed before the kill are not run again and every file is in the output exactly once.
func TestParallelExampleKill9ResumesExactlyOnce(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"/bin/sh", "wc", "head", "cut", "sleep"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Missing(t, "%s (for examples/parallel)", tool)
		}
	}
	dir := copyExample(t, "parallel")
	side := filepath.Join(dir, "side.log")
	c := command(dir, "run", "pipeline.yaml")
	c.Env = append(c.Env, "SLOW=0.1", "SIDE="+side)
	var errb bytes.Buffer
	c.Stderr = &errb
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill once two mini-batches are committed (their files are in the step's state folder;
	// the ledger records a mini-batch just after its file, so at least one is recorded).
	committed := func() int {
		m, _ := filepath.Glob(filepath.Join(dir, ".sluice", "state", "*", "out", "part-*.txt"))
		return len(m)
	}
	waitFor(t, "two committed mini-batches", func() bool { return committed() >= 2 })
	if err := c.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c.Wait()
	id := runID(t, result{stderr: errb.String()})
	// The commands die with sluice; wait until nothing writes any more.
	for n := -1; n != countLines(side); {
		n = countLines(side)
		time.Sleep(300 * time.Millisecond)
	}
	before := countLines(side)
	if rj := showRun(t, dir, id); rj.Status != "Interrupted" || before >= 40 {
		t.Fatalf("after kill -9: run %s, %d files handled", rj.Status, before)
	}

	rc := command(dir, "run", "pipeline.yaml")
	rc.Env = append(rc.Env, "SIDE="+side)
	var rout, rerr bytes.Buffer
	rc.Stdout, rc.Stderr = &rout, &rerr
	if err := rc.Run(); err != nil {
		t.Fatalf("rerun: %v\n%s", err, rerr.String())
	}
	r := result{stdout: rout.String(), stderr: rerr.String()}
	rj := showRun(t, dir, runID(t, r))
	if st := statuses(rj); st["stats"] != "Finished" {
		t.Fatalf("rerun: %v", st)
	}
	again := countLines(side) - before
	logText, err := os.ReadFile(filepath.Join(dir, ".sluice", "runs", rj.ID, "logs", "stats.log"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(\d+) mini-batches committed by an earlier run`).FindSubmatch(logText)
	if m == nil {
		t.Fatalf("no resume figures in the log:\n%s", logText)
	}
	skipped, _ := strconv.Atoi(string(m[1]))
	t.Logf("killed after %d files; the rerun skipped %d committed mini-batches and handled %d files", before, skipped, again)
	if skipped < 1 || again == 0 || again > 40-5*skipped {
		t.Errorf("rerun skipped %d mini-batches and handled %d files (of 40)", skipped, again)
	}
	// Every file exactly once, in input order, doc-13 (empty) as an error line.
	var out string
	for _, s := range rj.Steps {
		if s.Name == "stats" {
			out = s.Outputs[0].Value
		}
	}
	data, err := os.ReadFile(filepath.Join(out, "stats.txt"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 40 {
		t.Fatalf("%d lines in stats.txt, want 40", len(lines))
	}
	for i, l := range lines {
		name := fmt.Sprintf("doc-%02d.txt ", i+1)
		if !strings.HasPrefix(l, name) || (i+1 == 13) != strings.Contains(l, "ERROR: empty file") {
			t.Errorf("line %d: %q", i+1, l)
		}
	}
	if !strings.HasPrefix(lines[1], "doc-02.txt 3 lines, 21 words, 98 bytes, first word: omicron") {
		t.Errorf("doc-02: %q", lines[1])
	}
}

// Crossing error_threshold fails the run: exit 1 and a message naming the threshold.
func TestParallelExampleThresholdExits1(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("wc"); err != nil {
		testenv.Missing(t, "wc (for examples/parallel)")
	}
	dir := copyExample(t, "parallel")
	r := sluice(t, dir, "run", "pipeline.yaml", "--set", "max_errors=0")
	if r.code != 1 || !strings.Contains(r.stderr, "error_threshold exceeded: 1 failed items > 0 allowed (of ") {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if st := statuses(showRun(t, dir, runID(t, r))); st["stats"] != "Failed" {
		t.Errorf("steps: %v", st)
	}
}
