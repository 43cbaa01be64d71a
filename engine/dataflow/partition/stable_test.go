package partition

import (
	"fmt"
	"testing"
)

func items(n int, skip map[int]bool) []Item {
	var its []Item
	for i := 0; i < n; i++ {
		if !skip[i] {
			its = append(its, Item{Path: fmt.Sprintf("img/%05d.jpg", i), Hash: fmt.Sprint(i)})
		}
	}
	return its
}

func TestByPathCoversEveryItemOnce(t *testing.T) {
	its := items(5000, nil)
	ps, err := ByPath(its, 64)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, p := range ps {
		if len(p.Items) > 4*64 || len(p.Items) == 0 {
			t.Fatalf("partition of %d items", len(p.Items))
		}
		for _, it := range p.Items {
			if seen[it.Path] {
				t.Fatalf("%s twice", it.Path)
			}
			seen[it.Path] = true
		}
	}
	if len(seen) != 5000 {
		t.Fatalf("%d items covered", len(seen))
	}
	if avg := 5000 / len(ps); avg < 32 || avg > 128 {
		t.Fatalf("average partition %d items, want about 64", avg)
	}
}

// TestByPathIsStable: inserting one item changes at most two partitions; with ByCount it would
// change nearly all of those after it.
func TestByPathIsStable(t *testing.T) {
	before, _ := ByPath(items(5000, map[int]bool{2500: true}), 64)
	after, _ := ByPath(items(5000, nil), 64)
	ids := map[string]bool{}
	for _, p := range before {
		ids[p.ID] = true
	}
	changed := 0
	for _, p := range after {
		if !ids[p.ID] {
			changed++
		}
	}
	if changed < 1 || changed > 2 {
		t.Fatalf("%d partitions changed after inserting one item", changed)
	}
	if _, err := ByPath(nil, 0); err == nil {
		t.Fatal("size 0 accepted")
	}
}
