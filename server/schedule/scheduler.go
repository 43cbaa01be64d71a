package schedule

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/sluice-ml/sluice/engine/spec"
	"github.com/sluice-ml/sluice/server/catalog"
	"github.com/sluice-ml/sluice/store/datastore"
	"github.com/sluice-ml/sluice/store/state"
)

// Config sets up a Scheduler.
type Config struct {
	Workspace *state.Workspace
	Catalog   *catalog.Catalog
	// Owner is the run queue failed fires are recorded in (state.Run.Owner).
	Owner string
	// Interval between passes of Run (default 5s): cron schedules fire within one interval of
	// their time, and a file settles within two.
	Interval time.Duration
	// Now is the clock (default time.Now); tests set it.
	Now    func() time.Time
	Logger *slog.Logger
	// OnFire, when set, is called after each fire with its run id and error (metrics).
	OnFire func(s *state.Schedule, runID string, err error)
	// Watchers open the watched locations of a URI scheme ("azblob") for this scheduler; they
	// take precedence over those of RegisterWatcher. The server registers "azblob" with its
	// resolver (NewStore).
	Watchers map[string]func(uri string) (Watcher, error)
}

// Scheduler fires schedules. Tick is one pass; Run calls Recover, then Tick every Interval.
type Scheduler struct {
	cfg Config

	mu   sync.Mutex
	seen map[string]map[string]string // schedule id -> path -> version at the previous scan
}

// New makes a Scheduler.
func New(cfg Config) (*Scheduler, error) {
	if cfg.Workspace == nil || cfg.Catalog == nil || cfg.Owner == "" {
		return nil, errors.New("schedule: a workspace, a catalog and an owner are required")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 5 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Scheduler{cfg: cfg, seen: map[string]map[string]string{}}, nil
}

// Validate checks a schedule before it is created and fills in what it implies: the pipeline
// (and version) must be published; a cron schedule needs a valid spec and zone; a datastore
// trigger a watch location inside the data roots (a folder, relative to the root or absolute,
// that exists; or a Blob prefix, made canonical, whose account opens) and a parameter that is a
// uri_file or string input of the pipeline. Fixed parameters are checked like a submit's.
func (s *Scheduler) Validate(ctx context.Context, sch *state.Schedule) error {
	p, _, err := s.cfg.Catalog.Pipeline(ctx, sch.Pipeline, sch.Version)
	if err != nil {
		return err
	}
	params := map[string]string{}
	for k, v := range sch.Parameters {
		params[k] = v
	}
	switch sch.Kind {
	case state.ScheduleCron:
		if _, err := ParseCron(sch.Cron, sch.TimeZone); err != nil {
			return err
		}
		if sch.WatchPath != "" || sch.Parameter != "" {
			return fmt.Errorf("%w: a cron schedule takes no watch path or parameter", ErrInvalid)
		}
	case state.ScheduleDatastore:
		if sch.Cron != "" || sch.TimeZone != "" {
			return fmt.Errorf("%w: a datastore trigger takes no cron spec or time zone", ErrInvalid)
		}
		loc := sch.WatchPath
		if loc != "" && !filepath.IsAbs(loc) && !datastore.IsURI(loc) {
			loc = filepath.Join(s.cfg.Catalog.Root(), loc)
		}
		if loc == "" {
			return fmt.Errorf("%w: a datastore trigger needs a path to watch", ErrInvalid)
		}
		if datastore.IsURI(loc) && strings.HasPrefix(loc, datastore.SchemeBlob+"://") {
			u, err := datastore.ParseURI(loc)
			if err != nil {
				return fmt.Errorf("%w: watch path: %w", ErrInvalid, err)
			}
			loc = u.String() // canonical, as the roots are and as file paths will be
		}
		if !s.cfg.Catalog.DataRoots().Contains(loc) {
			return fmt.Errorf("%w: watch path %s", catalog.ErrForbiddenPath, sch.WatchPath)
		}
		w, err := s.watcherFor(loc)
		if err != nil {
			return err
		}
		if c, ok := w.(interface{ Check(context.Context) error }); ok {
			if err := c.Check(ctx); err != nil {
				return fmt.Errorf("%w: %w", ErrInvalid, err)
			}
		}
		if !datastore.IsURI(loc) {
			if st, err := os.Stat(loc); err != nil || !st.IsDir() {
				return fmt.Errorf("%w: watch path %s is not a folder", ErrInvalid, loc)
			}
		}
		sch.WatchPath = loc
		in := p.Inputs[sch.Parameter]
		if in == nil {
			return fmt.Errorf("%w: parameter %q is not an input of pipeline %s", ErrInvalid, sch.Parameter, sch.Pipeline)
		}
		if in.Type != spec.TypeURIFile && in.Type != spec.TypeString {
			return fmt.Errorf("%w: parameter %q is %s; it must be uri_file or string to take a file's path", ErrInvalid,
				sch.Parameter, in.Type)
		}
		if datastore.IsURI(loc) {
			params[sch.Parameter] = loc + "/example"
		} else {
			params[sch.Parameter] = filepath.Join(loc, "example")
		}
	default:
		return fmt.Errorf("%w: kind %q: want %s or %s", ErrInvalid, sch.Kind, state.ScheduleCron, state.ScheduleDatastore)
	}
	if _, err := p.Resolve(params); err != nil {
		return err
	}
	return nil
}

// watcherFor returns the Watcher of a location: this scheduler's for its scheme, else
// WatcherFor's.
func (s *Scheduler) watcherFor(location string) (Watcher, error) {
	if scheme, _, ok := strings.Cut(location, "://"); ok {
		if open := s.cfg.Watchers[scheme]; open != nil {
			return open(location)
		}
	}
	return WatcherFor(location)
}

// Run recovers pending fires, then fires due schedules every Interval until ctx is done.
func (s *Scheduler) Run(ctx context.Context) error {
	if err := s.Recover(ctx); err != nil {
		s.cfg.Logger.Error("schedule recovery", "err", err)
	}
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		if err := s.Tick(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Error("schedules", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Recover submits the runs of fires claimed before a crash whose runs were never recorded.
func (s *Scheduler) Recover(ctx context.Context) error {
	fires, err := s.cfg.Workspace.PendingFires(ctx)
	if err != nil {
		return err
	}
	for _, f := range fires {
		sch, err := s.cfg.Workspace.GetSchedule(ctx, f.ScheduleID)
		if errors.Is(err, state.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		s.submit(ctx, sch, f)
	}
	return nil
}

// Tick looks at every schedule once, at the current time, and fires what is due.
func (s *Scheduler) Tick(ctx context.Context) error {
	scheds, err := s.cfg.Workspace.ListSchedules(ctx)
	if err != nil {
		return err
	}
	live := map[string]bool{}
	var errs []error
	for _, sch := range scheds {
		live[sch.ID] = true
		if sch.Paused {
			continue
		}
		var err error
		switch sch.Kind {
		case state.ScheduleCron:
			err = s.tickCron(ctx, sch)
		case state.ScheduleDatastore:
			err = s.tickDatastore(ctx, sch)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("schedule %s: %w", sch.ID, err))
		}
	}
	s.mu.Lock()
	for id := range s.seen {
		if !live[id] {
			delete(s.seen, id)
		}
	}
	s.mu.Unlock()
	return errors.Join(errs...)
}

// tickCron fires a cron schedule when a slot is due. Slots missed while the server was down
// are not replayed: the latest one fires once.
func (s *Scheduler) tickCron(ctx context.Context, sch *state.Schedule) error {
	cs, err := ParseCron(sch.Cron, sch.TimeZone)
	if err != nil {
		return err
	}
	last := sch.Created
	fires, err := s.cfg.Workspace.Fires(ctx, sch.ID)
	if err != nil {
		return err
	}
	for _, f := range fires {
		if f.Key == "" {
			if t, err := time.Parse(time.RFC3339Nano, f.Version); err == nil {
				last = t
			}
		}
	}
	now := s.cfg.Now()
	due := cs.Next(last)
	if due.IsZero() || due.After(now) {
		return nil
	}
	for i := 0; i < 1_000_000; i++ {
		n := cs.Next(due)
		if n.IsZero() || n.After(now) {
			break
		}
		due = n
	}
	f := &state.Fire{ScheduleID: sch.ID, Key: "", Version: due.UTC().Format(time.RFC3339Nano)}
	f.RunID = fireID(now, f)
	return s.claimAndSubmit(ctx, sch, f)
}

// tickDatastore scans the watched location and fires once per settled new or changed file.
func (s *Scheduler) tickDatastore(ctx context.Context, sch *state.Schedule) error {
	w, err := s.watcherFor(sch.WatchPath)
	if err != nil {
		return err
	}
	files, err := w.Scan(ctx)
	if err != nil {
		return err
	}
	fired, err := s.cfg.Workspace.Fires(ctx, sch.ID)
	if err != nil {
		return err
	}
	done := make(map[string]string, len(fired))
	for _, f := range fired {
		done[f.Key] = f.Version
	}
	s.mu.Lock()
	prev := s.seen[sch.ID]
	cur := make(map[string]string, len(files))
	for _, f := range files {
		cur[f.Path] = f.Version
	}
	s.seen[sch.ID] = cur
	s.mu.Unlock()
	var errs []error
	for _, f := range files {
		if done[f.Path] == f.Version || prev[f.Path] != f.Version {
			continue // fired already, or not settled yet
		}
		fire := &state.Fire{ScheduleID: sch.ID, Key: f.Path, Version: f.Version}
		fire.RunID = fireID(s.cfg.Now(), fire)
		if err := s.claimAndSubmit(ctx, sch, fire); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Scheduler) claimAndSubmit(ctx context.Context, sch *state.Schedule, f *state.Fire) error {
	claimed, err := s.cfg.Workspace.ClaimFire(ctx, f)
	if err != nil || !claimed {
		return err
	}
	s.submit(ctx, sch, f)
	return nil
}

// fireID makes the run id of a fire: a fresh run id followed by a digest of the fire, so that
// two fires never share an id and a run id tells which fire made it.
func fireID(now time.Time, f *state.Fire) string {
	h := sha256.Sum256([]byte(f.ScheduleID + "\x00" + f.Key + "\x00" + f.Version))
	return state.NewRunID(now) + "-" + hex.EncodeToString(h[:3])
}

// submit records the run of a claimed fire. A fire whose run cannot be submitted (a bad
// parameter, a pipeline version that disappeared) is recorded as a Failed run with the reason,
// so it is visible and never retried.
func (s *Scheduler) submit(ctx context.Context, sch *state.Schedule, f *state.Fire) {
	params := map[string]string{}
	for k, v := range sch.Parameters {
		params[k] = v
	}
	if sch.Kind == state.ScheduleDatastore {
		params[sch.Parameter] = f.Key
	}
	rec, _, err := s.cfg.Catalog.Submit(ctx, catalog.Submission{Pipeline: sch.Pipeline, Version: sch.Version,
		Parameters: params, RunID: f.RunID, Schedule: sch.ID})
	if errors.Is(err, state.ErrExists) {
		return // recorded before a crash: exactly once
	}
	if err != nil && ctx.Err() == nil {
		msg := fmt.Sprintf("schedule %s could not start the run: %v", sch.ID, err)
		rec = &state.Run{ID: f.RunID, Pipeline: sch.Pipeline, Parameters: params, Status: state.Failed,
			Message: msg, Owner: s.cfg.Owner}
		if cerr := s.cfg.Workspace.CreateRun(ctx, rec, nil); cerr == nil {
			_ = s.cfg.Workspace.FinishRun(ctx, rec.ID, state.Failed, msg)
		}
		s.cfg.Logger.Warn("schedule fire failed", "schedule", sch.ID, "key", f.Key, "err", err)
	} else if err == nil {
		s.cfg.Logger.Info("schedule fired", "schedule", sch.ID, "key", f.Key, "run", rec.ID)
	}
	if s.cfg.OnFire != nil {
		s.cfg.OnFire(sch, f.RunID, err)
	}
}
