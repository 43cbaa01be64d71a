package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/sluice-ml/sluice/engine/compute"
	"github.com/sluice-ml/sluice/engine/executor"
	"github.com/sluice-ml/sluice/store/datastore"
	"github.com/sluice-ml/sluice/store/state"
)

// ErrClosed is returned by Notify after Close.
var ErrClosed = errors.New("runner: closed")

// Config sets up a Runner.
type Config struct {
	Workspace *state.Workspace
	// Owner names the queue in the workspace (state.Run.Owner); runs of other owners are never
	// touched. Required.
	Owner string
	// Workers bounds the runs executing at once (default 2).
	Workers int
	// MaxParallel bounds the steps running at once within one run (executor default when 0).
	MaxParallel int
	// Targets and Data are the workspace file's compute targets and datastores, as `sluice run`
	// uses them (executor.Options); nil: the executor's defaults (local compute, local paths).
	Targets *compute.Registry
	Data    *datastore.Resolver
	// Observe, when set, receives every status event of every run, from several goroutines.
	Observe func(executor.Event)
	// Logger receives one line per run start and end (default slog.Default()).
	Logger *slog.Logger
}

// Runner is the worker pool. Start it, Notify it of each run recorded with its Owner, Close it.
type Runner struct {
	cfg Config

	mu      sync.Mutex
	queue   []string
	known   map[string]bool // queued or executing
	closed  bool
	wake    chan struct{}
	running map[string]context.CancelCauseFunc

	wg sync.WaitGroup
}

// errShutdown is the cause given to runs stopped by Close; they are requeued.
var errShutdown = errors.New("the server is shutting down")

// New makes a Runner; nothing runs until Start.
func New(cfg Config) (*Runner, error) {
	if cfg.Workspace == nil || cfg.Owner == "" {
		return nil, fmt.Errorf("runner: a workspace and an owner are required")
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Runner{cfg: cfg, known: map[string]bool{}, wake: make(chan struct{}, 1),
		running: map[string]context.CancelCauseFunc{}}, nil
}

// Start loads the owner's Queued runs (oldest first) and starts the workers.
func (r *Runner) Start(ctx context.Context) error {
	ids, err := r.cfg.Workspace.QueuedRuns(ctx, r.cfg.Owner)
	if err != nil {
		return err
	}
	if len(ids) > 0 {
		r.cfg.Logger.Info("resuming queued runs", "count", len(ids))
	}
	for _, id := range ids {
		_ = r.Notify(id)
	}
	for i := 0; i < r.cfg.Workers; i++ {
		r.wg.Add(1)
		go r.work()
	}
	return nil
}

// Notify adds a recorded Queued run to the in-memory queue; a run already queued or executing
// is ignored. It never blocks.
func (r *Runner) Notify(id string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	if r.known[id] {
		return nil
	}
	r.known[id] = true
	r.queue = append(r.queue, id)
	select {
	case r.wake <- struct{}{}:
	default:
	}
	return nil
}

// Pending returns the number of runs waiting for a worker.
func (r *Runner) Pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.queue)
}

// Executing returns the number of runs executing now.
func (r *Runner) Executing() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.running)
}

// Close stops taking runs from the queue and waits for the executing ones to end until ctx is
// done; then it cancels them and puts them back in the queue (they execute again at the next
// start, reusing their finished steps). Queued runs stay Queued in the workspace. Close returns
// once every worker has stopped.
func (r *Runner) Close(ctx context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	close(r.wake)
	r.mu.Unlock()
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	r.mu.Lock()
	for _, cancel := range r.running {
		cancel(errShutdown)
	}
	r.mu.Unlock()
	<-done
	return nil
}

func (r *Runner) next() (string, bool) {
	for {
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			return "", false
		}
		if len(r.queue) > 0 {
			id := r.queue[0]
			r.queue = r.queue[1:]
			if len(r.queue) > 0 { // pass the wake-up on to an idle worker
				select {
				case r.wake <- struct{}{}:
				default:
				}
			}
			r.mu.Unlock()
			return id, true
		}
		r.mu.Unlock()
		if _, ok := <-r.wake; !ok {
			return "", false
		}
	}
}

func (r *Runner) work() {
	defer r.wg.Done()
	for {
		id, ok := r.next()
		if !ok {
			return
		}
		r.execute(id)
		r.mu.Lock()
		delete(r.known, id)
		r.mu.Unlock()
	}
}

// execute runs one queued run to its end. Runs no longer Queued (canceled meanwhile) are skipped.
func (r *Runner) execute(id string) {
	ws := r.cfg.Workspace
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	r.mu.Lock()
	r.running[id] = cancel
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.running, id)
		r.mu.Unlock()
	}()
	lock, err := r.lock(ctx, id)
	if err != nil {
		r.cfg.Logger.Warn("run not executed", "run", id, "err", err)
		return
	}
	defer lock.Release()
	rec, err := ws.GetRun(ctx, id)
	if err != nil {
		r.cfg.Logger.Error("run not executed", "run", id, "err", err)
		return
	}
	if rec.Status != state.Queued {
		return // canceled while queued
	}
	p, err := executor.LoadPipeline(rec)
	if err != nil {
		_ = ws.FinishRun(ctx, id, state.Failed, "loading the pipeline: "+err.Error())
		return
	}
	log := r.cfg.Logger.With("run", id, "pipeline", rec.Pipeline)
	log.Info("run started")
	defer func() {
		// A bug must not take the server, and with it every other run, down; nor come back at
		// each start: the run is recorded Failed with the panic.
		if v := recover(); v != nil {
			log.Error("panic executing the run", "panic", v, "stack", string(debug.Stack()))
			_ = ws.FinishRun(context.Background(), id, state.Failed, fmt.Sprintf("internal error: %v", v))
		}
	}()
	final, err := executor.Execute(ctx, ws, p, id, executor.Options{MaxParallel: r.cfg.MaxParallel, Observe: r.cfg.Observe,
		Targets: r.cfg.Targets, Data: r.cfg.Data})
	if errors.Is(context.Cause(ctx), errShutdown) {
		if qerr := ws.Requeue(context.Background(), id, "requeued: "+errShutdown.Error()); qerr != nil {
			log.Error("requeue", "err", qerr)
		}
		log.Info("run stopped by shutdown; requeued")
		return
	}
	var re *executor.RunError
	switch {
	case errors.As(err, &re):
		log.Info("run ended", "status", re.Status, "message", re.Message)
	case err != nil:
		log.Error("run failed in the workspace", "err", err)
	default:
		log.Info("run ended", "status", final.Status)
	}
}

// lock takes the run's lock; a lock held briefly by someone else (a cancel being recorded) is
// waited for, a little.
func (r *Runner) lock(ctx context.Context, id string) (*state.RunLock, error) {
	for i := 0; ; i++ {
		l, err := r.cfg.Workspace.LockRun(id)
		if err == nil || !errors.Is(err, state.ErrLocked) || i >= 100 {
			return l, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}
