package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-ml/sluice/store/manifest"
	"github.com/sluice-ml/sluice/store/state"
)

func newRunsCmd(e *env) *cobra.Command {
	var limit int
	list := func(cmd *cobra.Command, _ []string) error {
		ws, err := e.open(cmd.Context())
		if err != nil {
			return err
		}
		defer ws.Close()
		runs, err := ws.ListRuns(cmd.Context(), limit)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "RUN\tPIPELINE\tSTATUS\tCREATED\tDURATION")
		for _, r := range runs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.Pipeline, r.Status, r.Created.Format("2006-01-02 15:04:05"),
				duration(r.Started, r.Ended))
		}
		return tw.Flush()
	}
	cmd := &cobra.Command{
		Use:   "runs [list|show ID|logs ID [STEP]|cancel ID]",
		Short: "List, inspect and cancel runs",
		Args:  argsRange(0, 0),
		RunE:  list,
	}
	cmd.PersistentFlags().IntVar(&limit, "limit", 50, "runs to list")
	cmd.AddCommand(&cobra.Command{Use: "list", Short: "List runs, newest first", Args: argsRange(0, 0), RunE: list})

	var asJSON bool
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show a run: status, parameters, steps with times, reuse, inputs and outputs",
		Args:  argsRange(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ws, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			defer ws.Close()
			r, err := ws.GetRun(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(runJSON(r))
			}
			printRun(e.stdout, r)
			return nil
		},
	}
	show.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(show)

	cmd.AddCommand(&cobra.Command{
		Use:   "logs ID [STEP]",
		Short: "Print the logs of a run's steps",
		Args:  argsRange(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ws, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			defer ws.Close()
			r, err := ws.GetRun(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			found := false
			for _, s := range r.Steps {
				if len(args) == 2 && s.Name != args[1] {
					continue
				}
				found = true
				if len(args) == 1 {
					fmt.Fprintf(e.stdout, "==> %s (%s) <==\n", s.Name, s.Status)
				}
				if s.LogPath == "" {
					if len(args) == 2 {
						fmt.Fprintf(e.stderr, "step %s has no log (%s)\n", s.Name, s.Status)
					}
					continue
				}
				if err := copyFile(e.stdout, s.LogPath); err != nil {
					return err
				}
			}
			if !found {
				return usagef("run %s has no step %q", r.ID, args[1])
			}
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "cancel ID",
		Short: "Cancel a queued or running run",
		Args:  argsRange(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ws, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			defer ws.Close()
			r, err := ws.GetRun(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			st, err := ws.RequestCancel(cmd.Context(), r.ID)
			if err != nil {
				return err
			}
			switch {
			case st == state.Canceled:
				fmt.Fprintf(e.stdout, "run %s canceled\n", r.ID)
			case st.Terminal():
				fmt.Fprintf(e.stdout, "run %s already ended: %s\n", r.ID, st)
			default:
				fmt.Fprintf(e.stdout, "run %s: cancel requested; its steps are being stopped\n", r.ID)
			}
			return nil
		},
	})
	return cmd
}

func copyFile(w io.Writer, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("log: %w", err)
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

func duration(a, b time.Time) string {
	if a.IsZero() {
		return "-"
	}
	if b.IsZero() {
		return time.Since(a).Round(time.Millisecond).String() + "…"
	}
	return b.Sub(a).Round(time.Millisecond).String()
}

func clock(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format("15:04:05.000")
}

func ioText(io state.IO) string {
	if io.Hash == "" {
		return io.Value
	}
	s := ""
	if io.Dataset != "" {
		s = fmt.Sprintf("%s:%d ", io.Dataset, io.Version)
	}
	return s + "@" + manifest.Short(io.Hash) + "  " + io.Value
}

func printRun(w io.Writer, r *state.Run) {
	fmt.Fprintf(w, "Run:        %s\n", r.ID)
	fmt.Fprintf(w, "Pipeline:   %s", r.Pipeline)
	if r.PipelineFile != "" {
		fmt.Fprintf(w, " (%s)", r.PipelineFile)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "Status:     %s\n", r.Status)
	fmt.Fprintf(w, "Created:    %s\n", r.Created.Format(time.RFC3339))
	fmt.Fprintf(w, "Duration:   %s\n", duration(r.Started, r.Ended))
	if len(r.Parameters) > 0 {
		keys := make([]string, 0, len(r.Parameters))
		for k := range r.Parameters {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var kv []string
		for _, k := range keys {
			kv = append(kv, k+"="+r.Parameters[k])
		}
		fmt.Fprintf(w, "Parameters: %s\n", strings.Join(kv, " "))
	}
	if r.NoReuse {
		fmt.Fprintln(w, "Reuse:      off (--no-reuse)")
	}
	if r.Message != "" {
		fmt.Fprintf(w, "Message:    %s\n", r.Message)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tSTATUS\tATTEMPTS\tSTARTED\tENDED\tDURATION\tNOTE")
	for _, s := range r.Steps {
		note := ""
		switch {
		case s.Status == state.Reused:
			note = "reused from run " + s.ReusedFrom
		case s.Message != "":
			note = firstLine(s.Message)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", s.Name, s.Status, s.Attempts, clock(s.Started), clock(s.Ended),
			duration(s.Started, s.Ended), note)
	}
	tw.Flush()
	for _, s := range r.Steps {
		if len(s.Inputs)+len(s.Outputs) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s:\n", s.Name)
		for _, in := range s.Inputs {
			fmt.Fprintf(w, "  in   %-12s %s\n", in.Name, ioText(in))
		}
		for _, out := range s.Outputs {
			fmt.Fprintf(w, "  out  %-12s %s\n", out.Name, ioText(out))
		}
		if s.LogPath != "" {
			fmt.Fprintf(w, "  log  %s\n", relToCwd(s.LogPath))
		}
	}
}

// printSummary is what `sluice run` prints at the end.
func printSummary(w io.Writer, r *state.Run) {
	var reused, ran []string
	for _, s := range r.Steps {
		switch s.Status {
		case state.Reused:
			reused = append(reused, s.Name)
		case state.Finished, state.Failed:
			ran = append(ran, s.Name)
		}
	}
	fmt.Fprintf(w, "run %s %s in %s", r.ID, r.Status, duration(r.Started, r.Ended))
	fmt.Fprintf(w, "; ran: %s; reused: %s\n", listOrNone(ran), listOrNone(reused))
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func relToCwd(p string) string {
	if wd, err := os.Getwd(); err == nil {
		if rel, err := filepath.Rel(wd, p); err == nil && !strings.HasPrefix(rel, "..") {
			return rel
		}
	}
	return p
}

type stepJSON struct {
	Name       string     `json:"name"`
	Status     string     `json:"status"`
	Attempts   int        `json:"attempts"`
	Started    *time.Time `json:"started"`
	Ended      *time.Time `json:"ended"`
	Reused     bool       `json:"reused"`
	ReusedFrom string     `json:"reused_from,omitempty"`
	Message    string     `json:"message,omitempty"`
	Log        string     `json:"log,omitempty"`
	Inputs     []state.IO `json:"inputs,omitempty"`
	Outputs    []state.IO `json:"outputs,omitempty"`
}

type runJSONT struct {
	ID         string            `json:"id"`
	Pipeline   string            `json:"pipeline"`
	Status     string            `json:"status"`
	Parameters map[string]string `json:"parameters"`
	Created    time.Time         `json:"created"`
	Started    *time.Time        `json:"started"`
	Ended      *time.Time        `json:"ended"`
	Message    string            `json:"message,omitempty"`
	Steps      []stepJSON        `json:"steps"`
}

func tp(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func runJSON(r *state.Run) runJSONT {
	out := runJSONT{ID: r.ID, Pipeline: r.Pipeline, Status: string(r.Status), Parameters: r.Parameters,
		Created: r.Created, Started: tp(r.Started), Ended: tp(r.Ended), Message: r.Message}
	for _, s := range r.Steps {
		out.Steps = append(out.Steps, stepJSON{Name: s.Name, Status: string(s.Status), Attempts: s.Attempts,
			Started: tp(s.Started), Ended: tp(s.Ended), Reused: s.Status == state.Reused, ReusedFrom: s.ReusedFrom,
			Message: s.Message, Log: s.LogPath, Inputs: s.Inputs, Outputs: s.Outputs})
	}
	return out
}
