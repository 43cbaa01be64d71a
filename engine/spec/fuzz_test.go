package spec

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that Parse never panics, that its errors always wrap ErrInvalid and carry
// the file name, and that what it accepts validates again and orders all its jobs.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"testdata/valid", "testdata/invalid"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("f.yaml", data)
		if err != nil {
			if p != nil {
				t.Fatal("a pipeline with an error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error is not a non-empty ErrorList: %#v", err)
			}
			for _, e := range list {
				if e.Pos.File != "f.yaml" || e.Pos.Line < 1 || e.Pos.Col < 1 {
					t.Fatalf("error without a position: %v", e)
				}
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("parsed pipeline does not validate again: %v", err)
		}
		if got := p.TopoOrder(); len(got) != len(p.Jobs) {
			t.Fatalf("TopoOrder has %d jobs, want %d", len(got), len(p.Jobs))
		}
		_, _ = p.Resolve(map[string]string{"x": "1"})
	})
}
