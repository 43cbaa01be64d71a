package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-ml/sluice/store/manifest"
)

func newDatasetsCmd(e *env) *cobra.Command {
	list := func(cmd *cobra.Command, _ []string) error {
		ws, err := e.open(cmd.Context())
		if err != nil {
			return err
		}
		defer ws.Close()
		ds, err := ws.ListDatasets(cmd.Context())
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "DATASET\tVERSIONS\tLATEST\tHASH\tCREATED\tMADE BY")
		for _, d := range ds {
			by := "-"
			if p := d.Latest.Producer; p.RunID != "" {
				by = fmt.Sprintf("run %s step %s", p.RunID, p.Step)
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\n", d.Name, d.Versions, d.Latest.Version, manifest.Short(d.Latest.Hash),
				d.Latest.Created.Format("2006-01-02 15:04:05"), by)
		}
		return tw.Flush()
	}
	cmd := &cobra.Command{
		Use:   "datasets [list|show NAME[:VERSION]]",
		Short: "List datasets and show versions with their lineage",
		Args:  argsRange(0, 0),
		RunE:  list,
	}
	cmd.AddCommand(&cobra.Command{Use: "list", Short: "List datasets", Args: argsRange(0, 0), RunE: list})
	cmd.AddCommand(&cobra.Command{
		Use:   "show NAME[:VERSION]",
		Short: "Show a dataset's versions, or one version with its files and lineage",
		Args:  argsRange(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			ws, err := e.open(ctx)
			if err != nil {
				return err
			}
			defer ws.Close()
			name, ref, hasRef := strings.Cut(args[0], ":")
			if !hasRef {
				vs, err := ws.ListVersions(ctx, name)
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "VERSION\tHASH\tCREATED\tMADE BY")
				for _, v := range vs {
					by := "-"
					if v.Producer.RunID != "" {
						by = fmt.Sprintf("run %s step %s (%s)", v.Producer.RunID, v.Producer.Step, v.Producer.Output)
					}
					fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", v.Version, manifest.Short(v.Hash), v.Created.Format("2006-01-02 15:04:05"), by)
				}
				return tw.Flush()
			}
			v, err := ws.GetVersion(ctx, name, ref)
			if err != nil {
				return err
			}
			w := e.stdout
			fmt.Fprintf(w, "Dataset:  %s\nVersion:  %d\nHash:     %s\nCreated:  %s\n", v.Name, v.Version, v.Hash,
				v.Created.Format(time.RFC3339))
			fmt.Fprintf(w, "Path:     %s\nContent:  %s\n", v.Object.Path, v.Object.Manifest.Describe())
			if v.Producer.RunID == "" {
				fmt.Fprintln(w, "Lineage:  external data (a pipeline input)")
			} else {
				fmt.Fprintf(w, "Lineage:  run %s, step %s, output %s\n", v.Producer.RunID, v.Producer.Step, v.Producer.Output)
				for _, in := range v.Inputs {
					fmt.Fprintf(w, "  from %-12s %s\n", in.Name, ioText(in))
				}
			}
			fmt.Fprintln(w, "Files:")
			for i, f := range v.Object.Manifest.Entries {
				if i == 20 {
					fmt.Fprintf(w, "  … %d more\n", len(v.Object.Manifest.Entries)-20)
					break
				}
				fmt.Fprintf(w, "  %-40s %10d  %s\n", f.Path, f.Size, manifest.Short(f.SHA256))
			}
			return nil
		},
	})
	return cmd
}
