package catalog

import (
	"os"
	"path/filepath"
	"testing"
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
	rs, err := NewRoots(root, "azblob://c/prefix/")
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
		{"azblob://c/prefix/a.jpg", true},
		{"azblob://c/prefix", true},
		{"azblob://c/prefixx/a.jpg", false},
		{"azblob://c/prefix/../other/a.jpg", false},
		{"s3://c/prefix/a", false},
	}
	for _, c := range cases {
		if got := rs.Contains(c.path); got != c.ok {
			t.Errorf("Contains(%q) = %v, want %v", c.path, got, c.ok)
		}
	}
}
