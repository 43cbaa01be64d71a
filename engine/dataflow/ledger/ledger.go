package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// Partition is a committed partition.
type Partition struct {
	ID          string
	File        string // file name within the output folder
	Rows        int64
	FailedItems int64
	Failed      bool // a mini-batch of it failed as a whole on every try
	Committed   time.Time
}

// Item is one item's record.
type Item struct {
	Hash      string
	Path      string
	Partition string
	Row       int64  // row within the partition file
	Error     string // "" when the item is fine
}

// Ledger is an open ledger database. Close it when done.
type Ledger struct {
	mu sync.Mutex
	db *sql.DB
}

const schema = `
CREATE TABLE IF NOT EXISTS partitions (
	run_key      TEXT NOT NULL,
	id           TEXT NOT NULL,
	file         TEXT NOT NULL,
	rows         INTEGER NOT NULL,
	failed_items INTEGER NOT NULL,
	failed       INTEGER NOT NULL,
	committed    INTEGER NOT NULL,
	PRIMARY KEY (run_key, id)
);
CREATE TABLE IF NOT EXISTS items (
	run_key   TEXT NOT NULL,
	hash      TEXT NOT NULL,
	path      TEXT NOT NULL,
	partition TEXT NOT NULL,
	row       INTEGER NOT NULL,
	error     TEXT,
	PRIMARY KEY (run_key, hash, path)
);
CREATE INDEX IF NOT EXISTS items_by_partition ON items (run_key, partition);
`

// Open opens (creating if needed) the ledger database at path.
func Open(ctx context.Context, path string) (*Ledger, error) {
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("ledger: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("ledger: open %s: %w", path, err)
	}
	return &Ledger{db: db}, nil
}

// Close closes the database; it is idempotent and nil-safe.
func (l *Ledger) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.db == nil {
		return nil
	}
	err := l.db.Close()
	l.db = nil
	return err
}

func (l *Ledger) conn() (*sql.DB, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.db == nil {
		return nil, ErrClosed
	}
	return l.db, nil
}

// Commit records partition p and its items under runKey, replacing an earlier record of the
// same partition, in one transaction.
func (l *Ledger) Commit(ctx context.Context, runKey string, p Partition, items []Item) (err error) {
	db, err := l.conn()
	if err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("ledger: commit %s: %w", p.ID, err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
			err = fmt.Errorf("ledger: commit %s: %w", p.ID, err)
		}
	}()
	if _, err = tx.ExecContext(ctx, `DELETE FROM items WHERE run_key = ? AND partition = ?`, runKey, p.ID); err != nil {
		return err
	}
	committed := p.Committed
	if committed.IsZero() {
		committed = time.Now()
	}
	if _, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO partitions (run_key, id, file, rows, failed_items, failed, committed)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, runKey, p.ID, p.File, p.Rows, p.FailedItems, p.Failed, committed.UnixNano()); err != nil {
		return err
	}
	st, err := tx.PrepareContext(ctx, `INSERT OR REPLACE INTO items (run_key, hash, path, partition, row, error) VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer st.Close()
	for _, it := range items {
		var e any
		if it.Error != "" {
			e = it.Error
		}
		if _, err = st.ExecContext(ctx, runKey, it.Hash, it.Path, p.ID, it.Row, e); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// Partitions returns the committed partitions of runKey by ID.
func (l *Ledger) Partitions(ctx context.Context, runKey string) (map[string]Partition, error) {
	db, err := l.conn()
	if err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, `SELECT id, file, rows, failed_items, failed, committed FROM partitions WHERE run_key = ?`, runKey)
	if err != nil {
		return nil, fmt.Errorf("ledger: partitions: %w", err)
	}
	defer rows.Close()
	out := map[string]Partition{}
	for rows.Next() {
		var p Partition
		var ts int64
		if err := rows.Scan(&p.ID, &p.File, &p.Rows, &p.FailedItems, &p.Failed, &ts); err != nil {
			return nil, fmt.Errorf("ledger: partitions: %w", err)
		}
		p.Committed = time.Unix(0, ts)
		out[p.ID] = p
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger: partitions: %w", err)
	}
	return out, nil
}

// Items returns the items recorded under runKey; with failedOnly, only those with an error
// (the errors table). Ordered by partition and row.
func (l *Ledger) Items(ctx context.Context, runKey string, failedOnly bool) ([]Item, error) {
	db, err := l.conn()
	if err != nil {
		return nil, err
	}
	q := `SELECT hash, path, partition, row, error FROM items WHERE run_key = ?`
	if failedOnly {
		q += ` AND error IS NOT NULL`
	}
	q += ` ORDER BY partition, row`
	rows, err := db.QueryContext(ctx, q, runKey)
	if err != nil {
		return nil, fmt.Errorf("ledger: items: %w", err)
	}
	defer rows.Close()
	var out []Item
	for rows.Next() {
		var it Item
		var e sql.NullString
		if err := rows.Scan(&it.Hash, &it.Path, &it.Partition, &it.Row, &e); err != nil {
			return nil, fmt.Errorf("ledger: items: %w", err)
		}
		it.Error = e.String
		out = append(out, it)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("ledger: items: %w", err)
	}
	return out, nil
}

// Lookup returns the records of the item with content hash under runKey (one per path).
func (l *Ledger) Lookup(ctx context.Context, runKey, hash string) ([]Item, error) {
	db, err := l.conn()
	if err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, `SELECT hash, path, partition, row, error FROM items WHERE run_key = ? AND hash = ? ORDER BY path`, runKey, hash)
	if err != nil {
		return nil, fmt.Errorf("ledger: lookup: %w", err)
	}
	defer rows.Close()
	var out []Item
	for rows.Next() {
		var it Item
		var e sql.NullString
		if err := rows.Scan(&it.Hash, &it.Path, &it.Partition, &it.Row, &e); err != nil {
			return nil, fmt.Errorf("ledger: lookup: %w", err)
		}
		it.Error = e.String
		out = append(out, it)
	}
	return out, rows.Err()
}

// Forget removes a partition's records (for instance when its file turned out to be missing).
func (l *Ledger) Forget(ctx context.Context, runKey, id string) error {
	db, err := l.conn()
	if err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("ledger: forget %s: %w", id, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM items WHERE run_key = ? AND partition = ?`, runKey, id); err != nil {
		return fmt.Errorf("ledger: forget %s: %w", id, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM partitions WHERE run_key = ? AND id = ?`, runKey, id); err != nil {
		return fmt.Errorf("ledger: forget %s: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("ledger: forget %s: %w", id, err)
	}
	return nil
}
