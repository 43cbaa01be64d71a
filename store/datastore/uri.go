package datastore

import (
	"fmt"
	"strings"
)

// SchemeBlob is the scheme of Azure Blob URIs.
const SchemeBlob = "azblob"

// URI is a parsed azblob://ACCOUNT/CONTAINER/PATH.
type URI struct {
	Scheme    string // "azblob"
	Account   string // storage account: 3–24 lowercase letters and digits
	Container string // 3–63 lowercase letters, digits and single hyphens, starting and ending alphanumeric
	Path      string // slash-separated prefix inside the container, no leading or trailing slash; may be ""
}

// IsURI reports whether s is written as a URI (scheme://...) rather than a local path.
func IsURI(s string) bool { return strings.Contains(s, "://") }

// String formats u back as text; ParseURI(u.String()) == u for every parsed u.
func (u URI) String() string {
	s := u.Scheme + "://" + u.Account + "/" + u.Container
	if u.Path != "" {
		s += "/" + u.Path
	}
	return s
}

// Join returns u with name appended to its path.
func (u URI) Join(name string) URI {
	name = strings.Trim(name, "/")
	switch {
	case name == "":
	case u.Path == "":
		u.Path = name
	default:
		u.Path += "/" + name
	}
	return u
}

// ParseURI parses azblob://ACCOUNT/CONTAINER[/PATH]. A trailing slash is dropped; empty, "." and
// ".." path segments, control characters, backslashes, '?' and '#' are errors (ErrBadURI), so a
// path can never climb out of its container or smuggle a query.
func ParseURI(s string) (URI, error) {
	bad := func(why string) (URI, error) {
		return URI{}, fmt.Errorf("%w %q: %s", ErrBadURI, clip(s), why)
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return bad("want azblob://ACCOUNT/CONTAINER/PATH")
	}
	if scheme != SchemeBlob {
		return bad("unknown scheme " + quoteClip(scheme) + " (want azblob)")
	}
	for _, r := range rest {
		if r < 0x20 || r == 0x7f || r == '\\' || r == '?' || r == '#' {
			return bad(fmt.Sprintf("character %q is not allowed", r))
		}
	}
	rest = strings.TrimSuffix(rest, "/")
	parts := strings.SplitN(rest, "/", 3)
	if len(parts) < 2 {
		return bad("want azblob://ACCOUNT/CONTAINER/PATH")
	}
	u := URI{Scheme: scheme, Account: parts[0], Container: parts[1]}
	if !validAccount(u.Account) {
		return bad("account name must be 3 to 24 lowercase letters and digits")
	}
	if !validContainer(u.Container) {
		return bad("container name must be 3 to 63 lowercase letters, digits and single hyphens")
	}
	if len(parts) == 3 {
		for _, seg := range strings.Split(parts[2], "/") {
			if seg == "" || seg == "." || seg == ".." {
				return bad("path has an empty, \".\" or \"..\" segment")
			}
		}
		if len(parts[2]) > 1024 {
			return bad("path longer than 1024 characters")
		}
		u.Path = parts[2]
	}
	return u, nil
}

func validAccount(s string) bool {
	if len(s) < 3 || len(s) > 24 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func validContainer(s string) bool {
	if len(s) < 3 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// CleanName checks an object name relative to a datastore: slash-separated, no empty, "." or
// ".." segments, no leading slash.
func CleanName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty object name", ErrBadURI)
	}
	for _, seg := range strings.Split(name, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("%w: object name %q has an empty, \".\" or \"..\" segment", ErrBadURI, clip(name))
		}
	}
	if strings.ContainsAny(name, "\\\x00") {
		return fmt.Errorf("%w: object name %q has a backslash or NUL", ErrBadURI, clip(name))
	}
	return nil
}

func clip(s string) string {
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}

func quoteClip(s string) string { return fmt.Sprintf("%q", clip(s)) }
