package decode

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestTruncatedJPEGsFailUnderConcurrency: JPEGs cut short are errors however many decodes run
// at once. libjpeg-turbo keeps the text of warnings ("Premature end of JPEG file") in one
// buffer for all threads, so a decoder that read that text could take a truncated file for a
// good one while other goroutines decoded; a one-in-many-runs failure of the scoring tests.
func TestTruncatedJPEGsFailUnderConcurrency(t *testing.T) {
	t.Parallel()
	var srcs [][]byte
	for _, name := range []string{"baseline.jpg", "progressive.jpg", "gray.jpg"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, b)
	}
	var wg sync.WaitGroup
	errc := make(chan error, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 60 {
				src := srcs[(g+i)%len(srcs)]
				if i%2 == 0 { // a good image between the truncated ones
					if _, err := Decode(src, Limits{}); err != nil {
						errc <- err
						return
					}
					continue
				}
				cut := src[:len(src)*(1+i%3)/4]
				if _, err := Decode(cut, Limits{}); !errors.Is(err, ErrCorrupt) {
					errc <- fmt.Errorf("a JPEG cut to %d bytes: err %v, want ErrCorrupt", len(cut), err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
}

// TestTruncatedJPEGMarkers: the structural check behind the premature-end error.
func TestTruncatedJPEGMarkers(t *testing.T) {
	full, err := os.ReadFile(filepath.Join("testdata", "baseline.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	if truncatedJPEG(full) {
		t.Error("a whole JPEG counts as truncated")
	}
	if !truncatedJPEG(full[:len(full)-2]) || !truncatedJPEG(full[:len(full)/2]) {
		t.Error("a JPEG without its end-of-image marker counts as whole")
	}
	// Trailing bytes after the EOI (camera trailers) leave it whole.
	if truncatedJPEG(append(append([]byte{}, full...), 0, 1, 2, 3)) {
		t.Error("bytes after the end-of-image marker make it truncated")
	}
}
