package state

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// PublishedPipeline is a named pipeline endpoint: its versions and the one runs use when they
// name none.
type PublishedPipeline struct {
	Name           string
	DefaultVersion string
	Created        time.Time
	Updated        time.Time
	Versions       []PipelineVersion // oldest first
}

// PipelineVersion is one immutable published version of a pipeline.
type PipelineVersion struct {
	Name        string
	Version     string
	Description string
	YAML        string
	Created     time.Time
}

// PublishPipeline records version v of pipeline v.Name. An empty v.Version becomes the next
// integer ("1", "2", ...). Publishing a version that exists with the same text and description
// is a no-op (created is false); with other contents it is ErrExists. The first version of a
// name becomes its default; later ones become the default when makeDefault is set.
func (w *Workspace) PublishPipeline(ctx context.Context, v *PipelineVersion, makeDefault bool) (created bool, err error) {
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("publish %s: %w", v.Name, err)
	}
	defer tx.Rollback()
	var seq int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM pipeline_versions WHERE name=?`, v.Name).Scan(&seq); err != nil {
		return false, fmt.Errorf("publish %s: %w", v.Name, err)
	}
	if v.Version == "" {
		v.Version = strconv.Itoa(seq + 1)
		for {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM pipeline_versions WHERE name=? AND version=?`,
				v.Name, v.Version).Scan(&n); err != nil {
				return false, fmt.Errorf("publish %s: %w", v.Name, err)
			}
			if n == 0 {
				break
			}
			seq++
			v.Version = strconv.Itoa(seq + 1)
		}
	}
	var yaml, desc string
	var createdAt int64
	err = tx.QueryRowContext(ctx, `SELECT yaml, description, created FROM pipeline_versions WHERE name=? AND version=?`,
		v.Name, v.Version).Scan(&yaml, &desc, &createdAt)
	switch {
	case err == nil:
		if yaml != v.YAML || desc != v.Description {
			return false, fmt.Errorf("pipeline %s version %s: %w with other contents (versions are immutable)",
				v.Name, v.Version, ErrExists)
		}
		v.Created = fromNanos(createdAt)
		return false, nil
	case !errors.Is(err, sql.ErrNoRows):
		return false, fmt.Errorf("publish %s: %w", v.Name, err)
	}
	t := now()
	v.Created = fromNanos(t)
	if _, err := tx.ExecContext(ctx, `INSERT INTO pipeline_versions (name, version, seq, description, yaml, created)
		VALUES (?, ?, ?, ?, ?, ?)`, v.Name, v.Version, seq+1, v.Description, v.YAML, t); err != nil {
		return false, fmt.Errorf("publish %s: %w", v.Name, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO pipelines (name, default_version, created, updated) VALUES (?, ?, ?, ?)
		ON CONFLICT(name) DO UPDATE SET updated=excluded.updated,
		default_version=CASE WHEN ? THEN excluded.default_version ELSE default_version END`,
		v.Name, v.Version, t, t, makeDefault); err != nil {
		return false, fmt.Errorf("publish %s: %w", v.Name, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("publish %s: %w", v.Name, err)
	}
	return true, nil
}

// SetDefaultVersion makes version the default of pipeline name; ErrNotFound when either is unknown.
func (w *Workspace) SetDefaultVersion(ctx context.Context, name, version string) error {
	res, err := w.db.ExecContext(ctx, `UPDATE pipelines SET default_version=?, updated=?
		WHERE name=? AND EXISTS (SELECT 1 FROM pipeline_versions WHERE name=? AND version=?)`,
		version, now(), name, name, version)
	if err != nil {
		return fmt.Errorf("pipeline %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("pipeline %s version %s: %w", name, version, ErrNotFound)
	}
	return nil
}

// ListPublished returns every published pipeline with its versions (without their text), by name.
func (w *Workspace) ListPublished(ctx context.Context) ([]*PublishedPipeline, error) {
	return w.published(ctx, "")
}

// GetPublished returns one published pipeline with its versions (without their text).
func (w *Workspace) GetPublished(ctx context.Context, name string) (*PublishedPipeline, error) {
	ps, err := w.published(ctx, name)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, fmt.Errorf("pipeline %s: %w", name, ErrNotFound)
	}
	return ps[0], nil
}

func (w *Workspace) published(ctx context.Context, name string) ([]*PublishedPipeline, error) {
	rows, err := w.db.QueryContext(ctx, `SELECT p.name, p.default_version, p.created, p.updated, v.version, v.description, v.created
		FROM pipelines p JOIN pipeline_versions v ON v.name = p.name
		WHERE ?='' OR p.name=? ORDER BY p.name, v.seq`, name, name)
	if err != nil {
		return nil, fmt.Errorf("published pipelines: %w", err)
	}
	defer rows.Close()
	var out []*PublishedPipeline
	for rows.Next() {
		var pname, def, ver, desc string
		var created, updated, vcreated int64
		if err := rows.Scan(&pname, &def, &created, &updated, &ver, &desc, &vcreated); err != nil {
			return nil, fmt.Errorf("published pipelines: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].Name != pname {
			out = append(out, &PublishedPipeline{Name: pname, DefaultVersion: def, Created: fromNanos(created),
				Updated: fromNanos(updated)})
		}
		p := out[len(out)-1]
		p.Versions = append(p.Versions, PipelineVersion{Name: pname, Version: ver, Description: desc, Created: fromNanos(vcreated)})
	}
	return out, rows.Err()
}

// GetPipelineVersion returns the text of a published version; "" means the default version.
func (w *Workspace) GetPipelineVersion(ctx context.Context, name, version string) (*PipelineVersion, error) {
	v := &PipelineVersion{Name: name}
	var created int64
	err := w.db.QueryRowContext(ctx, `SELECT v.version, v.description, v.yaml, v.created FROM pipeline_versions v
		JOIN pipelines p ON p.name = v.name
		WHERE v.name=? AND v.version = CASE WHEN ?='' THEN p.default_version ELSE ? END`,
		name, version, version).Scan(&v.Version, &v.Description, &v.YAML, &created)
	if errors.Is(err, sql.ErrNoRows) {
		if version == "" {
			return nil, fmt.Errorf("pipeline %s: %w", name, ErrNotFound)
		}
		return nil, fmt.Errorf("pipeline %s version %s: %w", name, version, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("pipeline %s: %w", name, err)
	}
	v.Created = fromNanos(created)
	return v, nil
}
