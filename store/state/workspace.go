package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

// Workspace is an open workspace folder. It is safe for concurrent use.
type Workspace struct {
	dir string
	db  *sql.DB
}

const schema = `
CREATE TABLE IF NOT EXISTS runs (
	id TEXT PRIMARY KEY,
	pipeline TEXT NOT NULL,
	pipeline_file TEXT NOT NULL,
	spec TEXT NOT NULL,
	parameters TEXT NOT NULL,
	status TEXT NOT NULL,
	created INTEGER NOT NULL,
	started INTEGER NOT NULL DEFAULT 0,
	ended INTEGER NOT NULL DEFAULT 0,
	message TEXT NOT NULL DEFAULT '',
	no_reuse INTEGER NOT NULL DEFAULT 0,
	pid INTEGER NOT NULL DEFAULT 0,
	cancel_requested INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS steps (
	run_id TEXT NOT NULL,
	name TEXT NOT NULL,
	seq INTEGER NOT NULL,
	status TEXT NOT NULL,
	attempts INTEGER NOT NULL DEFAULT 0,
	started INTEGER NOT NULL DEFAULT 0,
	ended INTEGER NOT NULL DEFAULT 0,
	reused_from TEXT NOT NULL DEFAULT '',
	cache_key TEXT NOT NULL DEFAULT '',
	log_path TEXT NOT NULL DEFAULT '',
	message TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (run_id, name)
);
CREATE TABLE IF NOT EXISTS step_io (
	run_id TEXT NOT NULL,
	step TEXT NOT NULL,
	direction TEXT NOT NULL,       -- 'in' or 'out'
	name TEXT NOT NULL,
	value TEXT NOT NULL,           -- parameter value or data path
	hash TEXT NOT NULL DEFAULT '', -- content version for data
	dataset TEXT NOT NULL DEFAULT '',
	version INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (run_id, step, direction, name)
);
CREATE TABLE IF NOT EXISTS objects (
	hash TEXT PRIMARY KEY,
	path TEXT NOT NULL,
	external INTEGER NOT NULL,
	files INTEGER NOT NULL,
	bytes INTEGER NOT NULL,
	manifest TEXT NOT NULL,
	created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS dataset_versions (
	name TEXT NOT NULL,
	version INTEGER NOT NULL,
	hash TEXT NOT NULL,
	created INTEGER NOT NULL,
	run_id TEXT NOT NULL DEFAULT '',
	step TEXT NOT NULL DEFAULT '',
	output TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (name, version),
	UNIQUE (name, hash)
);
CREATE TABLE IF NOT EXISTS cache (
	key TEXT PRIMARY KEY,
	run_id TEXT NOT NULL,
	step TEXT NOT NULL,
	outputs TEXT NOT NULL,
	created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS filehash (
	path TEXT PRIMARY KEY,
	size INTEGER NOT NULL,
	mtime INTEGER NOT NULL,
	inode INTEGER NOT NULL,
	sha256 TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_status ON runs(status);
CREATE INDEX IF NOT EXISTS versions_hash ON dataset_versions(hash);
`

// Open opens (creating if needed) the workspace in dir and marks runs whose process died as
// Interrupted.
func Open(ctx context.Context, dir string) (*Workspace, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("workspace: %w", err)
	}
	for _, sub := range []string{"", "runs", "locks", "objects", "tmp"} {
		if err := os.MkdirAll(filepath.Join(abs, sub), 0o755); err != nil {
			return nil, fmt.Errorf("workspace: %w", err)
		}
	}
	dsn := "file:" + filepath.Join(abs, "sluice.db") +
		"?_pragma=busy_timeout(20000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("workspace: %w", err)
	}
	db.SetMaxOpenConns(4)
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("workspace: creating schema in %s: %w", abs, err)
	}
	w := &Workspace{dir: abs, db: db}
	if err := w.migrateServer(ctx); err != nil {
		db.Close()
		return nil, err
	}
	if err := w.recoverInterrupted(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return w, nil
}

// Close closes the database. It is safe to call more than once.
func (w *Workspace) Close() error {
	if w == nil || w.db == nil {
		return nil
	}
	err := w.db.Close()
	w.db = nil
	return err
}

// Dir is the workspace folder (absolute).
func (w *Workspace) Dir() string { return w.dir }

// RunDir is the folder of one run (logs, code snapshots, outputs in progress).
func (w *Workspace) RunDir(id string) string { return filepath.Join(w.dir, "runs", id) }

// ObjectDir is where the content-addressed data of version hash lives.
func (w *Workspace) ObjectDir(hash string) string {
	return filepath.Join(w.dir, "objects", hash[:2], hash)
}

// TempDir is a scratch folder on the same file system as the objects (for atomic renames).
func (w *Workspace) TempDir() string { return filepath.Join(w.dir, "tmp") }

// RunLock is the advisory lock held by the process executing a run.
type RunLock struct{ f *os.File }

// File is the lock's open file, to hand to a child process (which then holds the lock too).
func (l *RunLock) File() *os.File { return l.f }

// Release drops the lock. Safe to call on nil and more than once.
func (l *RunLock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

func (w *Workspace) lockPath(id string) string { return filepath.Join(w.dir, "locks", id+".lock") }

// LockRun takes the run's lock without waiting; ErrLocked when another live process has it.
// The lock is released when the returned lock is released or the process dies.
func (w *Workspace) LockRun(id string) (*RunLock, error) {
	f, err := os.OpenFile(w.lockPath(id), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock run %s: %w", id, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("run %s: %w", id, ErrLocked)
		}
		return nil, fmt.Errorf("lock run %s: %w", id, err)
	}
	return &RunLock{f: f}, nil
}

// recoverInterrupted marks Queued/Running runs whose lock nobody holds as Interrupted, with
// their unfinished steps. Runs owned by a server (Run.Owner != "") are its durable queue: a
// Queued one is left for the server to execute, and a Running one whose server died is put
// back in the queue (Requeue) to be executed again from the start, its finished steps reused.
func (w *Workspace) recoverInterrupted(ctx context.Context) error {
	type cand struct {
		id     string
		status Status
		owner  string
	}
	rows, err := w.db.QueryContext(ctx, `SELECT id, status, owner FROM runs WHERE status IN (?, ?) ORDER BY created`,
		Queued, Running)
	if err != nil {
		return fmt.Errorf("workspace: %w", err)
	}
	var cands []cand
	for rows.Next() {
		var c cand
		if err := rows.Scan(&c.id, &c.status, &c.owner); err != nil {
			rows.Close()
			return fmt.Errorf("workspace: %w", err)
		}
		cands = append(cands, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("workspace: %w", err)
	}
	for _, c := range cands {
		if c.owner != "" && c.status == Queued {
			continue // waiting in its server's queue
		}
		l, err := w.LockRun(c.id)
		if errors.Is(err, ErrLocked) {
			continue // alive
		}
		if err != nil {
			return err
		}
		if c.owner != "" {
			err = w.requeue(ctx, c.id, "requeued: the server executing the run stopped; it runs again, reusing finished steps")
			l.Release()
			if err != nil {
				return err
			}
			continue
		}
		now := time.Now().UnixNano()
		_, err = w.db.ExecContext(ctx, `UPDATE runs SET status=?, ended=?, message=CASE WHEN message='' THEN ? ELSE message END
			WHERE id=? AND status IN (?, ?)`, Interrupted, now,
			"interrupted: the process executing the run died", c.id, Queued, Running)
		if err == nil {
			_, err = w.db.ExecContext(ctx, `UPDATE steps SET status=?, ended=CASE WHEN started>0 THEN ? ELSE 0 END
				WHERE run_id=? AND status IN (?, ?)`, Interrupted, now, c.id, Queued, Running)
		}
		l.Release()
		if err != nil {
			return fmt.Errorf("workspace: marking run %s interrupted: %w", c.id, err)
		}
	}
	return nil
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}
