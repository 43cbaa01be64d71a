package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
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
CREATE TABLE IF NOT EXISTS runs (
	id  INTEGER PRIMARY KEY,
	key TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS partitions (
	run          INTEGER NOT NULL,
	id           TEXT NOT NULL,
	file         TEXT NOT NULL,
	rows         INTEGER NOT NULL,
	failed_items INTEGER NOT NULL,
	failed       INTEGER NOT NULL,
	committed    INTEGER NOT NULL,
	PRIMARY KEY (run, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS items (
	run       INTEGER NOT NULL,
	hash      TEXT NOT NULL,
	path      TEXT NOT NULL,
	partition TEXT NOT NULL,
	row       INTEGER NOT NULL,
	error     TEXT,
	PRIMARY KEY (run, hash, path)
) WITHOUT ROWID;
`

// insertChunk is how many items one INSERT statement carries.
const insertChunk = 128

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

// Commit records partition p and its items under runKey, in one transaction. An item
// already recorded under runKey (same hash and path) is replaced, so committing a partition
// again never duplicates anything.
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
	if _, err = tx.ExecContext(ctx, `INSERT OR IGNORE INTO runs (key) VALUES (?)`, runKey); err != nil {
		return err
	}
	var run int64
	if err = tx.QueryRowContext(ctx, `SELECT id FROM runs WHERE key = ?`, runKey).Scan(&run); err != nil {
		return err
	}
	committed := p.Committed
	if committed.IsZero() {
		committed = time.Now()
	}
	if _, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO partitions (run, id, file, rows, failed_items, failed, committed)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, run, p.ID, p.File, p.Rows, p.FailedItems, p.Failed, committed.UnixNano()); err != nil {
		return err
	}
	var full *sql.Stmt
	args := make([]any, 0, 6*insertChunk)
	for start := 0; start < len(items); start += insertChunk {
		chunk := items[start:min(start+insertChunk, len(items))]
		args = args[:0]
		for _, it := range chunk {
			var e any
			if it.Error != "" {
				e = it.Error
			}
			args = append(args, run, it.Hash, it.Path, p.ID, it.Row, e)
		}
		if len(chunk) == insertChunk {
			if full == nil {
				if full, err = tx.PrepareContext(ctx, insertSQL(insertChunk)); err != nil {
					return err
				}
				defer full.Close()
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = tx.ExecContext(ctx, insertSQL(len(chunk)), args...)
		}
		if err != nil {
			return err
		}
	}
	return tx.Commit()
}

func insertSQL(n int) string {
	var sb strings.Builder
	sb.WriteString(`INSERT OR REPLACE INTO items (run, hash, path, partition, row, error) VALUES `)
	for i := 0; i < n; i++ {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString("(?,?,?,?,?,?)")
	}
	return sb.String()
}

// Partitions returns the committed partitions of runKey by ID.
func (l *Ledger) Partitions(ctx context.Context, runKey string) (map[string]Partition, error) {
	db, err := l.conn()
	if err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, `SELECT p.id, p.file, p.rows, p.failed_items, p.failed, p.committed
		FROM partitions p JOIN runs r ON p.run = r.id WHERE r.key = ?`, runKey)
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
	q := `SELECT i.hash, i.path, i.partition, i.row, i.error FROM items i JOIN runs r ON i.run = r.id WHERE r.key = ?`
	if failedOnly {
		q += ` AND i.error IS NOT NULL`
	}
	q += ` ORDER BY i.partition, i.row`
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
	rows, err := db.QueryContext(ctx, `SELECT i.hash, i.path, i.partition, i.row, i.error
		FROM items i JOIN runs r ON i.run = r.id WHERE r.key = ? AND i.hash = ? ORDER BY i.path`, runKey, hash)
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
	if _, err := tx.ExecContext(ctx, `DELETE FROM items WHERE run = (SELECT id FROM runs WHERE key = ?) AND partition = ?`, runKey, id); err != nil {
		return fmt.Errorf("ledger: forget %s: %w", id, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM partitions WHERE run = (SELECT id FROM runs WHERE key = ?) AND id = ?`, runKey, id); err != nil {
		return fmt.Errorf("ledger: forget %s: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("ledger: forget %s: %w", id, err)
	}
	return nil
}
