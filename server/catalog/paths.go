package catalog

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sluice-ml/sluice/store/datastore"
)

// Roots is a set of folders, or Blob URI prefixes, that paths must stay inside. A Blob root is
// azblob://ACCOUNT/CONTAINER[/PREFIX], or azblob://ACCOUNT for every container of the account
// (what a datastore of the workspace file without a container covers).
type Roots []string

// NewRoots makes the roots absolute and resolves their symbolic links; Blob roots are checked
// and written in their canonical form (ErrInvalid for a malformed one).
func NewRoots(dirs ...string) (Roots, error) {
	var out Roots
	for _, d := range dirs {
		if datastore.IsURI(d) {
			r, err := blobRoot(d)
			if err != nil {
				return nil, fmt.Errorf("%w: data root: %w", ErrInvalid, err)
			}
			out = append(out, r)
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

// blobRoot parses a Blob root into its canonical text.
func blobRoot(s string) (string, error) {
	u, err := datastore.ParseURI(s)
	if err == nil {
		return u.String(), nil
	}
	scheme, rest, _ := strings.Cut(s, "://")
	acct := strings.TrimSuffix(rest, "/")
	if scheme != datastore.SchemeBlob || acct == "" || strings.Contains(acct, "/") {
		return "", err
	}
	// azblob://ACCOUNT: the account is checked as ParseURI checks it.
	if _, err := datastore.ParseURI(scheme + "://" + acct + "/probe"); err != nil {
		return "", fmt.Errorf("%w %q: account name must be 3 to 24 lowercase letters and digits", datastore.ErrBadURI, s)
	}
	return scheme + "://" + acct, nil
}

// Contains reports whether p (absolute, or a URI) lies inside one of the roots, once its
// symbolic links are resolved: a link inside a root that points out of it is outside. A URI
// must parse (datastore.ParseURI: no "." or ".." segments, no query) and, in its canonical
// form, equal a Blob root or extend it by whole path segments.
func (rs Roots) Contains(p string) bool {
	if datastore.IsURI(p) {
		u, err := datastore.ParseURI(p)
		if err != nil {
			return false
		}
		c := u.String()
		for _, r := range rs {
			if datastore.IsURI(r) && (c == r || strings.HasPrefix(c, r+"/")) {
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
		if datastore.IsURI(r) {
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
