package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/sluice-ml/sluice/engine/executor"
	"github.com/sluice-ml/sluice/engine/spec"
	"github.com/sluice-ml/sluice/internal/wsconfig"
	"github.com/sluice-ml/sluice/store/state"
)

// Exit codes.
const (
	ExitOK     = 0
	ExitFailed = 1
	ExitUsage  = 2
)

// usageError marks an error as bad usage or bad input (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// env is what commands share.
type env struct {
	stdout, stderr io.Writer
	workspace      string
	wsFile         string // --workspace-file: datastores and compute targets (internal/wsconfig)
}

func (e *env) open(ctx context.Context) (*state.Workspace, error) {
	return state.Open(ctx, e.workspace)
}

// Main runs the command line args (without the program name) and returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{stdout: stdout, stderr: stderr}
	root := newRoot(e)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(stderr, "sluice:", err)
	return exitCode(err)
}

func exitCode(err error) int {
	var ue usageError
	var re *executor.RunError
	switch {
	case errors.As(err, &re):
		return ExitFailed
	case errors.As(err, &ue), errors.Is(err, spec.ErrInvalid), errors.Is(err, state.ErrNotFound):
		return ExitUsage
	}
	return ExitFailed
}

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:           "sluice",
		Short:         "Sluice: an embedded engine for ML batch pipelines",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	def := os.Getenv("SLUICE_WORKSPACE")
	if def == "" {
		def = ".sluice"
	}
	root.PersistentFlags().StringVar(&e.workspace, "workspace", def, "workspace folder (env SLUICE_WORKSPACE)")
	root.PersistentFlags().StringVar(&e.wsFile, "workspace-file", "",
		"datastores and compute targets (default: env SLUICE_WORKSPACE_FILE, else ./"+wsconfig.DefaultName+" if present)")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(newRunCmd(e), newExecCmd(e), newRunsCmd(e), newDatasetsCmd(e), newServeCmd(e), newTokensCmd(e),
		newSchedulesCmd(e), newScoreCmd(e))
	root.AddCommand(newStylizeCmd(e))
	root.AddCommand(newInferCmd(e), newModelCmd(e), newBenchCmd(e))
	return root
}

// exactArgs is cobra.ExactArgs with a usage error.
func argsRange(lo, hi int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < lo || len(args) > hi {
			if lo == hi {
				return usagef("%s takes %d argument(s), got %d (see --help)", cmd.CommandPath(), lo, len(args))
			}
			return usagef("%s takes %d to %d arguments, got %d (see --help)", cmd.CommandPath(), lo, hi, len(args))
		}
		return nil
	}
}
