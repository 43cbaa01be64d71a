package state

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-ml/sluice/store/manifest"
)

// Object is stored data of one content version: a folder or file, with its manifest.
type Object struct {
	Hash     string
	Path     string // where the data is
	External bool   // data outside the workspace (a pipeline input), recorded but not owned
	Files    int
	Bytes    int64
	Manifest *manifest.Manifest
	Created  time.Time
}

// PutObject records data of version o.Hash at o.Path; recording a known hash keeps the first record
// unless that one was external and this one is owned by the workspace.
func (w *Workspace) PutObject(ctx context.Context, o *Object) error {
	m, err := json.Marshal(o.Manifest)
	if err != nil {
		return fmt.Errorf("object %s: %w", o.Hash, err)
	}
	_, err = w.db.ExecContext(ctx, `INSERT INTO objects (hash, path, external, files, bytes, manifest, created)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(hash) DO UPDATE SET path=excluded.path, external=excluded.external
		WHERE objects.external=1 AND excluded.external=0`,
		o.Hash, o.Path, o.External, len(o.Manifest.Entries), o.Manifest.Bytes(), string(m), time.Now().UnixNano())
	if err != nil {
		return fmt.Errorf("object %s: %w", o.Hash, err)
	}
	return nil
}

// GetObject reads the record of a content version; ErrNotFound when unknown.
func (w *Workspace) GetObject(ctx context.Context, hash string) (*Object, error) {
	o := &Object{Hash: hash}
	var m string
	var created int64
	err := w.db.QueryRowContext(ctx, `SELECT path, external, files, bytes, manifest, created FROM objects WHERE hash=?`,
		hash).Scan(&o.Path, &o.External, &o.Files, &o.Bytes, &m, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("data version %s: %w", manifest.Short(hash), ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("data version %s: %w", manifest.Short(hash), err)
	}
	o.Created = fromNanos(created)
	o.Manifest = &manifest.Manifest{}
	if err := json.Unmarshal([]byte(m), o.Manifest); err != nil {
		return nil, fmt.Errorf("data version %s manifest: %w", manifest.Short(hash), err)
	}
	return o, nil
}

// Producer says which run and step made a dataset version.
type Producer struct {
	RunID  string
	Step   string
	Output string
}

// RegisterVersion registers hash as a version of dataset name and returns its version number.
// A hash already registered under the name keeps its number: versions are immutable and
// identified by content.
func (w *Workspace) RegisterVersion(ctx context.Context, name, hash string, p Producer) (int, error) {
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("dataset %s: %w", name, err)
	}
	defer tx.Rollback()
	var v int
	err = tx.QueryRowContext(ctx, `SELECT version FROM dataset_versions WHERE name=? AND hash=?`, name, hash).Scan(&v)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("dataset %s: %w", name, err)
	}
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) + 1 FROM dataset_versions WHERE name=?`,
		name).Scan(&v); err != nil {
		return 0, fmt.Errorf("dataset %s: %w", name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO dataset_versions (name, version, hash, created, run_id, step, output)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, name, v, hash, time.Now().UnixNano(), p.RunID, p.Step, p.Output); err != nil {
		return 0, fmt.Errorf("dataset %s: %w", name, err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("dataset %s: %w", name, err)
	}
	return v, nil
}

// DatasetVersion is one registered version.
type DatasetVersion struct {
	Name     string
	Version  int
	Hash     string
	Created  time.Time
	Producer Producer
	Object   *Object // filled by GetVersion
	Inputs   []IO    // lineage: the inputs of the producing step (filled by GetVersion)
}

// Dataset summarises a named dataset.
type Dataset struct {
	Name     string
	Versions int
	Latest   DatasetVersion
}

// ListDatasets returns every dataset with its latest version, by name.
func (w *Workspace) ListDatasets(ctx context.Context) ([]Dataset, error) {
	rows, err := w.db.QueryContext(ctx, `SELECT d.name, c.n, d.version, d.hash, d.created, d.run_id, d.step, d.output
		FROM dataset_versions d JOIN (SELECT name, COUNT(*) AS n, MAX(version) AS v FROM dataset_versions GROUP BY name) c
		ON d.name=c.name AND d.version=c.v ORDER BY d.name`)
	if err != nil {
		return nil, fmt.Errorf("datasets: %w", err)
	}
	defer rows.Close()
	var out []Dataset
	for rows.Next() {
		var d Dataset
		var created int64
		l := &d.Latest
		if err := rows.Scan(&d.Name, &d.Versions, &l.Version, &l.Hash, &created, &l.Producer.RunID, &l.Producer.Step,
			&l.Producer.Output); err != nil {
			return nil, fmt.Errorf("datasets: %w", err)
		}
		l.Name, l.Created = d.Name, fromNanos(created)
		out = append(out, d)
	}
	return out, rows.Err()
}

// ListVersions returns the versions of one dataset, oldest first; ErrNotFound if it has none.
func (w *Workspace) ListVersions(ctx context.Context, name string) ([]DatasetVersion, error) {
	rows, err := w.db.QueryContext(ctx, `SELECT version, hash, created, run_id, step, output FROM dataset_versions
		WHERE name=? ORDER BY version`, name)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", name, err)
	}
	defer rows.Close()
	var out []DatasetVersion
	for rows.Next() {
		v := DatasetVersion{Name: name}
		var created int64
		if err := rows.Scan(&v.Version, &v.Hash, &created, &v.Producer.RunID, &v.Producer.Step, &v.Producer.Output); err != nil {
			return nil, fmt.Errorf("dataset %s: %w", name, err)
		}
		v.Created = fromNanos(created)
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("dataset %s: %w", name, ErrNotFound)
	}
	return out, nil
}

// GetVersion reads one version: ref is a version number, "latest", or a prefix of its hash.
// The result carries its object and its lineage.
func (w *Workspace) GetVersion(ctx context.Context, name, ref string) (*DatasetVersion, error) {
	vs, err := w.ListVersions(ctx, name)
	if err != nil {
		return nil, err
	}
	var found *DatasetVersion
	n, numErr := strconv.Atoi(ref)
	for i := range vs {
		v := &vs[i]
		switch {
		case ref == "" || ref == "latest":
			found = &vs[len(vs)-1]
		case numErr == nil && v.Version == n:
			found = v
		case numErr != nil && len(ref) >= 4 && strings.HasPrefix(v.Hash, ref):
			found = v
		}
	}
	if found == nil {
		return nil, fmt.Errorf("dataset %s:%s: %w", name, ref, ErrNotFound)
	}
	if found.Object, err = w.GetObject(ctx, found.Hash); err != nil {
		return nil, err
	}
	if found.Producer.RunID != "" {
		rows, err := w.db.QueryContext(ctx, `SELECT name, value, hash, dataset, version FROM step_io
			WHERE run_id=? AND step=? AND direction='in' ORDER BY name`, found.Producer.RunID, found.Producer.Step)
		if err != nil {
			return nil, fmt.Errorf("dataset %s lineage: %w", name, err)
		}
		defer rows.Close()
		for rows.Next() {
			var io IO
			if err := rows.Scan(&io.Name, &io.Value, &io.Hash, &io.Dataset, &io.Version); err != nil {
				return nil, fmt.Errorf("dataset %s lineage: %w", name, err)
			}
			found.Inputs = append(found.Inputs, io)
		}
	}
	return found, nil
}

// CacheEntry is a reusable step result: the outputs (name → content version) that a step with
// this cache key produced.
type CacheEntry struct {
	Key     string
	RunID   string
	Step    string
	Outputs map[string]string
}

// LookupCache returns the entry for key, or nil when there is none.
func (w *Workspace) LookupCache(ctx context.Context, key string) (*CacheEntry, error) {
	e := &CacheEntry{Key: key}
	var outs string
	err := w.db.QueryRowContext(ctx, `SELECT run_id, step, outputs FROM cache WHERE key=?`, key).Scan(&e.RunID, &e.Step, &outs)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reuse cache: %w", err)
	}
	if err := json.Unmarshal([]byte(outs), &e.Outputs); err != nil {
		return nil, fmt.Errorf("reuse cache entry %s: %w", key, err)
	}
	return e, nil
}

// PutCache records (or replaces) a reusable step result.
func (w *Workspace) PutCache(ctx context.Context, e *CacheEntry) error {
	outs, err := json.Marshal(e.Outputs)
	if err != nil {
		return fmt.Errorf("reuse cache: %w", err)
	}
	_, err = w.db.ExecContext(ctx, `INSERT OR REPLACE INTO cache (key, run_id, step, outputs, created) VALUES (?, ?, ?, ?, ?)`,
		e.Key, e.RunID, e.Step, string(outs), time.Now().UnixNano())
	if err != nil {
		return fmt.Errorf("reuse cache: %w", err)
	}
	return nil
}

// HashCache returns the workspace's file hash cache for manifest.Build.
func (w *Workspace) HashCache() manifest.Cache { return hashCache{w} }

type hashCache struct{ w *Workspace }

func (c hashCache) Get(ctx context.Context, k manifest.FileKey) (string, error) {
	var sum string
	err := c.w.db.QueryRowContext(ctx, `SELECT sha256 FROM filehash WHERE path=? AND size=? AND mtime=? AND inode=?`,
		k.Path, k.Size, k.ModTime, int64(k.Inode)).Scan(&sum)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("hash cache: %w", err)
	}
	return sum, nil
}

func (c hashCache) Put(ctx context.Context, k manifest.FileKey, sum string) error {
	_, err := c.w.db.ExecContext(ctx, `INSERT OR REPLACE INTO filehash (path, size, mtime, inode, sha256) VALUES (?, ?, ?, ?, ?)`,
		k.Path, k.Size, k.ModTime, int64(k.Inode), sum)
	if err != nil {
		return fmt.Errorf("hash cache: %w", err)
	}
	return nil
}
