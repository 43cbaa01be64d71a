package styletransfer

import (
	"context"
	"image"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// The committed style sample (sample/style/make_style_sample.py made all three files).
const sampleDir = "../../sample/style"

// The committed model gives, on frame.png (PyTorch, as the script printed): 96.3 from the input,
// 38.4 from the target, whose distance from the input is 70.9 (mean absolute differences, 0–255).
const (
	minRestyle  = 40 // a visible restyle: the output is at least this far from the input
	maxToTarget = 50 // and at most this far from the poster look it was trained on
)

// readRGB reads a PNG as packed RGB24.
func readRGB(t *testing.T, path string) ([]byte, int, int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b := img.Bounds()
	rgba := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(rgba, rgba.Bounds(), img, b.Min, draw.Src)
	out := make([]byte, 0, 3*b.Dx()*b.Dy())
	for i := 0; i < len(rgba.Pix); i += 4 {
		out = append(out, rgba.Pix[i], rgba.Pix[i+1], rgba.Pix[i+2])
	}
	return out, b.Dx(), b.Dy()
}

// meanAbsDiff is the mean absolute difference of two images' bytes (0–255).
func meanAbsDiff(a, b []byte) float64 {
	var s int
	for i := range a {
		d := int(a[i]) - int(b[i])
		if d < 0 {
			d = -d
		}
		s += d
	}
	return float64(s) / float64(len(a))
}

// The committed sample model (sample/style/poster.pth, trained by the project) loads as a .pth
// and visibly restyles a frame of the committed clip: its output is far from the input frame
// and much closer to the "poster" transform the model was trained on (target.png, computed by
// the training script from the same frame) than the input is.
func TestSampleModelRestylesTheSampleClip(t *testing.T) {
	frame, w, h := readRGB(t, filepath.Join(sampleDir, "frame.png"))
	target, tw, th := readRGB(t, filepath.Join(sampleDir, "target.png"))
	if w != 320 || h != 180 || tw != w || th != h {
		t.Fatalf("frame %dx%d, target %dx%d; want 320x180", w, h, tw, th)
	}
	m, err := LoadModel(context.Background(), filepath.Join(sampleDir, "poster.pth"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Format != "pth" || len(m.Dropped) != 0 {
		t.Fatalf("format %q, dropped keys %v; want a current pytorch/examples state dict", m.Format, m.Dropped)
	}
	out := make([]byte, len(frame))
	if err := m.Stylize(context.Background(), [][]byte{frame}, [][]byte{out}, w, h, nil); err != nil {
		t.Fatal(err)
	}
	changed, toTarget, inputToTarget := meanAbsDiff(out, frame), meanAbsDiff(out, target), meanAbsDiff(frame, target)
	t.Logf("mean absolute difference (0-255): output-input %.1f, output-target %.1f, input-target %.1f", changed, toTarget, inputToTarget)
	if changed < minRestyle {
		t.Errorf("output differs from the input by %.1f on average; want ≥ %v (a visible restyle)", changed, minRestyle)
	}
	if toTarget > maxToTarget || toTarget > 0.7*inputToTarget {
		t.Errorf("output is %.1f from the target on average (the input is %.1f); want ≤ %v and ≤ 70%% of the input's", toTarget, inputToTarget, maxToTarget)
	}
}
