package cli

import (
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-ml/sluice/server"
	"github.com/sluice-ml/sluice/store/datastore"
)

func newServeCmd(e *env) *cobra.Command {
	var cfg server.Config
	var addr, addrFile string
	cmd := &cobra.Command{
		Use:   "serve [--addr 127.0.0.1:8080]",
		Short: "Serve published pipelines over REST, run schedules, and show the web view",
		Long: `Serve the REST API (see GET /openapi.json), the web view (GET /) and Prometheus metrics
(GET /metrics) on one address. Every route but /healthz needs a bearer token: create one with
'sluice tokens create'. Open the web view once with /?token=TOKEN; a cookie keeps the session.

Runs execute in this process with the workspace's engine, at most --workers at once, with the
compute targets and datastores of the workspace file, found as 'sluice run' finds it
(--workspace-file, $SLUICE_WORKSPACE_FILE, ./sluice-workspace.yaml). Data parameters may point
inside --data-root folders or Blob prefixes, and inside the file's datastores. Accepted runs are
stored before the answer; after a crash or kill they run when the server starts again.`,
		Args: argsRange(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
				return usagef("--tls-cert and --tls-key go together")
			}
			ws, err := e.open(ctx)
			if err != nil {
				return err
			}
			defer ws.Close()
			cfg.Workspace = ws
			if err := e.serverWorkspace(&cfg); err != nil {
				return err
			}
			cfg.Logger = slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
			srv, err := server.New(cfg)
			if err != nil {
				return usageError{err}
			}
			if toks, err := ws.ListTokens(ctx); err == nil && len(toks) == 0 {
				fmt.Fprintln(e.stderr, "sluice serve: no API tokens yet; create one with: sluice tokens create")
			}
			ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
			if err != nil {
				return usageError{fmt.Errorf("serve: %w", err)}
			}
			scheme := "http"
			if cfg.TLSCert != "" {
				scheme = "https"
			}
			return srv.Serve(ctx, ln, func(a string) {
				fmt.Fprintf(e.stderr, "sluice serve: listening on %s://%s (workspace %s)\n", scheme, a, ws.Dir())
				if addrFile != "" {
					_ = os.WriteFile(addrFile+".tmp", []byte(a+"\n"), 0o644)
					_ = os.Rename(addrFile+".tmp", addrFile)
				}
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on (port 0 picks a free port)")
	f.StringVar(&addrFile, "addr-file", "", "write the address listened on to this file once serving")
	f.StringVar(&cfg.Root, "root", ".", "folder that relative paths of published pipelines resolve against")
	f.StringArrayVar(&cfg.DataRoots, "data-root", nil,
		"folder or azblob:// prefix data parameters may point into (repeatable; default --root; the workspace file's datastores are allowed as well)")
	f.IntVar(&cfg.Workers, "workers", 2, "runs executing at once")
	f.IntVar(&cfg.MaxParallel, "max-parallel", 0, "steps running at once within a run (default max(4, CPUs))")
	f.StringVar(&cfg.TLSCert, "tls-cert", "", "PEM certificate file: serve HTTPS")
	f.StringVar(&cfg.TLSKey, "tls-key", "", "PEM private key file of --tls-cert")
	f.Int64Var(&cfg.MaxBodyBytes, "max-body", 1<<20, "largest request body in bytes")
	f.DurationVar(&cfg.ScheduleInterval, "schedule-interval", 5*time.Second, "how often schedules and watched folders are looked at")
	f.DurationVar(&cfg.Grace, "grace", 10*time.Second, "on shutdown, how long executing runs may go on before they are requeued")
	return cmd
}

// serverWorkspace applies the workspace file, found as `sluice run` finds it, to a server's
// configuration: its compute targets, its datastore resolver, and its datastores as Blob data
// roots (azblob://ACCOUNT/CONTAINER, or azblob://ACCOUNT for a datastore naming no container).
func (e *env) serverWorkspace(cfg *server.Config) error {
	opts, err := e.targets()
	if err != nil {
		return err
	}
	cfg.Targets, cfg.Data = opts.Targets, opts.Data
	f, err := e.workspaceFile()
	if err != nil || f == nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(f.Datastores)) {
		d := f.Datastores[name]
		root := datastore.SchemeBlob + "://" + d.Account
		if d.Container != "" {
			root += "/" + d.Container
		}
		cfg.Datastores = append(cfg.Datastores, root)
	}
	return nil
}
