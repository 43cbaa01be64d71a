package decode

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func reference(t *testing.T, name string) *Image {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".rgb"))
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.IndexByte(b, '\n')
	img := &Image{}
	if _, err := fmt.Sscan(string(b[:i]), &img.Width, &img.Height); err != nil {
		t.Fatal(err)
	}
	img.Pix = b[i+1:]
	return img
}

// maxDiff compares with PIL's decoding of the same file.
func maxDiff(a, b *Image) int {
	m := 0
	for i := range a.Pix {
		d := int(a.Pix[i]) - int(b.Pix[i])
		if d < 0 {
			d = -d
		}
		m = max(m, d)
	}
	return m
}

func meanDiff(a, b *Image) float64 {
	s := 0
	for i := range a.Pix {
		d := int(a.Pix[i]) - int(b.Pix[i])
		s += max(d, -d)
	}
	return float64(s) / float64(len(a.Pix))
}

func TestDecodeMatchesPIL(t *testing.T) {
	t.Parallel()
	// libjpeg-turbo is the library PIL uses: identical pixels. Go's image/jpeg (the fallback, and
	// CMYK) rounds its IDCT and upsampling differently.
	jpegTol := 0
	if Backend != "libjpeg-turbo" {
		jpegTol = 4 // on average per value (see meanDiff)
	}
	for _, tc := range []struct {
		file string
		tol  int
	}{
		{"baseline.jpg", jpegTol}, {"progressive.jpg", jpegTol}, {"gray.jpg", jpegTol}, {"cmyk.jpg", 4},
		{"orient3.jpg", jpegTol}, {"orient6.jpg", jpegTol}, {"orient8.jpg", jpegTol},
		{"rgb.png", 0}, {"rgba.png", 0}, {"palette.png", 0}, {"gray.png", 0}, {"rgb16.png", 0},
		{"first.gif", 0}, {"image.bmp", 0}, {"lossless.webp", 0},
	} {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Decode(data, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			want := reference(t, tc.file)
			if got.Width != want.Width || got.Height != want.Height {
				t.Fatalf("size %dx%d, want %dx%d", got.Width, got.Height, want.Width, want.Height)
			}
			exact := tc.tol == 0
			if d := maxDiff(got, want); exact && d != 0 {
				t.Fatalf("max difference from PIL %d, want none", d)
			}
			if d := meanDiff(got, want); !exact && d > float64(tc.tol) {
				t.Fatalf("mean difference from PIL %.2f > %d", d, tc.tol)
			}
		})
	}
}

func TestOrientationTurnsImagesUpright(t *testing.T) {
	t.Parallel()
	data, _ := os.ReadFile("testdata/orient6.jpg")
	if o := exifOrientation(data); o != 6 {
		t.Fatalf("orientation %d", o)
	}
	img, err := Decode(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if img.Width != 23 || img.Height != 37 {
		t.Fatalf("orientation 6 not applied: %dx%d", img.Width, img.Height)
	}
}

func TestBrokenFilesAreClearErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		file string
		want error
		text string
	}{
		{"bad_empty.jpg", ErrEmpty, "empty"},
		{"bad_random.jpg", ErrFormat, "unknown signature"},
		{"bad_text.png", ErrFormat, "unknown signature"},
		{"bad_truncated.jpg", ErrCorrupt, "jpeg"},
		{"bad_bomb.png", ErrTooLarge, "60000x60000"},
		{"bad_bomb.jpg", ErrTooLarge, "60000x60000"},
	} {
		data, err := os.ReadFile(filepath.Join("testdata", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		_, err = Decode(data, Limits{})
		if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
			t.Errorf("%s: %v, want %v mentioning %q", tc.file, err, tc.want, tc.text)
		}
	}
	data, _ := os.ReadFile("testdata/baseline.jpg")
	if _, err := Decode(data, Limits{MaxPixels: 100}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("pixel limit: %v", err)
	}
	if _, err := Decode(data, Limits{MaxBytes: 10}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("byte limit: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob("testdata/*")
	for _, p := range files {
		if strings.HasSuffix(p, ".rgb") || strings.HasSuffix(p, ".py") {
			continue
		}
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := Decode(b, Limits{MaxPixels: 1 << 20})
		if err != nil {
			if !errors.Is(err, ErrEmpty) && !errors.Is(err, ErrFormat) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error without a sentinel: %v", err)
			}
			return
		}
		if len(img.Pix) != 3*img.Width*img.Height {
			t.Fatalf("%dx%d with %d bytes", img.Width, img.Height, len(img.Pix))
		}
	})
}
