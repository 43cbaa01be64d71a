package ledger_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/sluice-ml/sluice/engine/dataflow/ledger"
)

func TestCommitAndQuery(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "l.db")
	l, err := ledger.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	items := []ledger.Item{
		{Hash: "h1", Path: "a.jpg", Row: 0},
		{Hash: "h2", Path: "b.jpg", Row: 1, Error: "b.jpg: not an image"},
		{Hash: "h1", Path: "copy/a.jpg", Row: 2},
	}
	if err := l.Commit(ctx, "k", ledger.Partition{ID: "p1", File: "part-p1.parquet", Rows: 3, FailedItems: 1}, items); err != nil {
		t.Fatal(err)
	}
	// Recommitting replaces, never duplicates.
	if err := l.Commit(ctx, "k", ledger.Partition{ID: "p1", File: "part-p1.parquet", Rows: 3, FailedItems: 1}, items); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l, err = ledger.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ps, err := l.Partitions(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if p := ps["p1"]; len(ps) != 1 || p.Rows != 3 || p.FailedItems != 1 || p.File != "part-p1.parquet" || p.Failed || p.Committed.IsZero() {
		t.Fatalf("partitions = %+v", ps)
	}
	if other, _ := l.Partitions(ctx, "other-key"); len(other) != 0 {
		t.Errorf("other key sees %v", other)
	}
	all, err := l.Items(ctx, "k", false)
	if err != nil || len(all) != 3 {
		t.Fatalf("items = %v, %v", all, err)
	}
	errs, err := l.Items(ctx, "k", true)
	if err != nil || len(errs) != 1 || errs[0].Path != "b.jpg" || errs[0].Error != "b.jpg: not an image" || errs[0].Row != 1 {
		t.Fatalf("errors = %+v, %v", errs, err)
	}
	same, err := l.Lookup(ctx, "k", "h1")
	if err != nil || len(same) != 2 || same[0].Path != "a.jpg" || same[1].Path != "copy/a.jpg" {
		t.Fatalf("lookup = %+v, %v", same, err)
	}
	if err := l.Forget(ctx, "k", "p1"); err != nil {
		t.Fatal(err)
	}
	if ps, _ := l.Partitions(ctx, "k"); len(ps) != 0 {
		t.Errorf("after Forget: %v", ps)
	}
	if all, _ := l.Items(ctx, "k", false); len(all) != 0 {
		t.Errorf("after Forget: %v", all)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := l.Partitions(ctx, "k"); err != ledger.ErrClosed {
		t.Errorf("after Close: %v", err)
	}
	var nilLedger *ledger.Ledger
	if err := nilLedger.Close(); err != nil {
		t.Errorf("nil Close: %v", err)
	}
}

func BenchmarkCommit250(b *testing.B) {
	ctx := context.Background()
	l, err := ledger.Open(ctx, filepath.Join(b.TempDir(), "l.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	items := make([]ledger.Item, 250)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := fmt.Sprint(i)
		for j := range items {
			items[j] = ledger.Item{Hash: fmt.Sprintf("%016x", i*1000+j), Path: fmt.Sprintf("items/%06d.bin", i*1000+j), Row: int64(j)}
		}
		if err := l.Commit(ctx, "chaos-model@v1", ledger.Partition{ID: id, File: "f", Rows: 250}, items); err != nil {
			b.Fatal(err)
		}
	}
}
