package fakespark

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

//go:embed pyspark/*.py
var stub embed.FS

// ErrNoPython: python3 is not installed (tests skip with testenv.Missing).
var ErrNoPython = errors.New("fakespark: python3 not found")

// Cluster runs driver programs.
type Cluster struct {
	Python string   // default: python3 on $PATH
	Env    []string // the cluster's environment, added to this process's for every driver
	// MaxFailures is spark.task.maxFailures (default 1).
	MaxFailures int

	mu   sync.Mutex
	lose []int
	runs []Run
}

// Lose makes the given tasks of the drivers started from now on fail on every try, as if their
// executor were lost; Lose() ends that.
func (c *Cluster) Lose(tasks ...int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lose = append([]int(nil), tasks...)
}

// Run is one driver program to run.
type Run struct {
	Script   string   // the driver file
	Args     []string // its arguments
	FilesDir string   // the folder SparkFiles reads ("" when the job shipped no files)
	Env      []string // the job's own variables (spark_env_vars, spark.executorEnv.*)
	Dir      string   // working folder (a fresh temporary one when "")
}

// Result is how a driver ended.
type Result struct {
	Stdout, Stderr string
	Err            error // nil when the driver exited 0
}

// LastError is the driver's error line: the last line of stderr (Python's exception), or Err.
func (r Result) LastError() string {
	lines := strings.Split(strings.TrimSpace(r.Stderr), "\n")
	if l := strings.TrimSpace(lines[len(lines)-1]); l != "" {
		return l
	}
	if r.Err != nil {
		return r.Err.Error()
	}
	return ""
}

// Python returns the interpreter the cluster uses, or ErrNoPython.
func (c *Cluster) python() (string, error) {
	if c.Python != "" {
		return c.Python, nil
	}
	p, err := exec.LookPath("python3")
	if err != nil {
		return "", ErrNoPython
	}
	return p, nil
}

// Available reports whether drivers can run here (python3 is installed).
func (c *Cluster) Available() error {
	_, err := c.python()
	return err
}

// Runs lists the drivers run so far.
func (c *Cluster) Runs() []Run {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Run(nil), c.runs...)
}

// Exec runs r to its end; canceling ctx kills it.
func (c *Cluster) Exec(ctx context.Context, r Run) Result {
	c.mu.Lock()
	c.runs = append(c.runs, r)
	lose := c.lose
	c.mu.Unlock()
	py, err := c.python()
	if err != nil {
		return Result{Err: err}
	}
	tmp, err := os.MkdirTemp("", "fakespark-")
	if err != nil {
		return Result{Err: err}
	}
	defer os.RemoveAll(tmp)
	lib := filepath.Join(tmp, "lib")
	if err := fs.WalkDir(stub, "pyspark", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := stub.ReadFile(p)
		if err != nil {
			return err
		}
		dst := filepath.Join(lib, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	}); err != nil {
		return Result{Err: err}
	}
	dir := r.Dir
	if dir == "" {
		dir = filepath.Join(tmp, "work")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return Result{Err: err}
		}
	}
	cmd := exec.CommandContext(ctx, py, append([]string{r.Script}, r.Args...)...)
	cmd.Dir = dir
	ownGroup(cmd)
	lost := make([]string, len(lose))
	for i, t := range lose {
		lost[i] = strconv.Itoa(t)
	}
	cmd.Env = append(append(append(os.Environ(), c.Env...), r.Env...),
		"PYTHONPATH="+lib, "PYTHONDONTWRITEBYTECODE=1", "TMPDIR="+tmp,
		"FAKESPARK_FILES="+r.FilesDir, "FAKESPARK_LOSE_TASKS="+strings.Join(lost, ","),
		fmt.Sprintf("FAKESPARK_MAX_FAILURES=%d", max(1, c.MaxFailures)))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	return Result{Stdout: out.String(), Stderr: errb.String(), Err: err}
}
