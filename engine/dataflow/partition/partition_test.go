package partition_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-ml/sluice/engine/dataflow/partition"
)

func items(paths ...string) []partition.Item {
	out := make([]partition.Item, len(paths))
	for i, p := range paths {
		out[i] = partition.Item{Path: p, Size: int64(10 * (i + 1)), Hash: "h" + p}
	}
	return out
}

func sizes(ps []partition.Partition) []int {
	var n []int
	for _, p := range ps {
		n = append(n, len(p.Items))
	}
	return n
}

func eq(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestByCount(t *testing.T) {
	in := items("a", "b", "c", "d", "e")
	for _, tc := range []struct {
		n    int
		want []int
	}{{1, []int{1, 1, 1, 1, 1}}, {2, []int{2, 2, 1}}, {5, []int{5}}, {9, []int{5}}} {
		ps, err := partition.ByCount(in, tc.n)
		if err != nil || !eq(sizes(ps), tc.want) {
			t.Errorf("ByCount(%d) = %v, %v; want %v", tc.n, sizes(ps), err, tc.want)
		}
	}
	if _, err := partition.ByCount(in, 0); !errors.Is(err, partition.ErrBadSize) {
		t.Errorf("n=0: %v", err)
	}
	if _, err := partition.ByCount(items("a", "a"), 1); !errors.Is(err, partition.ErrDuplicate) {
		t.Errorf("duplicate: %v", err)
	}
	// IDs are stable and depend on content.
	p1, _ := partition.ByCount(in, 2)
	p2, _ := partition.ByCount(items("a", "b", "c", "d", "e"), 2)
	if p1[0].ID != p2[0].ID || p1[0].ID == p1[1].ID || len(p1[0].ID) != 16 {
		t.Errorf("ids %s %s %s", p1[0].ID, p2[0].ID, p1[1].ID)
	}
	changed := items("a", "b", "c", "d", "e")
	changed[0].Hash = "other"
	p3, _ := partition.ByCount(changed, 2)
	if p3[0].ID == p1[0].ID || p3[1].ID != p1[1].ID {
		t.Error("a changed item must change its partition's ID, and only that one")
	}
}

func TestByBytes(t *testing.T) {
	in := items("a", "b", "c", "d") // sizes 10, 20, 30, 40
	for _, tc := range []struct {
		max  int64
		want []int
	}{{30, []int{2, 1, 1}}, {60, []int{3, 1}}, {5, []int{1, 1, 1, 1}}, {1000, []int{4}}} {
		ps, err := partition.ByBytes(in, tc.max)
		if err != nil || !eq(sizes(ps), tc.want) {
			t.Errorf("ByBytes(%d) = %v, %v; want %v", tc.max, sizes(ps), err, tc.want)
		}
	}
	if _, err := partition.ByBytes(in, -1); !errors.Is(err, partition.ErrBadSize) {
		t.Errorf("max=-1: %v", err)
	}
	ps, _ := partition.ByBytes(in, 60)
	if ps[0].Bytes() != 60 {
		t.Errorf("Bytes = %d", ps[0].Bytes())
	}
}

func TestByKeys(t *testing.T) {
	in := items("s1/2024-01-01/a.jpg", "s2/2024-01-01/b.jpg", "s1/2024-01-01/c.jpg", "s1/2024-01-02/d.jpg")
	ps, err := partition.ByKeys(in, "{store}/{date}/*")
	if err != nil {
		t.Fatal(err)
	}
	if !eq(sizes(ps), []int{2, 1, 1}) || ps[0].Keys["store"] != "s1" || ps[0].Keys["date"] != "2024-01-01" || ps[1].Keys["store"] != "s2" {
		t.Errorf("partitions %+v", ps)
	}
	ps, err = partition.ByKeys(in, "{store}/**")
	if err != nil || !eq(sizes(ps), []int{3, 1}) {
		t.Errorf("{store}/** = %v, %v", sizes(ps), err)
	}
	if _, err := partition.ByKeys(items("s1/a.jpg"), "{store}/{date}/*"); !errors.Is(err, partition.ErrNoMatch) {
		t.Errorf("short path: %v", err)
	}
	if _, err := partition.ByKeys(items("x/2024/a.jpg"), "{store}/2023/*"); !errors.Is(err, partition.ErrNoMatch) {
		t.Errorf("literal mismatch: %v", err)
	}
}

func TestParseFormat(t *testing.T) {
	for _, bad := range []string{"", "*", "a/b", "{a}/{a}", "{a}//b", "**/{a}", "{a b}", "x{a}", "{}", "{a}/*x"} {
		if _, err := partition.ParseFormat(bad); !errors.Is(err, partition.ErrBadFormat) {
			t.Errorf("ParseFormat(%q) = %v, want ErrBadFormat", bad, err)
		}
	}
	f, err := partition.ParseFormat("/data/{year}/{month}/**")
	if err != nil {
		t.Fatal(err)
	}
	if k := f.Keys(); len(k) != 2 || k[0] != "year" || k[1] != "month" {
		t.Errorf("keys %v", k)
	}
	kv, err := f.Match("data/2024/05/x/y.csv")
	if err != nil || kv["year"] != "2024" || kv["month"] != "05" {
		t.Errorf("match %v %v", kv, err)
	}
	if _, err := f.Match("data/2024/05"); !errors.Is(err, partition.ErrNoMatch) {
		t.Errorf("** needs a segment: %v", err)
	}
}

func FuzzFormat(f *testing.F) {
	for _, s := range []string{"{store}/{date}/*", "/data/{y}/**", "{a}", "a/{b}/c", "{a}//b", "**"} {
		f.Add(s, "s1/2024/x.jpg")
	}
	f.Fuzz(func(t *testing.T, format, path string) {
		fm, err := partition.ParseFormat(format)
		if err != nil {
			if !errors.Is(err, partition.ErrBadFormat) {
				t.Fatalf("ParseFormat(%q): %v", format, err)
			}
			return
		}
		kv, err := fm.Match(path)
		if err != nil {
			if !errors.Is(err, partition.ErrNoMatch) {
				t.Fatalf("Match(%q): %v", path, err)
			}
			return
		}
		if len(kv) != len(fm.Keys()) {
			t.Fatalf("Match(%q) = %v, keys %v", path, kv, fm.Keys())
		}
		for _, k := range fm.Keys() {
			if v := kv[k]; v == "" || strings.Contains(v, "/") {
				t.Fatalf("key %q = %q from %q", k, v, path)
			}
		}
	})
}

func TestListDir(t *testing.T) {
	root := t.TempDir()
	for name, data := range map[string]string{"b/2.txt": "two", "a.txt": "one", "b/1.txt": "one"} {
		p := filepath.Join(root, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Symlink(filepath.Join(root, "a.txt"), filepath.Join(root, "link.txt"))
	got, err := partition.ListDir(context.Background(), root, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Path != "a.txt" || got[1].Path != "b/1.txt" || got[2].Path != "b/2.txt" {
		t.Fatalf("items %+v", got)
	}
	const sha256One = "7692c3ad3540bb803c020b3aee66cd8887123234ea0c6e7143c0add73ff431ed"
	if got[0].Hash != sha256One || got[1].Hash != sha256One || got[2].Hash == sha256One || got[0].Size != 3 {
		t.Errorf("hashes %+v", got)
	}
	if _, err := partition.ListDir(context.Background(), filepath.Join(root, "missing"), 1); err == nil {
		t.Error("missing root: no error")
	}
}
