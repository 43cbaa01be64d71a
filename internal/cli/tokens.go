package cli

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-ml/sluice/store/state"
)

func newTokensCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "tokens create|list|revoke",
		Short: "Manage the API tokens of sluice serve",
		Args:  argsRange(0, 0),
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	var name string
	var readOnly bool
	create := &cobra.Command{
		Use:   "create [--name NAME] [--read-only]",
		Short: "Create a token; it is printed once, alone on the last line, and stored only hashed",
		Args:  argsRange(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ws, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			defer ws.Close()
			scope := state.ScopeWrite
			if readOnly {
				scope = state.ScopeRead
			}
			text, t, err := ws.CreateToken(cmd.Context(), name, scope)
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "token %s (name %q, scope %s) created; it is shown only now:\n", t.ID, t.Name, t.Scope)
			fmt.Fprintln(e.stdout, text)
			return nil
		},
	}
	create.Flags().StringVar(&name, "name", "", "a name to recognise the token by")
	create.Flags().BoolVar(&readOnly, "read-only", false, "the token may only read (GET routes)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List tokens (never the tokens themselves)",
		Args:  argsRange(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ws, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			defer ws.Close()
			toks, err := ws.ListTokens(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tSCOPE\tCREATED\tLAST USED\tSTATE")
			for _, t := range toks {
				st := "active"
				if t.Revoked {
					st = "revoked"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, t.Scope, t.Created.Format(time.DateTime),
					orDash(t.LastUsed), st)
			}
			return tw.Flush()
		},
	}
	revoke := &cobra.Command{
		Use:   "revoke ID|NAME",
		Short: "Revoke a token; the server refuses it from the next request on",
		Args:  argsRange(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ws, err := e.open(cmd.Context())
			if err != nil {
				return err
			}
			defer ws.Close()
			t, err := ws.RevokeToken(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "token %s (%s) revoked\n", t.ID, t.Name)
			return nil
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}

func orDash(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format(time.DateTime)
}
