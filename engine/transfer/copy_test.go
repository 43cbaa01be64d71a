package transfer

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/sluice-ml/sluice/store/datastore"
)

func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for n, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(n))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func loc(dir string) datastore.Location {
	return datastore.Location{Store: datastore.NewLocal(dir), URI: dir}
}

// remoteLike hides a local store's LocalPath (so copies stream, as between two clouds) and reports
// MD5s in listings, as Blob does; corrupt flips a byte of what Open returns; failAfter makes
// Create fail after that many objects.
type remoteLike struct {
	*datastore.Local
	corrupt   bool
	failAfter int64
	created   atomic.Int64
}

type noPath struct{ datastore.Datastore }

func (r *remoteLike) store() datastore.Datastore { return noPath{r} }

func (r *remoteLike) List(ctx context.Context, prefix string, fn func(datastore.Info) error) error {
	return r.Local.List(ctx, prefix, func(in datastore.Info) error {
		b, err := os.ReadFile(r.LocalPath(in.Name))
		if err != nil {
			return err
		}
		sum := md5.Sum(b)
		in.MD5 = sum[:]
		return fn(in)
	})
}

func (r *remoteLike) Stat(ctx context.Context, name string) (datastore.Info, error) {
	in, err := r.Local.Stat(ctx, name)
	if err == nil {
		b, _ := os.ReadFile(r.LocalPath(name))
		sum := md5.Sum(b)
		in.MD5 = sum[:]
	}
	return in, err
}

func (r *remoteLike) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	rc, err := r.Local.Open(ctx, name)
	if err != nil || !r.corrupt {
		return rc, err
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	b[0] ^= 0xff
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (r *remoteLike) Create(ctx context.Context, name string, o datastore.CreateOptions) (io.WriteCloser, error) {
	if r.failAfter > 0 && r.created.Add(1) > r.failAfter {
		return nil, fmt.Errorf("injected failure")
	}
	return r.Local.Create(ctx, name, o)
}

func TestCopyResumable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	files := map[string]string{}
	for i := range 20 {
		files[fmt.Sprintf("d%d/f%02d.txt", i%3, i)] = fmt.Sprintf("content %d", i)
	}
	src := tree(t, files)
	dstDir := t.TempDir()
	dst := &remoteLike{Local: datastore.NewLocal(dstDir), failAfter: 7}
	dl := datastore.Location{Store: dst.store(), URI: "remote"}
	// The first copy dies midway.
	p, err := Copy(ctx, loc(src), dl, Options{Concurrency: 1})
	if err == nil || p.Copied != 7 {
		t.Fatalf("first copy: %+v %v", p, err)
	}
	// The rerun copies only what is missing.
	dst.failAfter = 0
	var calls int
	p, err = Copy(ctx, loc(src), dl, Options{Concurrency: 4, Progress: func(Progress) { calls++ }})
	if err != nil || p.Copied != 13 || p.Skipped != 7 || calls != 20 || p.Files != 20 {
		t.Fatalf("resume: %+v %v (%d progress calls)", p, err, calls)
	}
	// Then nothing; then only the changed file.
	if p, err = Copy(ctx, loc(src), dl, Options{}); err != nil || p.Copied != 0 {
		t.Fatalf("third copy: %+v %v", p, err)
	}
	os.WriteFile(filepath.Join(src, "d1", "f04.txt"), []byte("content 4!"), 0o644)
	if p, err = Copy(ctx, loc(src), dl, Options{}); err != nil || p.Copied != 1 || p.CopiedBytes != 10 {
		t.Fatalf("changed: %+v %v", p, err)
	}
	// Same size, different bytes: still copied (checksums, not sizes, decide).
	os.WriteFile(filepath.Join(src, "d1", "f04.txt"), []byte("content 4?"), 0o644)
	if p, err = Copy(ctx, loc(src), dl, Options{}); err != nil || p.Copied != 1 {
		t.Fatalf("same size: %+v %v", p, err)
	}
	for n, want := range files {
		if n == "d1/f04.txt" {
			want = "content 4?"
		}
		if b, _ := os.ReadFile(filepath.Join(dstDir, n)); string(b) != want {
			t.Fatalf("%s = %q", n, b)
		}
	}
}

func TestCopyDetectsCorruption(t *testing.T) {
	t.Parallel()
	srcDir := tree(t, map[string]string{"a.bin": "precious bytes"})
	src := &remoteLike{Local: datastore.NewLocal(srcDir), corrupt: true}
	dstDir := t.TempDir()
	_, err := Copy(context.Background(), datastore.Location{Store: src.store()}, loc(dstDir), Options{})
	if !errors.Is(err, datastore.ErrChecksum) {
		t.Fatalf("err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dstDir, "a.bin")); !os.IsNotExist(err) {
		t.Fatal("corrupt data was committed")
	}
}

func TestCopySingleFileAndCancel(t *testing.T) {
	t.Parallel()
	src := tree(t, map[string]string{"one.txt": "1"})
	r := &datastore.Resolver{}
	l, err := r.Resolve(context.Background(), filepath.Join(src, "one.txt"))
	if err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	if p, err := Copy(context.Background(), l, loc(dst), Options{}); err != nil || p.Copied != 1 {
		t.Fatalf("%+v %v", p, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "one.txt")); string(b) != "1" {
		t.Fatalf("one.txt = %q", b)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Copy(ctx, loc(src), loc(t.TempDir()), Options{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled: %v", err)
	}
}
