package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sluice-ml/sluice/server"
	"github.com/sluice-ml/sluice/store/state"
)

func newSchedulesCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "schedules [list|create|pause ID|resume ID|delete ID]",
		Short: "Manage the schedules of sluice serve (cron and datastore-change triggers)",
		Args:  argsRange(0, 0),
	}
	list := func(cmd *cobra.Command, _ []string) error {
		ws, err := e.open(cmd.Context())
		if err != nil {
			return err
		}
		defer ws.Close()
		ss, err := ws.ListSchedules(cmd.Context())
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tPIPELINE\tKIND\tWHEN\tSTATE\tLAST FIRE")
		for _, s := range ss {
			when := s.Cron
			if s.TimeZone != "" {
				when += " (" + s.TimeZone + ")"
			}
			if s.Kind == state.ScheduleDatastore {
				when = s.WatchPath + " -> " + s.Parameter
			}
			st := "active"
			if s.Paused {
				st = "paused"
			}
			pv := s.Pipeline
			if s.Version != "" {
				pv += ":" + s.Version
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.ID, s.Name, pv, s.Kind, when, st, orDash(s.LastFire))
		}
		return tw.Flush()
	}
	cmd.RunE = list
	cmd.AddCommand(&cobra.Command{Use: "list", Short: "List schedules", Args: argsRange(0, 0), RunE: list})

	var s state.Schedule
	var sets, dataRoots []string
	var root string
	create := &cobra.Command{
		Use:   "create --pipeline NAME (--cron SPEC [--timezone TZ] | --watch DIR --parameter INPUT) [--set k=v]...",
		Short: "Create a schedule of a published pipeline",
		Args:  argsRange(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			switch {
			case s.Pipeline == "":
				return usagef("--pipeline is required")
			case s.Cron != "" && s.WatchPath == "":
				s.Kind = state.ScheduleCron
			case s.WatchPath != "" && s.Cron == "":
				s.Kind = state.ScheduleDatastore
			default:
				return usagef("give either --cron or --watch")
			}
			s.Parameters = map[string]string{}
			for _, kv := range sets {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return usagef("--set %q: want NAME=VALUE", kv)
				}
				s.Parameters[k] = v
			}
			ws, err := e.open(ctx)
			if err != nil {
				return err
			}
			defer ws.Close()
			cfg := server.Config{Workspace: ws, Root: root, DataRoots: dataRoots}
			if err := e.serverWorkspace(&cfg); err != nil {
				return err
			}
			srv, err := server.New(cfg)
			if err != nil {
				return err
			}
			if err := srv.Sched.Validate(ctx, &s); err != nil {
				return usageError{err}
			}
			if err := ws.CreateSchedule(ctx, &s); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "schedule %s created\n", s.ID)
			return nil
		},
	}
	f := create.Flags()
	f.StringVar(&s.Name, "name", "", "a name for the schedule")
	f.StringVar(&s.Pipeline, "pipeline", "", "published pipeline to run")
	f.StringVar(&s.Version, "version", "", "its version (default: the default version at each run)")
	f.StringVar(&s.Cron, "cron", "", `cron spec: 5 fields ("30 2 * * 1-5") or @hourly, @daily, @every 1h`)
	f.StringVar(&s.TimeZone, "timezone", "", "IANA time zone of --cron (default UTC)")
	f.StringVar(&s.WatchPath, "watch", "", "folder or azblob:// prefix whose new or changed files each start a run")
	f.StringVar(&s.Parameter, "parameter", "", "pipeline input that receives each file's path (with --watch)")
	f.StringArrayVar(&sets, "set", nil, "a fixed pipeline input NAME=VALUE (repeatable)")
	f.BoolVar(&s.Paused, "paused", false, "create it paused")
	f.StringVar(&root, "root", ".", "the server's --root")
	f.StringArrayVar(&dataRoots, "data-root", nil, "the server's --data-root (repeatable)")
	cmd.AddCommand(create)

	for _, c := range []struct {
		use, short string
		do         func(ws *state.Workspace, cmd *cobra.Command, id string) error
	}{
		{"pause ID", "Pause a schedule", func(ws *state.Workspace, cmd *cobra.Command, id string) error {
			return ws.SetSchedulePaused(cmd.Context(), id, true)
		}},
		{"resume ID", "Resume a paused schedule", func(ws *state.Workspace, cmd *cobra.Command, id string) error {
			return ws.SetSchedulePaused(cmd.Context(), id, false)
		}},
		{"delete ID", "Delete a schedule (its runs are kept)", func(ws *state.Workspace, cmd *cobra.Command, id string) error {
			return ws.DeleteSchedule(cmd.Context(), id)
		}},
	} {
		c := c
		cmd.AddCommand(&cobra.Command{Use: c.use, Short: c.short, Args: argsRange(1, 1),
			RunE: func(cmd *cobra.Command, args []string) error {
				ws, err := e.open(cmd.Context())
				if err != nil {
					return err
				}
				defer ws.Close()
				if err := c.do(ws, cmd, args[0]); err != nil {
					return err
				}
				verb, _, _ := strings.Cut(c.use, " ")
				fmt.Fprintf(e.stdout, "schedule %s: %s done\n", args[0], verb)
				return nil
			}})
	}
	return cmd
}
