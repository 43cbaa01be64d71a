package azureblob

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/sluice-ml/sluice/engine/transfer"
	"github.com/sluice-ml/sluice/internal/azuritetest"
	"github.com/sluice-ml/sluice/store/datastore"
)

// A folder goes to Blob and back through a proxy that cuts connections: every byte arrives, a
// second transfer copies nothing, and a changed file is the only one copied again.
func TestTransferThroughFaultyProxy(t *testing.T) {
	t.Parallel()
	az := azuritetest.Shared(t)
	proxy := azuritetest.NewFaultyProxy(t, az.Addr, 4, 200<<10)
	s := newStore(t, func(c *Config) {
		c.Endpoint = "http://" + proxy.Addr + "/" + azuritetest.Account
		c.Retry = policy.RetryOptions{MaxRetries: 10, RetryDelay: 10 * time.Millisecond, MaxRetryDelay: 100 * time.Millisecond}
	})
	ctx := context.Background()
	src := t.TempDir()
	rng := rand.New(rand.NewPCG(3, 4))
	want := map[string][]byte{}
	for i := range 24 {
		size := rng.IntN(64 << 10)
		if i%6 == 0 {
			size = 2<<20 + rng.IntN(1<<20) // several 1 MiB blocks
		}
		b := make([]byte, size)
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		name := fmt.Sprintf("d%d/f%02d.bin", i%4, i)
		want[name] = b
		os.MkdirAll(filepath.Join(src, fmt.Sprintf("d%d", i%4)), 0o755)
		os.WriteFile(filepath.Join(src, filepath.FromSlash(name)), b, 0o644)
	}
	local := func(dir string) datastore.Location {
		return datastore.Location{Store: datastore.NewLocal(dir), URI: dir}
	}
	remote := datastore.Location{Store: s, Prefix: "set", URI: s.URI() + "/set"}
	p, err := transfer.Copy(ctx, local(src), remote, transfer.Options{Concurrency: 6})
	if err != nil || p.Copied != 24 {
		t.Fatalf("up: %+v %v", p, err)
	}
	back := t.TempDir()
	if p, err = transfer.Copy(ctx, remote, local(back), transfer.Options{Concurrency: 6}); err != nil || p.Copied != 24 {
		t.Fatalf("down: %+v %v", p, err)
	}
	for name, b := range want {
		got, err := os.ReadFile(filepath.Join(back, filepath.FromSlash(name)))
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("%s differs after the round trip (%v)", name, err)
		}
	}
	if p, err = transfer.Copy(ctx, local(src), remote, transfer.Options{}); err != nil || p.Copied != 0 || p.Skipped != 24 {
		t.Fatalf("second up: %+v %v", p, err)
	}
	os.WriteFile(filepath.Join(src, "d1", "f01.bin"), []byte("new"), 0o644)
	if p, err = transfer.Copy(ctx, local(src), remote, transfer.Options{}); err != nil || p.Copied != 1 {
		t.Fatalf("changed up: %+v %v", p, err)
	}
	if proxy.Drops() == 0 {
		t.Fatal("no connection was cut")
	}
	t.Logf("%d connections cut", proxy.Drops())
}
