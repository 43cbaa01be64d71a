package datastore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// Opener makes the datastore for the account and container of a URI (its Path is ignored).
type Opener func(ctx context.Context, u URI) (Datastore, error)

// Resolver turns data URIs and local paths into datastores. The zero value resolves local paths
// only; SetBlobOpener adds Azure Blob. Datastores are cached per account and container.
type Resolver struct {
	mu    sync.Mutex
	blob  Opener
	cache map[string]Datastore
}

// SetBlobOpener sets how azblob:// URIs are opened.
func (r *Resolver) SetBlobOpener(o Opener) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.blob = o
}

// Location is data resolved to the store holding it.
type Location struct {
	Store Datastore
	// Prefix is the data's name inside Store: a folder-like prefix ("" for the whole store) or,
	// when Single is set, the name of one object.
	Prefix string
	Single bool
	URI    string // the text that was resolved
}

// Resolve finds where uri (a local path or azblob:// URI) lives. For a local path that is an
// existing file, the location is that single file in its folder; otherwise it is a folder.
// For a Blob URI, Single is decided by Probe.
func (r *Resolver) Resolve(ctx context.Context, uri string) (Location, error) {
	if !IsURI(uri) {
		abs, err := filepath.Abs(uri)
		if err != nil {
			return Location{}, err
		}
		if st, err := os.Stat(abs); err == nil && st.Mode().IsRegular() {
			return Location{Store: NewLocal(filepath.Dir(abs)), Prefix: filepath.Base(abs), Single: true, URI: uri}, nil
		}
		return Location{Store: NewLocal(abs), URI: uri}, nil
	}
	u, err := ParseURI(uri)
	if err != nil {
		return Location{}, err
	}
	key := u.Account + "/" + u.Container
	r.mu.Lock()
	defer r.mu.Unlock()
	if ds, ok := r.cache[key]; ok {
		return Location{Store: ds, Prefix: u.Path, URI: uri}, nil
	}
	if r.blob == nil {
		return Location{}, fmt.Errorf("%s: %w (Azure Blob is not configured)", uri, ErrNoDatastore)
	}
	ds, err := r.blob(ctx, u)
	if err != nil {
		return Location{}, err
	}
	if r.cache == nil {
		r.cache = map[string]Datastore{}
	}
	r.cache[key] = ds
	return Location{Store: ds, Prefix: u.Path, URI: uri}, nil
}

// Probe sets l.Single when l.Prefix names one object rather than a folder-like prefix: an object
// of exactly that name exists and nothing is stored under "Prefix/".
func (l *Location) Probe(ctx context.Context) error {
	if l.Single || l.Prefix == "" {
		return nil
	}
	if _, err := l.Store.Stat(ctx, l.Prefix); err != nil {
		return nil //nolint:nilerr // not an object: a folder
	}
	any := false
	stop := fmt.Errorf("stop")
	err := l.Store.List(ctx, l.Prefix+"/", func(Info) error { any = true; return stop })
	if err != nil && err != stop {
		return err
	}
	l.Single = !any
	return nil
}

// Walk calls fn for every object of the location with its name relative to the location (for a
// single object: its base name), in name order.
func (l Location) Walk(ctx context.Context, fn func(rel string, in Info) error) error {
	if l.Single {
		in, err := l.Store.Stat(ctx, l.Prefix)
		if err != nil {
			return err
		}
		return fn(baseName(l.Prefix), in)
	}
	p := l.Prefix
	if p != "" {
		p += "/"
	}
	return l.Store.List(ctx, p, func(in Info) error { return fn(in.Name[len(p):], in) })
}

// Name is the object name in Store of rel, a name relative to the location.
func (l Location) Name(rel string) string {
	if l.Single {
		return l.Prefix
	}
	if l.Prefix == "" {
		return rel
	}
	return l.Prefix + "/" + rel
}

func baseName(name string) string {
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '/' {
			return name[i+1:]
		}
	}
	return name
}
