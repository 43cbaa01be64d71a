package commitlog_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-ml/sluice/engine/dataflow/commitlog"
	"github.com/sluice-ml/sluice/store/datastore"
)

func setup(t *testing.T) (datastore.Location, string) {
	t.Helper()
	out := datastore.Location{Store: datastore.NewLocal(t.TempDir()), Prefix: "preds"}
	local := t.TempDir()
	return out, local
}

func publish(t *testing.T, out datastore.Location, local, key, id, content string) commitlog.Record {
	t.Helper()
	f := filepath.Join(local, "part-"+id+".parquet")
	if err := os.WriteFile(f, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	rec := commitlog.Record{Key: key, Partition: id, File: "part-" + id + ".parquet", Rows: 2, By: "test",
		Items:       []commitlog.Item{{Hash: "h1", Path: "a.jpg", Row: 0}, {Hash: "h2", Path: "b.jpg", Row: 1, Error: "decode: truncated"}},
		FailedItems: 1}
	if err := commitlog.Publish(context.Background(), out, f, rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestPublishLoad(t *testing.T) {
	ctx := context.Background()
	out, local := setup(t)
	l, err := commitlog.Load(ctx, out, "k1")
	if err != nil || len(l.Records) != 0 {
		t.Fatalf("empty output: %+v %v", l, err)
	}
	publish(t, out, local, "k1", "aaaa", "first")
	publish(t, out, local, "k1", "bbbb", "second")
	publish(t, out, local, "k2", "cccc", "third")
	l, err = commitlog.Load(ctx, out, "k1")
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Records) != 2 || l.Records["aaaa"].Size != 5 || l.Records["bbbb"].Items[1].Error != "decode: truncated" {
		t.Fatalf("records %+v", l.Records)
	}
	if l.Ignored[commitlog.RecordName("cccc")] != "another run key" || len(l.Files) != 3 {
		t.Fatalf("ignored %v, files %v", l.Ignored, l.Files)
	}
	p, items := l.Records["aaaa"].Ledger()
	if p.ID != "aaaa" || p.File != "part-aaaa.parquet" || len(items) != 2 || items[1].Partition != "aaaa" {
		t.Fatalf("ledger form %+v %+v", p, items)
	}

	// A file that changed after its record, a record that is not JSON, a record naming another
	// partition: all ignored (their partitions are redone), none fatal.
	root := out.Store.(datastore.LocalPather)
	os.WriteFile(root.LocalPath(out.Name("part-bbbb.parquet")), []byte("second, longer"), 0o644)
	os.WriteFile(root.LocalPath(out.Name(commitlog.RecordName("dddd"))), []byte("{not json"), 0o644)
	b, _ := os.ReadFile(root.LocalPath(out.Name(commitlog.RecordName("aaaa"))))
	os.WriteFile(root.LocalPath(out.Name(commitlog.RecordName("eeee"))), b, 0o644)
	l, err = commitlog.Load(ctx, out, "k1")
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Records) != 1 || l.Records["aaaa"].Partition != "aaaa" {
		t.Fatalf("records %+v", l.Records)
	}
	for name, want := range map[string]string{"bbbb": "bytes, recorded", "dddd": "commit record", "eeee": "names partition aaaa"} {
		if got := l.Ignored[commitlog.RecordName(name)]; !strings.Contains(got, want) {
			t.Fatalf("record %s ignored for %q, want %q", name, got, want)
		}
	}

	n, err := commitlog.Prune(ctx, out, l, map[string]bool{"part-aaaa.parquet": true}, map[string]bool{"aaaa": true})
	if err != nil || n != 6 {
		t.Fatalf("pruned %d: %v", n, err)
	}
	l, _ = commitlog.Load(ctx, out, "k1")
	if len(l.Files) != 1 || len(l.RecordNames) != 1 || len(l.Records) != 1 {
		t.Fatalf("after prune: %+v", l)
	}
}

func TestPublishRefusesBadNames(t *testing.T) {
	out, local := setup(t)
	f := filepath.Join(local, "x")
	os.WriteFile(f, []byte("x"), 0o644)
	for _, rec := range []commitlog.Record{{Partition: "a/b", File: "part-a"}, {Partition: "a", File: "../x"}, {Partition: "a"}} {
		if err := commitlog.Publish(context.Background(), out, f, rec); err == nil {
			t.Fatalf("%+v published", rec)
		}
	}
}

// FuzzLoad: whatever a record holds, Load neither fails nor takes it unless it is sound.
func FuzzLoad(f *testing.F) {
	f.Add([]byte(`{"version":1,"run_key":"k","partition":"p","file":"part-p.parquet","size":1,"md5":"","rows":0,"items":[]}`))
	f.Add([]byte(`{"version":1,"run_key":"k","partition":"p","file":"part-p.parquet","size":1,"rows":1,"items":[]}`))
	f.Add([]byte(`[]`))
	f.Add([]byte{0xff, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		out := datastore.Location{Store: datastore.NewLocal(dir)}
		os.MkdirAll(filepath.Join(dir, "_sluice", "ledger"), 0o755)
		os.WriteFile(filepath.Join(dir, "part-p.parquet"), []byte("x"), 0o644)
		os.WriteFile(filepath.Join(dir, "_sluice", "ledger", "p.json"), b, 0o644)
		l, err := commitlog.Load(context.Background(), out, "k")
		if err != nil {
			t.Fatal(err)
		}
		if r, ok := l.Records["p"]; ok && (r.Size != 1 || int64(len(r.Items)) != r.Rows || r.File != "part-p.parquet") {
			t.Fatalf("took an unsound record %+v", r)
		}
	})
}
