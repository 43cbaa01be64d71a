package datastore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// tmpPrefix marks files being written by Create; List never shows them.
const tmpPrefix = ".sluice-tmp-"

// Local is a datastore in a local folder; object names are paths relative to Root.
type Local struct {
	Root string
}

// NewLocal returns the datastore rooted at dir (which need not exist yet).
func NewLocal(dir string) *Local { return &Local{Root: filepath.Clean(dir)} }

// URI is the root folder.
func (l *Local) URI() string { return l.Root }

// LocalPath is where object name is (or would be) on disk.
func (l *Local) LocalPath(name string) string {
	return filepath.Join(l.Root, filepath.FromSlash(name))
}

func (l *Local) path(name string) (string, error) {
	if err := CleanName(name); err != nil {
		return "", err
	}
	return l.LocalPath(name), nil
}

// Open reads an object.
func (l *Local) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	p, err := l.path(name)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", p, ErrNotFound)
	}
	return f, err
}

// Create writes to a temporary file beside the target and renames it on Close.
func (l *Local) Create(ctx context.Context, name string, _ CreateOptions) (io.WriteCloser, error) {
	p, err := l.path(name)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(filepath.Dir(p), tmpPrefix+"*")
	if err != nil {
		return nil, err
	}
	return &localWriter{ctx: ctx, f: f, target: p}, nil
}

type localWriter struct {
	ctx    context.Context // the Create call's context: Close commits only while it lives
	f      *os.File
	target string
	done   bool
}

func (w *localWriter) Write(p []byte) (int, error) {
	if err := w.ctx.Err(); err != nil {
		return 0, err
	}
	return w.f.Write(p)
}

func (w *localWriter) Close() error {
	if w.done {
		return nil
	}
	w.done = true
	err := w.f.Close()
	if err == nil {
		err = w.ctx.Err()
	}
	if err == nil {
		err = os.Rename(w.f.Name(), w.target)
	}
	if err != nil {
		os.Remove(w.f.Name())
	}
	return err
}

// List walks the folder under prefix; names are sorted.
func (l *Local) List(ctx context.Context, prefix string, fn func(Info) error) error {
	var infos []Info
	// Start the walk at the deepest folder the prefix names, to avoid walking the whole root.
	start := l.Root
	if i := strings.LastIndexByte(prefix, '/'); i > 0 {
		start = filepath.Join(l.Root, filepath.FromSlash(prefix[:i]))
	}
	err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, rerr := filepath.Rel(l.Root, p)
		if rerr != nil {
			return rerr
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel != "." && !strings.HasPrefix(rel+"/", prefix) && !strings.HasPrefix(prefix, rel+"/") {
				return fs.SkipDir
			}
			return nil
		}
		if strings.HasPrefix(d.Name(), tmpPrefix) || !strings.HasPrefix(rel, prefix) {
			return nil
		}
		st, err := os.Stat(p) // follows links to files
		if err != nil || !st.Mode().IsRegular() {
			return nil
		}
		infos = append(infos, Info{Name: rel, Size: st.Size(), ModTime: st.ModTime()})
		return nil
	})
	if err != nil {
		return err
	}
	sort.Slice(infos, func(i, j int) bool { return infos[i].Name < infos[j].Name })
	for _, in := range infos {
		if err := fn(in); err != nil {
			return err
		}
	}
	return nil
}

// Stat describes one file.
func (l *Local) Stat(ctx context.Context, name string) (Info, error) {
	if err := ctx.Err(); err != nil {
		return Info{}, err
	}
	p, err := l.path(name)
	if err != nil {
		return Info{}, err
	}
	st, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) || err == nil && !st.Mode().IsRegular() {
		return Info{}, fmt.Errorf("%s: %w", p, ErrNotFound)
	}
	if err != nil {
		return Info{}, err
	}
	return Info{Name: name, Size: st.Size(), ModTime: st.ModTime()}, nil
}

// Delete removes a file.
func (l *Local) Delete(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	p, err := l.path(name)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
