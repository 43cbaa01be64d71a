package catalog

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Roots is a set of folders (or datastore URI prefixes such as azblob://container/prefix) that
// paths must stay inside.
type Roots []string

// NewRoots makes the roots absolute and resolves their symbolic links.
func NewRoots(dirs ...string) (Roots, error) {
	var out Roots
	for _, d := range dirs {
		if strings.Contains(d, "://") {
			out = append(out, strings.TrimRight(d, "/"))
			continue
		}
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, fmt.Errorf("data root %s: %w", d, err)
		}
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			abs = real
		}
		out = append(out, abs)
	}
	return out, nil
}

// Contains reports whether p (absolute, or a URI) lies inside one of the roots, once its
// symbolic links are resolved: a link inside a root that points out of it is outside.
func (rs Roots) Contains(p string) bool {
	if strings.Contains(p, "://") {
		for _, seg := range strings.Split(p, "/") {
			if seg == ".." || seg == "." {
				return false
			}
		}
		for _, r := range rs {
			if strings.Contains(r, "://") && (p == r || strings.HasPrefix(p, r+"/")) {
				return true
			}
		}
		return false
	}
	if !filepath.IsAbs(p) {
		return false
	}
	real, ok := resolve(filepath.Clean(p))
	if !ok {
		return false
	}
	for _, r := range rs {
		if strings.Contains(r, "://") {
			continue
		}
		rel, err := filepath.Rel(r, real)
		if err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// resolve evaluates the symbolic links of the longest existing prefix of p; ok is false when an
// existing part cannot be resolved (a dangling or looping link), which could lead anywhere.
func resolve(p string) (string, bool) {
	if real, err := filepath.EvalSymlinks(p); err == nil {
		return real, true
	}
	if _, err := os.Lstat(p); err == nil {
		return "", false
	}
	dir, base := filepath.Split(p)
	dir = filepath.Clean(dir)
	if dir == p {
		return p, true
	}
	real, ok := resolve(dir)
	return filepath.Join(real, base), ok
}
