package state

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Schedule kinds.
const (
	ScheduleCron      = "cron"      // a recurrence in a time zone
	ScheduleDatastore = "datastore" // each new or changed file under a path starts a run
)

// Schedule starts runs of a published pipeline: on a cron recurrence, or for each new or changed
// file under a watched path (the file's path bound to the input Parameter).
type Schedule struct {
	ID         string
	Name       string
	Pipeline   string
	Version    string // "" means the pipeline's default version at the time of each run
	Kind       string
	Cron       string // ScheduleCron: the spec (5 fields or a @descriptor)
	TimeZone   string // ScheduleCron: IANA name; "" is UTC
	WatchPath  string // ScheduleDatastore: absolute folder (or a datastore URI)
	Parameter  string // ScheduleDatastore: the pipeline input that receives each file's path
	Parameters map[string]string
	Paused     bool
	Created    time.Time
	LastFire   time.Time
}

// CreateSchedule records s, giving it an id when it has none.
func (w *Workspace) CreateSchedule(ctx context.Context, s *Schedule) error {
	if s.ID == "" {
		var b [5]byte
		_, _ = rand.Read(b[:])
		s.ID = "sch-" + hex.EncodeToString(b[:])
	}
	if s.Parameters == nil {
		s.Parameters = map[string]string{}
	}
	params, err := json.Marshal(s.Parameters)
	if err != nil {
		return fmt.Errorf("schedule: %w", err)
	}
	if s.Created.IsZero() {
		s.Created = time.Now()
	}
	_, err = w.db.ExecContext(ctx, `INSERT INTO schedules (id, name, pipeline, version, kind, cron, timezone, watch_path,
		parameter, parameters, paused, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.Name, s.Pipeline, s.Version, s.Kind, s.Cron, s.TimeZone, s.WatchPath, s.Parameter, string(params),
		s.Paused, nanos(s.Created))
	if err != nil {
		return fmt.Errorf("schedule %s: %w", s.ID, err)
	}
	return nil
}

// ListSchedules returns every schedule, oldest first.
func (w *Workspace) ListSchedules(ctx context.Context) ([]*Schedule, error) {
	return w.querySchedules(ctx, `ORDER BY created, id`)
}

// GetSchedule returns one schedule; ErrNotFound when unknown.
func (w *Workspace) GetSchedule(ctx context.Context, id string) (*Schedule, error) {
	ss, err := w.querySchedules(ctx, `WHERE id=?`, id)
	if err != nil {
		return nil, err
	}
	if len(ss) == 0 {
		return nil, fmt.Errorf("schedule %s: %w", id, ErrNotFound)
	}
	return ss[0], nil
}

func (w *Workspace) querySchedules(ctx context.Context, where string, args ...any) ([]*Schedule, error) {
	rows, err := w.db.QueryContext(ctx, `SELECT id, name, pipeline, version, kind, cron, timezone, watch_path, parameter,
		parameters, paused, created, last_fire FROM schedules `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("schedules: %w", err)
	}
	defer rows.Close()
	var out []*Schedule
	for rows.Next() {
		s := &Schedule{}
		var params string
		var created, last int64
		if err := rows.Scan(&s.ID, &s.Name, &s.Pipeline, &s.Version, &s.Kind, &s.Cron, &s.TimeZone, &s.WatchPath,
			&s.Parameter, &params, &s.Paused, &created, &last); err != nil {
			return nil, fmt.Errorf("schedules: %w", err)
		}
		if err := json.Unmarshal([]byte(params), &s.Parameters); err != nil {
			return nil, fmt.Errorf("schedule %s parameters: %w", s.ID, err)
		}
		s.Created, s.LastFire = fromNanos(created), fromNanos(last)
		out = append(out, s)
	}
	return out, rows.Err()
}

// SetSchedulePaused pauses or resumes a schedule; ErrNotFound when unknown.
func (w *Workspace) SetSchedulePaused(ctx context.Context, id string, paused bool) error {
	res, err := w.db.ExecContext(ctx, `UPDATE schedules SET paused=? WHERE id=?`, paused, id)
	if err != nil {
		return fmt.Errorf("schedule %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("schedule %s: %w", id, ErrNotFound)
	}
	return nil
}

// DeleteSchedule removes a schedule and its trigger state; ErrNotFound when unknown. Runs it
// started are kept.
func (w *Workspace) DeleteSchedule(ctx context.Context, id string) error {
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("schedule %s: %w", id, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `DELETE FROM schedules WHERE id=?`, id)
	if err != nil {
		return fmt.Errorf("schedule %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("schedule %s: %w", id, ErrNotFound)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM trigger_files WHERE schedule_id=?`, id); err != nil {
		return fmt.Errorf("schedule %s: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("schedule %s: %w", id, err)
	}
	return nil
}

// Fire is one firing of a schedule: for a datastore trigger, a file (Key) at a version; for a
// cron schedule, Key "" and the fire time as version. RunID is the run it starts.
type Fire struct {
	ScheduleID string
	Key        string
	Version    string
	RunID      string
	Created    time.Time
}

// ClaimFire records that schedule f.ScheduleID fires for f.Key at f.Version with run f.RunID,
// unless it already fired for that key at that version (claimed false). The claim is
// committed before the run exists: a crash in between leaves a fire whose run is missing,
// which PendingFires returns, so each claimed fire starts exactly one run.
func (w *Workspace) ClaimFire(ctx context.Context, f *Fire) (claimed bool, err error) {
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("schedule %s: %w", f.ScheduleID, err)
	}
	defer tx.Rollback()
	var version string
	err = tx.QueryRowContext(ctx, `SELECT version FROM trigger_files WHERE schedule_id=? AND path=?`, f.ScheduleID, f.Key).Scan(&version)
	switch {
	case err == nil && version == f.Version:
		return false, nil
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return false, fmt.Errorf("schedule %s: %w", f.ScheduleID, err)
	}
	var exists int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schedules WHERE id=?`, f.ScheduleID).Scan(&exists); err != nil {
		return false, fmt.Errorf("schedule %s: %w", f.ScheduleID, err)
	}
	if exists == 0 {
		return false, fmt.Errorf("schedule %s: %w", f.ScheduleID, ErrNotFound)
	}
	if f.Created.IsZero() {
		f.Created = time.Now()
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO trigger_files (schedule_id, path, version, run_id, created) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT(schedule_id, path) DO UPDATE SET version=excluded.version, run_id=excluded.run_id, created=excluded.created`,
		f.ScheduleID, f.Key, f.Version, f.RunID, nanos(f.Created)); err != nil {
		return false, fmt.Errorf("schedule %s: %w", f.ScheduleID, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE schedules SET last_fire=? WHERE id=?`, nanos(f.Created), f.ScheduleID); err != nil {
		return false, fmt.Errorf("schedule %s: %w", f.ScheduleID, err)
	}
	return true, tx.Commit()
}

// Fires returns the recorded fires of a schedule (the latest per key), by key.
func (w *Workspace) Fires(ctx context.Context, scheduleID string) ([]*Fire, error) {
	return w.queryFires(ctx, `WHERE schedule_id=? ORDER BY path`, scheduleID)
}

// PendingFires returns claimed fires whose run was never recorded (the process stopped in
// between), oldest first.
func (w *Workspace) PendingFires(ctx context.Context) ([]*Fire, error) {
	return w.queryFires(ctx, `WHERE NOT EXISTS (SELECT 1 FROM runs WHERE runs.id = trigger_files.run_id) ORDER BY created`)
}

func (w *Workspace) queryFires(ctx context.Context, where string, args ...any) ([]*Fire, error) {
	rows, err := w.db.QueryContext(ctx, `SELECT schedule_id, path, version, run_id, created FROM trigger_files `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("fires: %w", err)
	}
	defer rows.Close()
	var out []*Fire
	for rows.Next() {
		f := &Fire{}
		var created int64
		if err := rows.Scan(&f.ScheduleID, &f.Key, &f.Version, &f.RunID, &created); err != nil {
			return nil, fmt.Errorf("fires: %w", err)
		}
		f.Created = fromNanos(created)
		out = append(out, f)
	}
	return out, rows.Err()
}
