package batchscoring

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/sluice-ml/sluice/engine/dataflow/commitlog"
	"github.com/sluice-ml/sluice/internal/azuritetest"
	"github.com/sluice-ml/sluice/store/azureblob"
	"github.com/sluice-ml/sluice/store/datastore"
)

func TestMain(m *testing.M) {
	code := m.Run()
	azuritetest.Stop()
	os.Exit(code)
}

// someImages copies n sample images into a fresh folder.
func someImages(t *testing.T, n int) string {
	t.Helper()
	var srcs []string
	filepath.WalkDir(sampleImages, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			srcs = append(srcs, p)
		}
		return nil
	})
	sort.Strings(srcs)
	dir := t.TempDir()
	for i := 0; i < n; i++ {
		src := srcs[i*len(srcs)/n]
		rel, _ := filepath.Rel(sampleImages, src)
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Join(dir, filepath.Dir(rel)), 0o755)
		os.WriteFile(filepath.Join(dir, rel), b, 0o644)
	}
	return dir
}

// Two shards of a run writing to Blob split the partitions between them with no coordination
// beyond the commit records; the run that completes the output says so; a run whose upload was
// lost after its local commit publishes the partition on the next run without scoring it again.
func TestScoreShardsToBlob(t *testing.T) {
	t.Parallel()
	az := azuritetest.Shared(t)
	ctx := context.Background()
	res := &datastore.Resolver{}
	res.SetBlobOpener(func(ctx context.Context, u datastore.URI) (datastore.Datastore, error) {
		return azureblob.New(ctx, azureblob.Config{Account: u.Account, Container: u.Container, Endpoint: az.Endpoint,
			Auth: azureblob.AuthSharedKey, Secret: az.Key})
	})
	images := someImages(t, 24)
	const out = "azblob://sluicetest/shards/preds"
	run := func(shard, shards int, state string) Result {
		t.Helper()
		cfg, _ := sampleConfig(t, images)
		cfg.Output, cfg.Resolver, cfg.MiniBatch, cfg.Shard, cfg.Shards, cfg.StateDir = out, res, 4, shard, shards, state
		r, err := Score(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	r0 := run(0, 2, t.TempDir())
	if r0.Complete || r0.Published == 0 || r0.Elsewhere != 0 || r0.Scored != r0.Items {
		t.Fatalf("shard 0: %+v", r0)
	}
	state1 := t.TempDir()
	r1 := run(1, 2, state1)
	if !r1.Complete || r1.Published == 0 || r1.Scored != r1.Items || r0.Items+r1.Items != 24 {
		t.Fatalf("shard 1: %+v (shard 0 %+v)", r1, r0)
	}
	// The whole input, once more: everything is committed already.
	all := run(0, 1, t.TempDir())
	if all.Scored != 0 || all.Elsewhere != r0.Published+r1.Published || all.Items != 24 || !all.Complete {
		t.Fatalf("full rerun: %+v", all)
	}

	// Lose one of shard 1's records (as if it had been killed between its local commit and the
	// upload): shard 1 publishes it again from its local state, scoring nothing.
	loc, _ := res.Resolve(ctx, out)
	var victim string
	for _, p := range r1.Partitions {
		if !p.Skipped {
			victim = commitlog.RecordName(p.ID)
		}
	}
	if err := loc.Store.Delete(ctx, loc.Name(victim)); err != nil {
		t.Fatal(err)
	}
	again := run(1, 2, state1)
	if again.Scored != 0 || again.Published != 1 || !again.Complete {
		t.Fatalf("shard 1 after a lost record %s: %+v", victim, again)
	}
	if _, err := loc.Store.Stat(ctx, loc.Name(victim)); err != nil {
		t.Fatalf("record %s not republished: %v", victim, err)
	}
}
