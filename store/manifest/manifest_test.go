package manifest

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

func write(t *testing.T, root, rel, body string) {
	t.Helper()
	p := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func paths(m *Manifest) []string {
	var out []string
	for _, e := range m.Entries {
		out = append(out, e.Path)
	}
	return out
}

func TestBuildHashesContentNotTime(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	write(t, dir, "a.txt", "alpha")
	write(t, dir, "sub/b.txt", "beta")
	m1, err := Build(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := paths(m1); len(got) != 2 || got[0] != "a.txt" || got[1] != "sub/b.txt" {
		t.Fatalf("entries %v", got)
	}
	// A new mtime with the same content keeps the version.
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "a.txt"), later, later); err != nil {
		t.Fatal(err)
	}
	m2, _ := Build(ctx, dir, Options{})
	if m1.Hash() != m2.Hash() {
		t.Fatal("touching a file changed the content version")
	}
	write(t, dir, "sub/b.txt", "beta!")
	m3, _ := Build(ctx, dir, Options{})
	if m3.Hash() == m1.Hash() {
		t.Fatal("changing a file kept the version")
	}
	// Renaming a file changes the version too.
	if err := os.Rename(filepath.Join(dir, "a.txt"), filepath.Join(dir, "c.txt")); err != nil {
		t.Fatal(err)
	}
	m4, _ := Build(ctx, dir, Options{})
	if m4.Hash() == m3.Hash() {
		t.Fatal("renaming a file kept the version")
	}
}

func TestIgnoreRules(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, dir, ".gitignore", "*.log\nbuild/\n")
	write(t, dir, "main.sh", "echo hi")
	write(t, dir, "run.log", "noise")
	write(t, dir, "build/out.bin", "x")
	write(t, dir, ".git/HEAD", "ref")
	write(t, dir, "lib/.gitignore", "tmp*\n")
	write(t, dir, "lib/tmp1", "x")
	write(t, dir, "lib/keep.py", "x")
	write(t, dir, "lib/deep/tmp2", "x")
	m, err := Build(context.Background(), dir, Options{Ignore: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{".gitignore", "lib/.gitignore", "lib/keep.py", "main.sh"}
	got := paths(m)
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
	// .amlignore wins over .gitignore in the same folder.
	write(t, dir, ".amlignore", "main.sh\n")
	m, _ = Build(context.Background(), dir, Options{Ignore: true})
	for _, p := range paths(m) {
		if p == "main.sh" {
			t.Fatal(".amlignore not applied")
		}
	}
	if len(paths(m)) < 4 || paths(m)[0] != ".amlignore" {
		t.Fatalf(".gitignore should be unused when .amlignore exists: %v", paths(m))
	}
	// Without Ignore, everything but nothing skipped.
	all, _ := Build(context.Background(), dir, Options{})
	if len(all.Entries) != 10 {
		t.Fatalf("plain walk: %v", paths(all))
	}
}

type mapCache struct {
	mu   sync.Mutex
	m    map[FileKey]string
	hits int
}

func (c *mapCache) Get(_ context.Context, k FileKey) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.m[k]
	if s != "" {
		c.hits++
	}
	return s, nil
}

func (c *mapCache) Put(_ context.Context, k FileKey, s string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[k] = s
	return nil
}

func TestCacheSkipsRecentFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, dir, "old", "old")
	write(t, dir, "new", "new")
	past := time.Now().Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "old"), past, past); err != nil {
		t.Fatal(err)
	}
	c := &mapCache{m: map[FileKey]string{}}
	ctx := context.Background()
	m1, _ := Build(ctx, dir, Options{Cache: c})
	if len(c.m) != 1 {
		t.Fatalf("cache holds %d entries, want only the old file", len(c.m))
	}
	m2, _ := Build(ctx, dir, Options{Cache: c})
	if c.hits != 1 || m1.Hash() != m2.Hash() {
		t.Fatalf("hits %d", c.hits)
	}
	// A poisoned cache entry shows it is really used for old files.
	for k := range c.m {
		c.m[k] = "0000"
	}
	m3, _ := Build(ctx, dir, Options{Cache: c})
	if m3.Hash() == m1.Hash() {
		t.Fatal("cache was not consulted")
	}
}

func TestSingleFileAndCopyTree(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, dir, "src/.gitignore", "*.tmp\n")
	write(t, dir, "src/run.sh", "#!/bin/sh\n")
	write(t, dir, "src/x.tmp", "junk")
	if err := os.Chmod(filepath.Join(dir, "src/run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	m, err := Build(context.Background(), filepath.Join(dir, "src/run.sh"), Options{})
	if err != nil || len(m.Entries) != 1 || m.Entries[0].Path != "run.sh" {
		t.Fatalf("%v %v", m, err)
	}
	dst := filepath.Join(dir, "dst")
	if err := CopyTree(filepath.Join(dir, "src"), dst, true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dst, "x.tmp")); !os.IsNotExist(err) {
		t.Fatal("ignored file copied")
	}
	st, err := os.Stat(filepath.Join(dst, "run.sh"))
	if err != nil || st.Mode().Perm()&0o100 == 0 {
		t.Fatalf("mode not kept: %v %v", st, err)
	}
	a, _ := Build(context.Background(), filepath.Join(dir, "src"), Options{Ignore: true})
	b, _ := Build(context.Background(), dst, Options{Ignore: true})
	if a.Hash() != b.Hash() {
		t.Fatal("snapshot differs from what was hashed")
	}
	if _, err := Build(context.Background(), filepath.Join(dir, "missing"), Options{}); err == nil {
		t.Fatal("missing path accepted")
	}
}
