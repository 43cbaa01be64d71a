package catalog

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-ml/sluice/store/datastore"
)

func TestRootsContain(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	root := filepath.Join(base, "data")
	outside := filepath.Join(base, "secret")
	for _, d := range []string{root, outside, filepath.Join(root, "sub")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{"out": outside, "in": filepath.Join(root, "sub"), "dangling": filepath.Join(base, "nowhere")}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	rs, err := NewRoots(root, "azblob://acct1/cont/prefix/", "azblob://whole1/")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path string
		ok   bool
	}{
		{root, true},
		{filepath.Join(root, "sub", "x.txt"), true},
		{filepath.Join(root, "not", "yet", "made"), true},
		{filepath.Join(root, "in", "x"), true},
		{filepath.Join(root, "out"), false},
		{filepath.Join(root, "out", "x"), false},
		{filepath.Join(root, "dangling"), false},
		{filepath.Join(root, "..", "secret"), false},
		{root + "x", false},
		{outside, false},
		{"relative/path", false},
		{"/", false},
		{"azblob://acct1/cont/prefix/a.jpg", true},
		{"azblob://acct1/cont/prefix", true},
		{"azblob://acct1/cont/prefix/", true},
		{"azblob://acct1/cont/prefixx/a.jpg", false},
		{"azblob://acct1/cont/prefix/../other/a.jpg", false},
		{"azblob://acct1/cont/prefix/./a.jpg", false},
		{"azblob://acct1/cont/prefix//a.jpg", false},
		{"azblob://acct1/cont/prefix/a.jpg?sv=1", false},
		{"azblob://acct1/cont/other/a.jpg", false},
		{"azblob://acct1/cont", false},
		{"azblob://acct1/contx/prefix/a.jpg", false},
		{"azblob://acct12/cont/prefix/a.jpg", false},
		{"azblob://whole1/any-container/a/b.jpg", true},
		{"azblob://whole1/any-container", true},
		{"azblob://whole12/any-container/a", false},
		{"azblob://whole1", false},
		{"s3://acct1/cont/prefix/a", false},
	}
	for _, c := range cases {
		if got := rs.Contains(c.path); got != c.ok {
			t.Errorf("Contains(%q) = %v, want %v", c.path, got, c.ok)
		}
	}
}

func TestBlobRootsAreChecked(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"azblob://c/prefix", "azblob://UPPER/c1c", "s3://acct1/cont", "azblob://acct1/cont/../x", "azblob://"} {
		if _, err := NewRoots(bad); err == nil {
			t.Errorf("NewRoots(%q): no error", bad)
		}
	}
	rs, err := NewRoots("azblob://acct1/cont/p/", "azblob://acct2")
	if err != nil {
		t.Fatal(err)
	}
	if rs[0] != "azblob://acct1/cont/p" || rs[1] != "azblob://acct2" {
		t.Fatalf("canonical roots: %q", rs)
	}
}

// FuzzBlobRoots: no input panics; an accepted URI parses and, canonical, lies under a root by
// whole segments.
func FuzzBlobRoots(f *testing.F) {
	for _, s := range []string{"azblob://acct1/cont/prefix/a.jpg", "azblob://acct1/cont/prefix/../x", "azblob://whole1/c1c/x",
		"azblob://acct1/cont/prefixx", "azblob://acct1/cont/prefix//a", "azblob://acct1/cont/prefix/a?b", "azblob://whole1"} {
		f.Add(s)
	}
	rs, err := NewRoots("azblob://acct1/cont/prefix", "azblob://whole1")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, p string) {
		_, _ = NewRoots(p)
		if !rs.Contains(p) || !datastore.IsURI(p) {
			return
		}
		u, err := datastore.ParseURI(p)
		if err != nil {
			t.Fatalf("accepted %q, which does not parse: %v", p, err)
		}
		in := u.Account == "whole1" || (u.Account == "acct1" && u.Container == "cont" &&
			(u.Path == "prefix" || strings.HasPrefix(u.Path, "prefix/")))
		if !in {
			t.Fatalf("accepted %q outside the roots", p)
		}
	})
}
