package command

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/sluice-ml/sluice/engine/spec"
)

// Quote quotes s for a POSIX shell so that it is passed as exactly one word.
func Quote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=+,@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Render substitutes ${{inputs.X}} and ${{outputs.Y}} in t with the quoted values.
// An optional input without a value renders as nothing; any other missing value is an error.
func Render(t *spec.Template, inputs, outputs map[string]string) (string, error) {
	if t == nil {
		return "", errors.New("no command")
	}
	var b strings.Builder
	for _, p := range t.Parts {
		if p.Ref == nil {
			b.WriteString(p.Text)
			continue
		}
		src := inputs
		if p.Ref.Kind == spec.BindOutput {
			src = outputs
		}
		v, ok := src[p.Ref.Name]
		if !ok {
			return "", fmt.Errorf("%s: %s has no value", p.Ref.Pos, p.Ref)
		}
		b.WriteString(Quote(v))
	}
	return b.String(), nil
}

// Cmd is a command line to run.
type Cmd struct {
	Line   string    // passed to sh -c
	Dir    string    // working folder
	Env    []string  // full environment
	Output io.Writer // stdout and stderr
	// Grace is how long the process group gets between SIGTERM and SIGKILL on cancellation
	// (default 5s).
	Grace time.Duration
}

// ExitError is a command that ran and exited non-zero (or was killed by a signal).
type ExitError struct {
	Code   int    // -1 when killed by a signal
	Signal string // the signal's name when killed by one
}

func (e *ExitError) Error() string {
	if e.Signal != "" {
		return "killed by signal " + e.Signal
	}
	return fmt.Sprintf("exit status %d", e.Code)
}

// Run runs c and waits for it. When ctx ends first, the whole process group gets SIGTERM, then
// SIGKILL after the grace period, and Run returns ctx's error (wrapped). When the leader exits,
// any process it left behind in its group is killed: a step owns nothing after it ends.
func Run(ctx context.Context, c Cmd) error {
	cmd := exec.Command("/bin/sh", "-c", c.Line)
	cmd.Dir = c.Dir
	cmd.Env = c.Env
	cmd.Stdout = c.Output
	cmd.Stderr = c.Output
	// Setpgid: one group for the step's processes; Pdeathsig: the shell dies with us.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	// A background process that keeps the output pipe open must not hold Wait forever.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting sh: %w", err)
	}
	pgid := cmd.Process.Pid
	grace := c.Grace
	if grace <= 0 {
		grace = 5 * time.Second
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		select {
		case <-done:
		case <-ctx.Done():
			_ = syscall.Kill(-pgid, syscall.SIGTERM)
			t := time.NewTimer(grace)
			defer t.Stop()
			select {
			case <-done:
			case <-t.C:
				_ = syscall.Kill(-pgid, syscall.SIGKILL)
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	<-stopped
	_ = syscall.Kill(-pgid, syscall.SIGKILL) // leftovers of the group
	if ctx.Err() != nil {
		return fmt.Errorf("command stopped: %w", context.Cause(ctx))
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return &ExitError{Code: -1, Signal: ws.Signal().String()}
		}
		return &ExitError{Code: ee.ExitCode()}
	}
	if err != nil {
		return fmt.Errorf("running command: %w", err)
	}
	return nil
}
