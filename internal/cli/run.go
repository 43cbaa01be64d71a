package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sluice-ml/sluice/engine/compute"
	"github.com/sluice-ml/sluice/engine/executor"
	"github.com/sluice-ml/sluice/engine/spec"
	"github.com/sluice-ml/sluice/internal/wsconfig"
	"github.com/sluice-ml/sluice/store/state"
)

func newRunCmd(e *env) *cobra.Command {
	var sets []string
	var noReuse, detach bool
	var maxParallel int
	cmd := &cobra.Command{
		Use:   "run PIPELINE.yaml [--set k=v]... [--no-reuse] [--detach]",
		Short: "Run a pipeline",
		Args:  argsRange(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			overrides := map[string]string{}
			for _, s := range sets {
				k, v, ok := strings.Cut(s, "=")
				if !ok || k == "" {
					return usagef("--set %q: want NAME=VALUE", s)
				}
				overrides[k] = v
			}
			src, err := os.ReadFile(args[0])
			if err != nil {
				return usageError{fmt.Errorf("pipeline file: %w", err)}
			}
			p, err := spec.Parse(args[0], src)
			if err != nil {
				return err
			}
			// A relative data path given on the command line is relative to where the user is.
			for k, v := range overrides {
				if in, ok := p.Inputs[k]; ok && in.Type.IsPath() && v != "" && !filepath.IsAbs(v) && !strings.Contains(v, "://") {
					if abs, err := filepath.Abs(v); err == nil {
						overrides[k] = abs
					}
				}
			}
			ctx := cmd.Context()
			ws, err := e.open(ctx)
			if err != nil {
				return err
			}
			defer ws.Close()
			if _, err := e.targets(); err != nil { // a bad workspace file: refuse before recording a run
				return err
			}
			rec, lock, err := executor.Submit(ctx, ws, p, src, overrides, noReuse)
			if err != nil {
				return err
			}
			defer lock.Release()
			if detach {
				return e.detach(ws, rec, lock, maxParallel)
			}
			fmt.Fprintf(e.stderr, "run %s: pipeline %s, %d steps\n", rec.ID, p.Name, len(p.Jobs))
			return e.execute(ctx, ws, p, rec.ID, maxParallel)
		},
	}
	cmd.Flags().StringArrayVar(&sets, "set", nil, "set a pipeline input: NAME=VALUE (repeatable)")
	cmd.Flags().BoolVar(&noReuse, "no-reuse", false, "run every step, reusing nothing")
	cmd.Flags().BoolVar(&detach, "detach", false, "run in the background and print the run id")
	cmd.Flags().IntVar(&maxParallel, "max-parallel", 0, "steps running at once (default max(4, CPUs))")
	return cmd
}

// execute runs a submitted run in the foreground: Ctrl-C / SIGTERM cancel it cleanly.
func (e *env) execute(ctx context.Context, ws *state.Workspace, p *spec.Pipeline, id string, maxParallel int) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	opts, err := e.targets()
	if err != nil {
		return err
	}
	opts.MaxParallel = maxParallel
	disp := newDisplay(e.stderr, len(p.Jobs))
	defer disp.close()
	opts.Observe = disp.observe
	final, err := executor.Execute(ctx, ws, p, id, opts)
	disp.close()
	if final != nil {
		printSummary(e.stdout, final)
	}
	return err
}

// workspaceFile reads the workspace file: --workspace-file, else $SLUICE_WORKSPACE_FILE, else
// ./sluice-workspace.yaml; nil (no error) when there is none.
func (e *env) workspaceFile() (*wsconfig.File, error) {
	path := wsconfig.Find(e.wsFile)
	if path == "" {
		return nil, nil
	}
	f, err := wsconfig.Load(path)
	if err != nil {
		return nil, usageError{err}
	}
	return f, nil
}

// targets reads the workspace file (if any) into the executor's compute targets and datastores.
func (e *env) targets() (executor.Options, error) {
	f, err := e.workspaceFile()
	if err != nil {
		return executor.Options{}, err
	}
	reg := compute.NewRegistry()
	for _, t := range f.Targets() {
		reg.Add(t)
	}
	return executor.Options{Targets: reg, Data: f.Resolver()}, nil
}

// detach starts `sluice __exec ID` in a new session, handing it the run's lock, and returns.
func (e *env) detach(ws *state.Workspace, rec *state.Run, lock *state.RunLock, maxParallel int) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("detach: %w", err)
	}
	logPath := filepath.Join(ws.RunDir(rec.ID), "sluice.log")
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return fmt.Errorf("detach: %w", err)
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("detach: %w", err)
	}
	defer logf.Close()
	args := []string{"__exec", "--workspace", ws.Dir(), fmt.Sprintf("--max-parallel=%d", maxParallel), rec.ID}
	if f := wsconfig.Find(e.wsFile); f != "" {
		if abs, err := filepath.Abs(f); err == nil {
			args = append(args, "--workspace-file", abs)
		}
	}
	c := exec.Command(self, args...)
	c.Stdout, c.Stderr = logf, logf
	c.ExtraFiles = []*os.File{lock.File()} // fd 3: the child holds the run's lock from here on
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := c.Start(); err != nil {
		return fmt.Errorf("detach: %w", err)
	}
	_ = c.Process.Release()
	fmt.Fprintf(e.stderr, "run %s started in the background (pid %d); follow it with: sluice runs show %s\n",
		rec.ID, c.Process.Pid, rec.ID)
	fmt.Fprintln(e.stdout, rec.ID)
	return nil
}

// newExecCmd is the hidden command a detached run executes in.
func newExecCmd(e *env) *cobra.Command {
	var maxParallel int
	cmd := &cobra.Command{
		Use:    "__exec RUN_ID",
		Hidden: true,
		Args:   argsRange(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			lock := os.NewFile(3, "run.lock") // inherited from `run --detach`
			if lock == nil {
				return errors.New("__exec: no run lock inherited")
			}
			defer lock.Close()
			ws, err := e.open(ctx)
			if err != nil {
				return err
			}
			defer ws.Close()
			rec, err := ws.GetRun(ctx, args[0])
			if err != nil {
				return err
			}
			p, err := executor.LoadPipeline(rec)
			if err != nil {
				return err
			}
			return e.execute(ctx, ws, p, rec.ID, maxParallel)
		},
	}
	cmd.Flags().IntVar(&maxParallel, "max-parallel", 0, "")
	return cmd
}
