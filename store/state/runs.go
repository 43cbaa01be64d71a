package state

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Run is the record of one pipeline run.
type Run struct {
	ID           string
	Pipeline     string
	PipelineFile string            // the file the run was started from ("" when built in code)
	Spec         string            // the pipeline text as it was when the run started
	Parameters   map[string]string // the values of every pipeline input, as text
	Status       Status
	Created      time.Time
	Started      time.Time
	Ended        time.Time
	Message      string
	NoReuse      bool
	// Owner names the server whose durable queue holds the run ("" for runs of `sluice run`).
	// Open leaves an owned Queued run alone and requeues an owned Running run whose lock is free.
	Owner string
	Steps []Step // in pipeline order; filled by GetRun
}

// Step is the record of one step of a run.
type Step struct {
	RunID      string
	Name       string
	Status     Status
	Attempts   int
	Started    time.Time
	Ended      time.Time
	ReusedFrom string // run whose outputs were reused
	CacheKey   string
	LogPath    string
	Message    string
	Inputs     []IO
	Outputs    []IO
}

// IO is an input or output of a step: a parameter value or a data path with its content version.
type IO struct {
	Name    string `json:"name"`
	Value   string `json:"value"`             // parameter value, or the data's path
	Hash    string `json:"hash,omitempty"`    // content version; "" for parameters
	Dataset string `json:"dataset,omitempty"` // dataset name of the version, when registered
	Version int    `json:"version,omitempty"`
}

// NewRunID makes a sortable, unique run id such as 20261125-191500-3fa2c1.
func NewRunID(now time.Time) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

// CreateRun records a new run with its steps as NotStarted. r.ID must be set; an id already
// recorded is ErrExists.
func (w *Workspace) CreateRun(ctx context.Context, r *Run, steps []string) error {
	params, err := json.Marshal(r.Parameters)
	if err != nil {
		return fmt.Errorf("create run: %w", err)
	}
	if r.Created.IsZero() {
		r.Created = time.Now()
	}
	if r.Status == "" {
		r.Status = Queued
	}
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("create run: %w", err)
	}
	defer tx.Rollback()
	_, err = tx.ExecContext(ctx, `INSERT INTO runs (id, pipeline, pipeline_file, spec, parameters, status, created, no_reuse, owner)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.ID, r.Pipeline, r.PipelineFile, r.Spec, string(params), r.Status,
		nanos(r.Created), r.NoReuse, r.Owner)
	if err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed") {
		return fmt.Errorf("create run %s: %w", r.ID, ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create run %s: %w", r.ID, err)
	}
	for i, s := range steps {
		if _, err := tx.ExecContext(ctx, `INSERT INTO steps (run_id, name, seq, status) VALUES (?, ?, ?, ?)`,
			r.ID, s, i, NotStarted); err != nil {
			return fmt.Errorf("create run %s: step %s: %w", r.ID, s, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("create run %s: %w", r.ID, err)
	}
	return nil
}

// StartRun marks the run Running, executed by process pid.
func (w *Workspace) StartRun(ctx context.Context, id string, pid int) error {
	_, err := w.db.ExecContext(ctx, `UPDATE runs SET status=?, started=?, pid=? WHERE id=?`,
		Running, time.Now().UnixNano(), pid, id)
	if err != nil {
		return fmt.Errorf("start run %s: %w", id, err)
	}
	return nil
}

// FinishRun records the run's terminal status and message.
func (w *Workspace) FinishRun(ctx context.Context, id string, st Status, msg string) error {
	_, err := w.db.ExecContext(ctx, `UPDATE runs SET status=?, ended=?, message=? WHERE id=?`,
		st, time.Now().UnixNano(), msg, id)
	if err != nil {
		return fmt.Errorf("finish run %s: %w", id, err)
	}
	return nil
}

// RequestCancel asks the process executing the run to cancel it. A run that nobody executes
// (its lock is free) is marked Canceled at once. Terminal runs are left alone; the returned
// status is the run's status after the call.
func (w *Workspace) RequestCancel(ctx context.Context, id string) (Status, error) {
	r, err := w.GetRun(ctx, id)
	if err != nil {
		return "", err
	}
	if r.Status.Terminal() {
		return r.Status, nil
	}
	if _, err := w.db.ExecContext(ctx, `UPDATE runs SET cancel_requested=1 WHERE id=?`, id); err != nil {
		return "", fmt.Errorf("cancel run %s: %w", id, err)
	}
	l, err := w.LockRun(id)
	if errors.Is(err, ErrLocked) {
		return r.Status, nil // the executing process will see the request
	}
	if err != nil {
		return "", err
	}
	defer l.Release()
	now := time.Now().UnixNano()
	if _, err := w.db.ExecContext(ctx, `UPDATE runs SET status=?, ended=?, message=? WHERE id=?`,
		Canceled, now, "canceled before it started", id); err != nil {
		return "", fmt.Errorf("cancel run %s: %w", id, err)
	}
	if _, err := w.db.ExecContext(ctx, `UPDATE steps SET status=? WHERE run_id=? AND status IN (?, ?, ?)`,
		Canceled, id, NotStarted, Queued, Running); err != nil {
		return "", fmt.Errorf("cancel run %s: %w", id, err)
	}
	return Canceled, nil
}

// CancelRequested reports whether someone asked to cancel the run.
func (w *Workspace) CancelRequested(ctx context.Context, id string) (bool, error) {
	var c bool
	err := w.db.QueryRowContext(ctx, `SELECT cancel_requested FROM runs WHERE id=?`, id).Scan(&c)
	if err != nil {
		return false, fmt.Errorf("run %s: %w", id, err)
	}
	return c, nil
}

// StepUpdate changes a step record; zero fields are left as they are.
type StepUpdate struct {
	Status     Status
	Attempts   int
	Started    time.Time
	Ended      time.Time
	ReusedFrom string
	CacheKey   string
	LogPath    string
	Message    string
}

// UpdateStep applies u to the step.
func (w *Workspace) UpdateStep(ctx context.Context, runID, name string, u StepUpdate) error {
	_, err := w.db.ExecContext(ctx, `UPDATE steps SET
		status=CASE WHEN ?='' THEN status ELSE ? END,
		attempts=CASE WHEN ?=0 THEN attempts ELSE ? END,
		started=CASE WHEN ?=0 THEN started ELSE ? END,
		ended=CASE WHEN ?=0 THEN ended ELSE ? END,
		reused_from=CASE WHEN ?='' THEN reused_from ELSE ? END,
		cache_key=CASE WHEN ?='' THEN cache_key ELSE ? END,
		log_path=CASE WHEN ?='' THEN log_path ELSE ? END,
		message=CASE WHEN ?='' THEN message ELSE ? END
		WHERE run_id=? AND name=?`,
		u.Status, u.Status, u.Attempts, u.Attempts, nanos(u.Started), nanos(u.Started), nanos(u.Ended), nanos(u.Ended),
		u.ReusedFrom, u.ReusedFrom, u.CacheKey, u.CacheKey, u.LogPath, u.LogPath, u.Message, u.Message, runID, name)
	if err != nil {
		return fmt.Errorf("update step %s/%s: %w", runID, name, err)
	}
	return nil
}

// RecordIO stores a step's input or output ("in" / "out").
func (w *Workspace) RecordIO(ctx context.Context, runID, step, direction string, io IO) error {
	_, err := w.db.ExecContext(ctx, `INSERT OR REPLACE INTO step_io (run_id, step, direction, name, value, hash, dataset, version)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, runID, step, direction, io.Name, io.Value, io.Hash, io.Dataset, io.Version)
	if err != nil {
		return fmt.Errorf("record %s %s of %s/%s: %w", direction, io.Name, runID, step, err)
	}
	return nil
}

// GetRun reads a run with its steps and their inputs and outputs. An unknown id is ErrNotFound.
// A unique prefix of an id is accepted.
func (w *Workspace) GetRun(ctx context.Context, id string) (*Run, error) {
	var full string
	err := w.db.QueryRowContext(ctx, `SELECT id FROM runs WHERE id=?`, id).Scan(&full)
	if errors.Is(err, sql.ErrNoRows) {
		rows, qerr := w.db.QueryContext(ctx, `SELECT id FROM runs WHERE id LIKE ? || '%' LIMIT 2`, id)
		if qerr != nil {
			return nil, fmt.Errorf("run %s: %w", id, qerr)
		}
		var ids []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err == nil {
				ids = append(ids, s)
			}
		}
		rows.Close()
		if len(ids) != 1 {
			return nil, fmt.Errorf("run %s: %w", id, ErrNotFound)
		}
		full, err = ids[0], nil
	}
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", id, err)
	}
	runs, err := w.queryRuns(ctx, `WHERE id=?`, full)
	if err != nil {
		return nil, err
	}
	r := runs[0]
	if err := w.loadSteps(ctx, r); err != nil {
		return nil, err
	}
	return r, nil
}

// ListRuns returns the newest runs first (without steps), at most limit.
func (w *Workspace) ListRuns(ctx context.Context, limit int) ([]*Run, error) {
	return w.queryRuns(ctx, `ORDER BY created DESC LIMIT ?`, limit)
}

func (w *Workspace) queryRuns(ctx context.Context, where string, args ...any) ([]*Run, error) {
	rows, err := w.db.QueryContext(ctx, `SELECT id, pipeline, pipeline_file, spec, parameters, status, created,
		started, ended, message, no_reuse, owner FROM runs `+where, args...)
	if err != nil {
		return nil, fmt.Errorf("runs: %w", err)
	}
	defer rows.Close()
	var out []*Run
	for rows.Next() {
		r := &Run{}
		var params string
		var created, started, ended int64
		if err := rows.Scan(&r.ID, &r.Pipeline, &r.PipelineFile, &r.Spec, &params, &r.Status, &created,
			&started, &ended, &r.Message, &r.NoReuse, &r.Owner); err != nil {
			return nil, fmt.Errorf("runs: %w", err)
		}
		if err := json.Unmarshal([]byte(params), &r.Parameters); err != nil {
			return nil, fmt.Errorf("run %s parameters: %w", r.ID, err)
		}
		r.Created, r.Started, r.Ended = fromNanos(created), fromNanos(started), fromNanos(ended)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("runs: %w", err)
	}
	if len(out) == 0 && len(args) == 1 {
		if _, ok := args[0].(string); ok {
			return nil, fmt.Errorf("run %v: %w", args[0], ErrNotFound)
		}
	}
	return out, nil
}

func (w *Workspace) loadSteps(ctx context.Context, r *Run) error {
	rows, err := w.db.QueryContext(ctx, `SELECT name, status, attempts, started, ended, reused_from, cache_key,
		log_path, message FROM steps WHERE run_id=? ORDER BY seq`, r.ID)
	if err != nil {
		return fmt.Errorf("run %s steps: %w", r.ID, err)
	}
	idx := map[string]int{}
	for rows.Next() {
		s := Step{RunID: r.ID}
		var started, ended int64
		if err := rows.Scan(&s.Name, &s.Status, &s.Attempts, &started, &ended, &s.ReusedFrom, &s.CacheKey,
			&s.LogPath, &s.Message); err != nil {
			rows.Close()
			return fmt.Errorf("run %s steps: %w", r.ID, err)
		}
		s.Started, s.Ended = fromNanos(started), fromNanos(ended)
		idx[s.Name] = len(r.Steps)
		r.Steps = append(r.Steps, s)
	}
	rows.Close()
	rows, err = w.db.QueryContext(ctx, `SELECT step, direction, name, value, hash, dataset, version FROM step_io
		WHERE run_id=? ORDER BY step, direction, name`, r.ID)
	if err != nil {
		return fmt.Errorf("run %s io: %w", r.ID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var step, dir string
		var io IO
		if err := rows.Scan(&step, &dir, &io.Name, &io.Value, &io.Hash, &io.Dataset, &io.Version); err != nil {
			return fmt.Errorf("run %s io: %w", r.ID, err)
		}
		i, ok := idx[step]
		if !ok {
			continue
		}
		if dir == "in" {
			r.Steps[i].Inputs = append(r.Steps[i].Inputs, io)
		} else {
			r.Steps[i].Outputs = append(r.Steps[i].Outputs, io)
		}
	}
	return rows.Err()
}
