package datastore

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseURI(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want URI
		err  string
	}{
		{"azblob://acct1/cont", URI{"azblob", "acct1", "cont", ""}, ""},
		{"azblob://acct1/cont/", URI{"azblob", "acct1", "cont", ""}, ""},
		{"azblob://acct1/my-cont/a/b c/d.png", URI{"azblob", "acct1", "my-cont", "a/b c/d.png"}, ""},
		{"azblob://acct1/cont/a/b/", URI{"azblob", "acct1", "cont", "a/b"}, ""},
		{"s3://b/k", URI{}, "unknown scheme"},
		{"/local/path", URI{}, "want azblob://"},
		{"azblob://acct1", URI{}, "want azblob://"},
		{"azblob://Acct/cont", URI{}, "account name"},
		{"azblob://ab/cont", URI{}, "account name"},
		{"azblob://acct1/co", URI{}, "container name"},
		{"azblob://acct1/-cont", URI{}, "container name"},
		{"azblob://acct1/a--b", URI{}, "container name"},
		{"azblob://acct1/cont/../x", URI{}, `".."`},
		{"azblob://acct1/cont/a//b", URI{}, "empty"},
		{"azblob://acct1/cont/a?sig=x", URI{}, "not allowed"},
		{"azblob://acct1/cont/a\\b", URI{}, "not allowed"},
		{"azblob://acct1/cont/a\nb", URI{}, "not allowed"},
	} {
		got, err := ParseURI(tc.in)
		if tc.err != "" {
			if !errors.Is(err, ErrBadURI) || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseURI(%q) = %v, %v; want error with %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseURI(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func FuzzParseURI(f *testing.F) {
	for _, s := range []string{"azblob://acct1/cont/a/b", "azblob://acct1/cont", "azblob://a/b/../c", "azblob:///", "x://y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseURI(s)
		if err != nil {
			return
		}
		// Round trip, and no way out of the container.
		again, err := ParseURI(u.String())
		if err != nil || again != u {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, u, u.String(), again, err)
		}
		for _, seg := range strings.Split(u.Path, "/") {
			if u.Path != "" && (seg == "" || seg == "." || seg == "..") {
				t.Fatalf("%q: path %q escapes", s, u.Path)
			}
		}
		if u.Path != "" && CleanName(u.Path) != nil {
			t.Fatalf("%q: path %q is not a clean object name", s, u.Path)
		}
	})
}

func TestLocal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := NewLocal(t.TempDir())
	for _, n := range []string{"b/x.txt", "a.txt", "b/y/z.txt", "ba.txt"} {
		w, err := l.Create(ctx, n, CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, "data of "+n)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	l.List(ctx, "b/", func(in Info) error { names = append(names, in.Name); return nil })
	if strings.Join(names, ",") != "b/x.txt,b/y/z.txt" {
		t.Fatalf("list b/: %v", names)
	}
	names = nil
	l.List(ctx, "", func(in Info) error { names = append(names, in.Name); return nil })
	if strings.Join(names, ",") != "a.txt,b/x.txt,b/y/z.txt,ba.txt" {
		t.Fatalf("list: %v", names)
	}
	if _, err := l.Stat(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("stat: %v", err)
	}
	if _, err := l.Open(ctx, "../escape"); !errors.Is(err, ErrBadURI) {
		t.Fatalf("open ..: %v", err)
	}
	// A canceled write commits nothing and leaves no temporary file behind.
	cctx, cancel := context.WithCancel(ctx)
	w, _ := l.Create(cctx, "a.txt", CreateOptions{})
	io.WriteString(w, "new")
	cancel()
	if err := w.Close(); err == nil {
		t.Fatal("canceled Close succeeded")
	}
	b, _ := os.ReadFile(filepath.Join(l.Root, "a.txt"))
	if string(b) != "data of a.txt" {
		t.Fatalf("a.txt = %q", b)
	}
	entries, _ := os.ReadDir(l.Root)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), tmpPrefix) {
			t.Fatalf("temporary file left: %s", e.Name())
		}
	}
	if err := l.Delete(ctx, "a.txt"); err != nil || l.Delete(ctx, "a.txt") != nil {
		t.Fatalf("delete: %v", err)
	}
}

func TestResolverAndManifest(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	root := t.TempDir()
	r := &Resolver{}
	if _, err := r.Resolve(ctx, "azblob://acct1/cont/x"); !errors.Is(err, ErrNoDatastore) {
		t.Fatalf("unconfigured blob: %v", err)
	}
	opened := 0
	r.SetBlobOpener(func(_ context.Context, u URI) (Datastore, error) {
		opened++
		return NewLocal(filepath.Join(root, u.Account, u.Container)), nil
	})
	os.MkdirAll(filepath.Join(root, "acct1", "cont", "dir", "sub"), 0o755)
	os.WriteFile(filepath.Join(root, "acct1", "cont", "dir", "one"), []byte("1"), 0o644)
	os.WriteFile(filepath.Join(root, "acct1", "cont", "dir", "sub", "two"), []byte("22"), 0o644)
	os.WriteFile(filepath.Join(root, "acct1", "cont", "dirx"), []byte("not in dir/"), 0o644)
	loc, err := r.Resolve(ctx, "azblob://acct1/cont/dir")
	if err != nil {
		t.Fatal(err)
	}
	if err := loc.Probe(ctx); err != nil || loc.Single {
		t.Fatalf("probe folder: %v %v", loc.Single, err)
	}
	m, err := Manifest(ctx, loc)
	if err != nil || len(m.Entries) != 2 || m.Entries[0].Path != "one" || m.Entries[1].Path != "sub/two" || m.Entries[1].Size != 2 {
		t.Fatalf("manifest %+v %v", m, err)
	}
	one, _ := r.Resolve(ctx, "azblob://acct1/cont/dir/one")
	if err := one.Probe(ctx); err != nil || !one.Single {
		t.Fatalf("probe object: %v %v", one.Single, err)
	}
	if opened != 1 {
		t.Fatalf("opened %d datastores for one container", opened)
	}
	lf, err := r.Resolve(ctx, filepath.Join(root, "acct1", "cont", "dirx"))
	if err != nil || !lf.Single || lf.Prefix != "dirx" {
		t.Fatalf("local file: %+v %v", lf, err)
	}
}
