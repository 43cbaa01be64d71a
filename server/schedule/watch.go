package schedule

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// File is a file seen under a watched location.
type File struct {
	Path    string // absolute path, or the full URI for remote stores; bound to the parameter
	Version string // changes whenever the file's content may have changed
}

// Watcher lists the files under a location. Scan returns every file present now, in any order;
// it must stop and return ctx.Err() when ctx is done. LocalFolder and Store implement it. A
// Watcher may also have a Check(ctx) error method: Validate calls it when a trigger is created.
type Watcher interface {
	Scan(ctx context.Context) ([]File, error)
}

// LocalFolder watches a folder and everything under it. A file's version is its size and
// modification time.
type LocalFolder struct{ Dir string }

// Scan walks the folder. A folder that does not exist holds no files.
func (l LocalFolder) Scan(ctx context.Context) ([]File, error) {
	var out []File
	err := filepath.WalkDir(l.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		name := d.Name()
		if p != l.Dir && ignored(name) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil // vanished meanwhile
		}
		out = append(out, File{Path: p, Version: strconv.FormatInt(info.Size(), 10) + ":" +
			strconv.FormatInt(info.ModTime().UnixNano(), 10)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", l.Dir, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func ignored(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".tmp") || strings.HasSuffix(name, ".part") ||
		strings.HasSuffix(name, "~")
}

var (
	watchersMu sync.RWMutex
	watchers   = map[string]func(uri string) (Watcher, error){}
)

// RegisterWatcher makes locations "scheme://..." watched by the Watcher that open returns, in
// every Scheduler whose Config.Watchers has none for the scheme. (The server registers
// "azblob" in its scheduler's Config.Watchers instead, with its own resolver.)
func RegisterWatcher(scheme string, open func(uri string) (Watcher, error)) {
	watchersMu.Lock()
	defer watchersMu.Unlock()
	watchers[scheme] = open
}

// WatcherFor returns the Watcher of a location: a LocalFolder for an absolute path, the
// registered one for a URI.
func WatcherFor(location string) (Watcher, error) {
	if scheme, _, ok := strings.Cut(location, "://"); ok {
		watchersMu.RLock()
		open := watchers[scheme]
		watchersMu.RUnlock()
		if open == nil {
			return nil, fmt.Errorf("%w: %s (no watcher for %s://)", ErrUnsupportedLocation, location, scheme)
		}
		return open(location)
	}
	if !filepath.IsAbs(location) {
		return nil, fmt.Errorf("%w: %s is not an absolute path", ErrInvalid, location)
	}
	return LocalFolder{Dir: filepath.Clean(location)}, nil
}
