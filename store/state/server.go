package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// serverSchema holds the tables of `sluice serve`: published pipelines and their versions, API
// tokens (hashed), schedules and the state of datastore-change triggers.
const serverSchema = `
CREATE TABLE IF NOT EXISTS pipelines (
	name TEXT PRIMARY KEY,
	default_version TEXT NOT NULL,
	created INTEGER NOT NULL,
	updated INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS pipeline_versions (
	name TEXT NOT NULL,
	version TEXT NOT NULL,
	seq INTEGER NOT NULL,
	description TEXT NOT NULL DEFAULT '',
	yaml TEXT NOT NULL,
	created INTEGER NOT NULL,
	PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS tokens (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	hash TEXT NOT NULL,
	scope TEXT NOT NULL,
	created INTEGER NOT NULL,
	last_used INTEGER NOT NULL DEFAULT 0,
	revoked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS schedules (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL DEFAULT '',
	pipeline TEXT NOT NULL,
	version TEXT NOT NULL DEFAULT '',
	kind TEXT NOT NULL,
	cron TEXT NOT NULL DEFAULT '',
	timezone TEXT NOT NULL DEFAULT '',
	watch_path TEXT NOT NULL DEFAULT '',
	parameter TEXT NOT NULL DEFAULT '',
	parameters TEXT NOT NULL DEFAULT '{}',
	paused INTEGER NOT NULL DEFAULT 0,
	created INTEGER NOT NULL,
	last_fire INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS run_sources (
	run_id TEXT PRIMARY KEY,
	pipeline TEXT NOT NULL,
	version TEXT NOT NULL,
	schedule_id TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS trigger_files (
	schedule_id TEXT NOT NULL,
	path TEXT NOT NULL,
	version TEXT NOT NULL,
	run_id TEXT NOT NULL,
	created INTEGER NOT NULL,
	PRIMARY KEY (schedule_id, path)
);
`

// migrateServer creates the server's tables and adds the columns that older workspaces lack.
func (w *Workspace) migrateServer(ctx context.Context) error {
	if _, err := w.db.ExecContext(ctx, serverSchema); err != nil {
		return fmt.Errorf("workspace: creating server schema: %w", err)
	}
	if _, err := w.db.ExecContext(ctx, `ALTER TABLE runs ADD COLUMN owner TEXT NOT NULL DEFAULT ''`); err != nil &&
		!strings.Contains(err.Error(), "duplicate column") {
		return fmt.Errorf("workspace: adding runs.owner: %w", err)
	}
	return nil
}

// requeue puts a run back to Queued with its steps NotStarted and their records cleared, so that
// it executes again from the start (finished steps are then reused from the cache).
func (w *Workspace) requeue(ctx context.Context, id, msg string) error {
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("requeue run %s: %w", id, err)
	}
	defer tx.Rollback()
	stmts := []struct {
		q    string
		args []any
	}{
		{`UPDATE runs SET status=?, started=0, ended=0, pid=0, message=? WHERE id=?`, []any{Queued, msg, id}},
		{`UPDATE steps SET status=?, attempts=0, started=0, ended=0, reused_from='', cache_key='', log_path='', message=''
			WHERE run_id=?`, []any{NotStarted, id}},
		{`DELETE FROM step_io WHERE run_id=?`, []any{id}},
	}
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s.q, s.args...); err != nil {
			return fmt.Errorf("requeue run %s: %w", id, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("requeue run %s: %w", id, err)
	}
	return nil
}

// QueuedRuns returns the ids of the Queued runs owned by owner, oldest first: the durable queue
// a server resumes when it starts.
func (w *Workspace) QueuedRuns(ctx context.Context, owner string) ([]string, error) {
	rows, err := w.db.QueryContext(ctx, `SELECT id FROM runs WHERE status=? AND owner=? ORDER BY created, id`, Queued, owner)
	if err != nil {
		return nil, fmt.Errorf("queued runs: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("queued runs: %w", err)
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// CountRuns returns the number of runs in each status.
func (w *Workspace) CountRuns(ctx context.Context) (map[Status]int, error) {
	rows, err := w.db.QueryContext(ctx, `SELECT status, COUNT(*) FROM runs GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("count runs: %w", err)
	}
	defer rows.Close()
	out := map[Status]int{}
	for rows.Next() {
		var s Status
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, fmt.Errorf("count runs: %w", err)
		}
		out[s] = n
	}
	return out, rows.Err()
}

// RunFilter selects runs for FindRuns; zero fields match everything.
type RunFilter struct {
	Pipeline string
	Status   Status
	Limit    int // default 100
}

// FindRuns returns the newest matching runs first, without steps.
func (w *Workspace) FindRuns(ctx context.Context, f RunFilter) ([]*Run, error) {
	if f.Limit <= 0 {
		f.Limit = 100
	}
	return w.queryRuns(ctx, `WHERE (?='' OR pipeline=?) AND (?='' OR status=?) ORDER BY created DESC, id DESC LIMIT ?`,
		f.Pipeline, f.Pipeline, f.Status, f.Status, f.Limit)
}

func now() int64 { return time.Now().UnixNano() }

// Requeue puts a run that stopped because its server shut down back into its owner's queue:
// Queued, with its steps NotStarted, to execute again from the start (finished steps reused).
func (w *Workspace) Requeue(ctx context.Context, id, msg string) error {
	return w.requeue(ctx, id, msg)
}

// RunSource says where a server's run came from: the published pipeline version, and the
// schedule that fired it ("" for a submit).
type RunSource struct {
	RunID    string
	Pipeline string
	Version  string
	Schedule string
}

// SetRunSource records where a run came from.
func (w *Workspace) SetRunSource(ctx context.Context, s RunSource) error {
	if _, err := w.db.ExecContext(ctx, `INSERT OR REPLACE INTO run_sources (run_id, pipeline, version, schedule_id)
		VALUES (?, ?, ?, ?)`, s.RunID, s.Pipeline, s.Version, s.Schedule); err != nil {
		return fmt.Errorf("run %s source: %w", s.RunID, err)
	}
	return nil
}

// GetRunSource returns where a run came from; ErrNotFound for runs not submitted to a server.
func (w *Workspace) GetRunSource(ctx context.Context, runID string) (*RunSource, error) {
	s := &RunSource{RunID: runID}
	err := w.db.QueryRowContext(ctx, `SELECT pipeline, version, schedule_id FROM run_sources WHERE run_id=?`, runID).
		Scan(&s.Pipeline, &s.Version, &s.Schedule)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("run %s source: %w", runID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("run %s source: %w", runID, err)
	}
	return s, nil
}
