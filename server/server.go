package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/sluice-ml/sluice/engine/compute"
	"github.com/sluice-ml/sluice/engine/executor"
	"github.com/sluice-ml/sluice/server/api"
	"github.com/sluice-ml/sluice/server/catalog"
	"github.com/sluice-ml/sluice/server/metrics"
	"github.com/sluice-ml/sluice/server/runner"
	"github.com/sluice-ml/sluice/server/schedule"
	"github.com/sluice-ml/sluice/server/web"
	"github.com/sluice-ml/sluice/store/datastore"
	"github.com/sluice-ml/sluice/store/state"
)

// Owner is the run owner recorded for runs the server accepts (state.Run.Owner).
const Owner = "server"

// Config sets up a Server.
type Config struct {
	Workspace *state.Workspace
	// Root: relative paths of published pipelines resolve against it; default ".".
	Root string
	// DataRoots: folders (or Blob URI prefixes) data paths must lie inside; default Root.
	DataRoots []string
	// Targets and Data: the workspace file's compute targets and datastore resolver, so that
	// runs execute as `sluice run` executes them (nil: local compute, local paths only). Data
	// also opens the Blob prefixes that datastore-change triggers watch.
	Targets *compute.Registry
	Data    *datastore.Resolver
	// Datastores: Blob roots of the workspace file's datastores (azblob://ACCOUNT or
	// azblob://ACCOUNT/CONTAINER), allowed to data paths besides DataRoots (see package catalog).
	Datastores []string
	// Workers: runs executing at once (default 2); MaxParallel: steps at once within a run.
	Workers     int
	MaxParallel int
	// ScheduleInterval: how often schedules are looked at (default 5s).
	ScheduleInterval time.Duration
	// TLSCert, TLSKey: PEM files; both set serves HTTPS.
	TLSCert, TLSKey string
	// MaxBodyBytes bounds request bodies (default 1 MiB).
	MaxBodyBytes int64
	// Grace: how long shutdown waits for executing runs (default 10s).
	Grace  time.Duration
	Logger *slog.Logger
}

// Server is `sluice serve`.
type Server struct {
	cfg     Config
	ws      *state.Workspace
	Runner  *runner.Runner
	Catalog *catalog.Catalog
	Sched   *schedule.Scheduler
	API     *api.API
	reg     *metrics.Registry
	m       *serverMetrics
}

// New wires a server on an open workspace.
func New(cfg Config) (*Server, error) {
	if cfg.Workspace == nil {
		return nil, errors.New("server: a workspace is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 10 * time.Second
	}
	if cfg.Data == nil {
		cfg.Data = &datastore.Resolver{}
	}
	s := &Server{cfg: cfg, ws: cfg.Workspace, reg: metrics.NewRegistry()}
	s.m = newServerMetrics(s)
	var err error
	s.Runner, err = runner.New(runner.Config{Workspace: cfg.Workspace, Owner: Owner, Workers: cfg.Workers,
		MaxParallel: cfg.MaxParallel, Targets: cfg.Targets, Data: cfg.Data, Observe: s.m.observe, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	s.Catalog, err = catalog.New(catalog.Config{Workspace: cfg.Workspace, Root: cfg.Root, DataRoots: cfg.DataRoots,
		Datastores: cfg.Datastores, Owner: Owner, Notify: func(id string) { _ = s.Runner.Notify(id) }})
	if err != nil {
		return nil, err
	}
	s.Sched, err = schedule.New(schedule.Config{Workspace: cfg.Workspace, Catalog: s.Catalog, Owner: Owner,
		Interval: cfg.ScheduleInterval, Logger: cfg.Logger, OnFire: s.m.fire,
		Watchers: map[string]func(string) (schedule.Watcher, error){
			datastore.SchemeBlob: func(uri string) (schedule.Watcher, error) { return schedule.NewStore(cfg.Data, uri) },
		}})
	if err != nil {
		return nil, err
	}
	s.API = api.New(api.Config{Workspace: cfg.Workspace, Catalog: s.Catalog, Scheduler: s.Sched, Metrics: s.reg.Handler(),
		Web: web.Handler(), Progress: s.m.Progress, MaxBodyBytes: cfg.MaxBodyBytes, SecureCookies: cfg.TLSCert != "", Observe: s.m.request,
		Logger: cfg.Logger})
	return s, nil
}

// Handler is the HTTP handler (API, web view, metrics).
func (s *Server) Handler() http.Handler { return s.API }

// Start starts the workers (resuming queued runs) and the scheduler; both stop when ctx ends
// (the workers through Stop).
func (s *Server) Start(ctx context.Context) error {
	if err := s.Runner.Start(ctx); err != nil {
		return err
	}
	go func() { _ = s.Sched.Run(ctx) }()
	return nil
}

// Stop lets executing runs end within the grace period, then cancels and requeues them.
func (s *Server) Stop() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Grace)
	defer cancel()
	return s.Runner.Close(ctx)
}

// Serve starts everything and serves ln until ctx ends, then shuts down (see the package doc).
// ready, when not nil, is called with the listener's address once requests are accepted.
func (s *Server) Serve(ctx context.Context, ln net.Listener, ready func(addr string)) error {
	schedCtx, stopSched := context.WithCancel(ctx)
	defer stopSched()
	if err := s.Start(schedCtx); err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelWarn),
	}
	if s.cfg.TLSCert != "" || s.cfg.TLSKey != "" {
		cert, err := tls.LoadX509KeyPair(s.cfg.TLSCert, s.cfg.TLSKey)
		if err != nil {
			return fmt.Errorf("serve: TLS: %w", err)
		}
		hs.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		ln = tls.NewListener(ln, hs.TLSConfig)
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	if ready != nil {
		ready(ln.Addr().String())
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	stopSched()
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = hs.Shutdown(shutCtx)
	_ = s.Stop()
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return serveErr
}

// serverMetrics are the Prometheus metrics of the server.
type serverMetrics struct {
	requests    *metrics.Counter
	reqDuration *metrics.Histogram
	runsEnded   *metrics.Counter
	stepDur     *metrics.Histogram
	stepsEnded  *metrics.Counter
	errors      *metrics.Counter
	fires       *metrics.Counter

	mu       sync.Mutex
	started  map[string]time.Time                   // run id + "/" + step -> when it started running
	progress map[string]map[string]compute.Progress // run id -> step -> latest progress, while it runs
}

func newServerMetrics(s *Server) *serverMetrics {
	durations := []float64{0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600}
	m := &serverMetrics{
		requests: metrics.NewCounter("sluice_http_requests_total", "HTTP requests by route and status code.", "route", "code"),
		reqDuration: metrics.NewHistogram("sluice_http_request_duration_seconds", "HTTP request latency by route.",
			[]float64{0.001, 0.005, 0.025, 0.1, 0.5, 2, 10}, "route"),
		runsEnded:  metrics.NewCounter("sluice_run_completions_total", "Runs executed by this server that ended, by final status.", "status"),
		stepDur:    metrics.NewHistogram("sluice_step_duration_seconds", "Duration of executed steps, by final status.", durations, "status"),
		stepsEnded: metrics.NewCounter("sluice_steps_total", "Steps that ended in runs of this server, by final status (Reused included).", "status"),
		errors: metrics.NewCounter("sluice_errors_total",
			"Errors by kind: http_5xx, step_failed, run_failed, schedule_fire.", "kind"),
		fires:    metrics.NewCounter("sluice_schedule_fires_total", "Schedule fires by kind and result (ok, error).", "kind", "result"),
		started:  map[string]time.Time{},
		progress: map[string]map[string]compute.Progress{},
	}
	runs := metrics.NewGaugeFunc("sluice_runs", "Runs in the workspace by status.", func() map[string]float64 {
		out := map[string]float64{}
		counts, err := s.ws.CountRuns(context.Background())
		if err != nil {
			return out
		}
		for _, st := range []state.Status{state.Queued, state.Running, state.Finished, state.Failed, state.Canceled, state.Interrupted} {
			out[string(st)] = float64(counts[st])
		}
		return out
	}, "status")
	queue := metrics.NewGaugeFunc("sluice_run_queue", "Runs of this server waiting for a worker (pending) and executing.",
		func() map[string]float64 {
			return map[string]float64{"pending": float64(s.Runner.Pending()), "executing": float64(s.Runner.Executing())}
		}, "state")
	rate := metrics.NewGaugeFunc("sluice_step_items_per_second",
		"Items per second of running dataflow steps (parallel, dataflow, score), as last reported.",
		func() map[string]float64 {
			return m.progressGauge(func(p compute.Progress) float64 { return p.PerSec })
		}, "run", "step")
	done := metrics.NewGaugeFunc("sluice_step_items_done",
		"Items done by running dataflow steps (parallel, dataflow, score), as last reported.",
		func() map[string]float64 {
			return m.progressGauge(func(p compute.Progress) float64 { return float64(p.Done) })
		}, "run", "step")
	s.reg.Register(runs, queue, rate, done, m.runsEnded, m.stepsEnded, m.stepDur, m.errors, m.fires, m.requests, m.reqDuration)
	return m
}

func (m *serverMetrics) observe(e executor.Event) {
	if e.Step == "" {
		if e.Status != state.Running { // ended, requeued or interrupted: no step of it runs now
			m.mu.Lock()
			delete(m.progress, e.RunID)
			m.mu.Unlock()
		}
		if e.Status.Terminal() {
			m.runsEnded.Inc(string(e.Status))
			if e.Status == state.Failed {
				m.errors.Inc("run_failed")
			}
		}
		return
	}
	key := e.RunID + "/" + e.Step
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case e.Status == state.Running && e.Progress != nil:
		// A report arriving after the step ended (it never should) is not kept.
		if _, ok := m.started[key]; ok {
			steps := m.progress[e.RunID]
			if steps == nil {
				steps = map[string]compute.Progress{}
				m.progress[e.RunID] = steps
			}
			steps[e.Step] = *e.Progress
		}
	case e.Status == state.Running:
		if _, ok := m.started[key]; !ok {
			m.started[key] = e.Time
		}
		m.dropProgress(e.RunID, e.Step) // a new attempt starts from nothing
	case e.Status.Terminal():
		m.dropProgress(e.RunID, e.Step)
		m.stepsEnded.Inc(string(e.Status))
		if t, ok := m.started[key]; ok {
			m.stepDur.Observe(e.Time.Sub(t).Seconds(), string(e.Status))
			delete(m.started, key)
		}
		if e.Status == state.Failed {
			m.errors.Inc("step_failed")
		}
	default:
		m.dropProgress(e.RunID, e.Step)
	}
}

// dropProgress forgets a step's progress; m.mu is held.
func (m *serverMetrics) dropProgress(run, step string) {
	if steps := m.progress[run]; steps != nil {
		delete(steps, step)
		if len(steps) == 0 {
			delete(m.progress, run)
		}
	}
}

// Progress returns the latest progress of each running step of a run that reports it (dataflow
// steps); nil when none does.
func (m *serverMetrics) Progress(run string) map[string]compute.Progress {
	m.mu.Lock()
	defer m.mu.Unlock()
	steps := m.progress[run]
	if len(steps) == 0 {
		return nil
	}
	out := make(map[string]compute.Progress, len(steps))
	for k, v := range steps {
		out[k] = v
	}
	return out
}

// progressGauge is one value of each running step's progress, keyed by run and step.
func (m *serverMetrics) progressGauge(value func(compute.Progress) float64) map[string]float64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]float64{}
	for run, steps := range m.progress {
		for step, p := range steps {
			out[run+"\xff"+step] = value(p)
		}
	}
	return out
}

func (m *serverMetrics) request(route string, code int, d time.Duration) {
	m.requests.Inc(route, strconv.Itoa(code))
	m.reqDuration.Observe(d.Seconds(), route)
	if code >= 500 {
		m.errors.Inc("http_5xx")
	}
}

func (m *serverMetrics) fire(s *state.Schedule, _ string, err error) {
	result := "ok"
	if err != nil {
		result = "error"
		m.errors.Inc("schedule_fire")
	}
	m.fires.Inc(s.Kind, result)
}
