package azureblob

import (
	"bytes"
	"context"
	"crypto/md5"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"golang.org/x/sync/errgroup"

	"github.com/sluice-ml/sluice/internal/azuritetest"
	"github.com/sluice-ml/sluice/store/datastore"
)

func TestMain(m *testing.M) {
	code := m.Run()
	azuritetest.Stop()
	os.Exit(code)
}

var containerSeq atomic.Uint32

func init() { containerSeq.Store(rand.Uint32()) }

func newStore(t *testing.T, mutate func(*Config)) *Store {
	t.Helper()
	az := azuritetest.Shared(t)
	cfg := Config{Account: azuritetest.Account, Container: fmt.Sprintf("c%08x", containerSeq.Add(1)), Endpoint: az.Endpoint,
		Auth: AuthSharedKey, Secret: az.Key, BlockSize: 1 << 20, Concurrency: 4}
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func put(t *testing.T, s datastore.Datastore, name string, data []byte) {
	t.Helper()
	w, err := s.Create(context.Background(), name, datastore.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, s datastore.Datastore, name string) []byte {
	t.Helper()
	r, err := s.Open(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCRUD(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, auth := range []AuthKind{AuthSharedKey, AuthConnectionString, AuthSAS} {
		t.Run(string(auth), func(t *testing.T) {
			s := newStore(t, func(c *Config) {
				switch auth {
				case AuthConnectionString:
					c.Auth, c.Secret = auth, azuritetest.Shared(t).ConnectionString()
				case AuthSAS:
					// A container SAS made with the key, then used alone.
					keyed, err := New(ctx, *c)
					if err != nil {
						t.Fatal(err)
					}
					keyed.ensureContainer(ctx)
					u, err := keyed.c.GetSASURL(sas.ContainerPermissions{Read: true, Write: true, Create: true, Delete: true, List: true},
						time.Now().Add(time.Hour), nil)
					if err != nil {
						t.Fatal(err)
					}
					_, q, _ := strings.Cut(u, "?")
					c.Auth, c.Secret = auth, q
				}
			})
			data := []byte("hello, blob")
			put(t, s, "a/b.txt", data)
			if got := get(t, s, "a/b.txt"); !bytes.Equal(got, data) {
				t.Fatalf("read %q", got)
			}
			in, err := s.Stat(ctx, "a/b.txt")
			if err != nil {
				t.Fatal(err)
			}
			sum := md5.Sum(data)
			if in.Size != int64(len(data)) || !bytes.Equal(in.MD5, sum[:]) || in.ETag == "" {
				t.Fatalf("stat %+v", in)
			}
			if _, err := s.Stat(ctx, "a/missing"); !errors.Is(err, datastore.ErrNotFound) {
				t.Fatalf("stat missing: %v", err)
			}
			if _, err := s.Open(ctx, "a/missing"); !errors.Is(err, datastore.ErrNotFound) {
				t.Fatalf("open missing: %v", err)
			}
			if err := s.Delete(ctx, "a/b.txt"); err != nil {
				t.Fatal(err)
			}
			if err := s.Delete(ctx, "a/b.txt"); err != nil {
				t.Fatalf("second delete: %v", err)
			}
			if _, err := s.Stat(ctx, "a/b.txt"); !errors.Is(err, datastore.ErrNotFound) {
				t.Fatalf("after delete: %v", err)
			}
		})
	}
}

// A write abandoned by canceling its context commits nothing: the old content stays.
func TestCreateCanceledCommitsNothing(t *testing.T) {
	t.Parallel()
	s := newStore(t, nil)
	put(t, s, "x", []byte("old"))
	ctx, cancel := context.WithCancel(context.Background())
	w, err := s.Create(ctx, "x", datastore.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(bytes.Repeat([]byte("n"), 3<<20))
	cancel()
	if err := w.Close(); err == nil {
		t.Fatal("Close after cancel succeeded")
	}
	if got := get(t, s, "x"); string(got) != "old" {
		t.Fatalf("content %q", got[:min(10, len(got))])
	}
}

// A Content-MD5 that does not match the data is caught on read.
func TestChecksumMismatchOnRead(t *testing.T) {
	t.Parallel()
	s := newStore(t, nil)
	bad := md5.Sum([]byte("something else"))
	w, err := s.Create(context.Background(), "x", datastore.CreateOptions{MD5: bad[:]})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("data"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := s.Open(context.Background(), "x")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := io.ReadAll(r); !errors.Is(err, datastore.ErrChecksum) {
		t.Fatalf("read: %v", err)
	}
	if err := s.DownloadFile(context.Background(), "x", filepath.Join(t.TempDir(), "x")); !errors.Is(err, datastore.ErrChecksum) {
		t.Fatalf("download: %v", err)
	}
}

func TestList10000(t *testing.T) {
	t.Parallel() // the slowest test (10,000 requests to a single-threaded emulator): overlap it with the rest
	if testing.Short() {
		t.Skip("-short")
	}
	s := newStore(t, nil)
	ctx := context.Background()
	s.ensureContainer(ctx)
	// The 10,000 blobs are made with plain PUTs under a container SAS: the SDK's pipeline costs
	// more than the emulator's work under the race detector, and only the listing is under test.
	sasURL, err := s.c.GetSASURL(sas.ContainerPermissions{Write: true, Create: true}, time.Now().Add(time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	base, query, _ := strings.Cut(sasURL, "?")
	const workers = 16
	hc := &http.Client{Transport: &http.Transport{MaxIdleConns: workers, MaxIdleConnsPerHost: workers}}
	defer hc.CloseIdleConnections()
	const n = 10000
	start := time.Now()
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for i := range n {
		g.Go(func() error {
			req, _ := http.NewRequestWithContext(gctx, http.MethodPut, fmt.Sprintf("%s/many/%05d.txt?%s", base, i, query),
				bytes.NewReader([]byte{byte(i)}))
			req.Header.Set("x-ms-blob-type", "BlockBlob")
			req.Header.Set("x-ms-version", "2021-12-02")
			resp, err := hc.Do(req)
			if err != nil {
				return err
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusCreated {
				return fmt.Errorf("PUT blob %d: %s", i, resp.Status)
			}
			return nil
		})
	}
	put(t, s, "other/x", []byte("not listed"))
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d blobs written in %s", n, time.Since(start))
	var names []string
	if err := s.List(ctx, "many/", func(in datastore.Info) error {
		names = append(names, in.Name)
		if in.Size != 1 {
			return fmt.Errorf("%s: size %d", in.Name, in.Size)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(names) != n {
		t.Fatalf("listed %d blobs, want %d (pages of 5,000 must all be read)", len(names), n)
	}
	for i, name := range names {
		if want := fmt.Sprintf("many/%05d.txt", i); name != want {
			t.Fatalf("names[%d] = %s, want %s", i, name, want)
		}
	}
}

func randomFile(t *testing.T, size int) (string, []byte) {
	t.Helper()
	data := make([]byte, size)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	p := filepath.Join(t.TempDir(), "big.bin")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p, data
}

// A large file goes up in parallel 1 MiB blocks and comes back identical.
func TestLargeBlobParallelBlocks(t *testing.T) {
	t.Parallel()
	s := newStore(t, nil)
	ctx := context.Background()
	p, data := randomFile(t, 12<<20+12345)
	if err := s.UploadFile(ctx, "big/file.bin", p, datastore.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	bl, err := s.c.NewBlockBlobClient("big/file.bin").GetBlockList(ctx, blockblob.BlockListTypeCommitted, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(bl.CommittedBlocks); got != 13 {
		t.Fatalf("%d committed blocks, want 13 of 1 MiB", got)
	}
	in, err := s.Stat(ctx, "big/file.bin")
	sum := md5.Sum(data)
	if err != nil || !bytes.Equal(in.MD5, sum[:]) {
		t.Fatalf("stat: %+v %v", in, err)
	}
	out := filepath.Join(t.TempDir(), "back.bin")
	if err := s.DownloadFile(ctx, "big/file.bin", out); err != nil {
		t.Fatal(err)
	}
	back, _ := os.ReadFile(out)
	if !bytes.Equal(back, data) {
		t.Fatal("downloaded data differs")
	}
	if got := get(t, s, "big/file.bin"); !bytes.Equal(got, data) {
		t.Fatal("streamed data differs")
	}
}

// Connections cut midway (by a proxy) are retried by the pipeline; the data arrives intact.
func TestTransientFaultsRetried(t *testing.T) {
	t.Parallel()
	az := azuritetest.Shared(t)
	proxy := azuritetest.NewFaultyProxy(t, az.Addr, 3, 300<<10)
	s := newStore(t, func(c *Config) {
		c.Endpoint = "http://" + proxy.Addr + "/" + azuritetest.Account
		c.Retry = policy.RetryOptions{MaxRetries: 10, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 100 * time.Millisecond}
	})
	ctx := context.Background()
	p, data := randomFile(t, 6<<20)
	if err := s.UploadFile(ctx, "f.bin", p, datastore.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 200<<10) // 3.2 MiB streamed
	put(t, s, "g.bin", big)
	out := filepath.Join(t.TempDir(), "f.bin")
	if err := s.DownloadFile(ctx, "f.bin", out); err != nil {
		t.Fatal(err)
	}
	back, _ := os.ReadFile(out)
	if !bytes.Equal(back, data) {
		t.Fatal("downloaded data differs")
	}
	if got := get(t, s, "g.bin"); !bytes.Equal(got, big) {
		t.Fatal("streamed data differs")
	}
	if proxy.Drops() == 0 {
		t.Fatal("the proxy cut no connection: the test proved nothing")
	}
	t.Logf("%d connections cut", proxy.Drops())
}

// A wrong key fails with an error that names the account but not the key.
func TestErrorsHideSecrets(t *testing.T) {
	t.Parallel()
	wrong := strings.Repeat("QUJD", 22) // valid base64, wrong key
	for _, tc := range []struct {
		auth   AuthKind
		secret string
	}{
		{AuthSharedKey, wrong},
		{AuthSAS, "sv=2023-01-03&ss=b&srt=sco&sp=rl&se=2030-01-01T00:00:00Z&sig=" + "c2VjcmV0c2lnbmF0dXJldmFsdWU%3D"},
	} {
		t.Run(string(tc.auth), func(t *testing.T) {
			s := newStore(t, func(c *Config) { c.Auth, c.Secret = tc.auth, tc.secret })
			_, err := s.Stat(context.Background(), "x")
			err2 := s.List(context.Background(), "", func(datastore.Info) error { return nil })
			for _, e := range []error{err, err2} {
				if e == nil {
					t.Fatal("no error with a wrong credential")
				}
				if strings.Contains(e.Error(), tc.secret) || strings.Contains(e.Error(), "c2VjcmV0c2lnbmF0dXJldmFsdWU") {
					t.Fatalf("error leaks the secret: %v", e)
				}
			}
		})
	}
}
