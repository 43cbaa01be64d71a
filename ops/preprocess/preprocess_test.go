package preprocess

import (
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sluice-ml/sluice/ops/decode"
)

func load(t *testing.T, name string) *decode.Image {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	img, err := decode.Decode(b, decode.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// The pixels of each preset equal torchvision's on the same PIL image, byte for byte.
func TestPresetsMatchTorchvisionPixels(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"land", "port", "tiny"} {
		src := load(t, name+".png")
		for preset, ref := range map[string]string{"torchvision": ".tv.png", "inception": ".inc.png", "inception-tf": ".inc.png"} {
			want := load(t, name+ref)
			got, w, h, err := Presets[preset].Image(src.Pix, src.Width, src.Height)
			if err != nil {
				t.Fatal(err)
			}
			if w != want.Width || h != want.Height {
				t.Fatalf("%s %s: %dx%d, want %dx%d", name, preset, w, h, want.Width, want.Height)
			}
			diff := 0
			for i := range got {
				if got[i] != want.Pix[i] {
					diff++
				}
			}
			if diff != 0 {
				t.Fatalf("%s %s: %d of %d values differ from torchvision", name, preset, diff, len(got))
			}
		}
	}
}

// The whole chain (resize, crop, ToTensor, Normalize, CHW) within 1/255 of torchvision's tensor.
func TestFreeSpecMatchesTorchvisionTensor(t *testing.T) {
	t.Parallel()
	sp, err := Parse("resize=64,crop=56,mean=0.485:0.456:0.406,std=0.229:0.224:0.225,layout=chw,order=rgb")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"land", "port", "tiny"} {
		src := load(t, name+".png")
		raw, err := os.ReadFile(filepath.Join("testdata", name+".small.f32"))
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float32, len(raw)/4)
		for i := range want {
			want[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		got := make([]float32, 3*56*56)
		if err := sp.Apply(src.Pix, src.Width, src.Height, got); err != nil {
			t.Fatal(err)
		}
		for i := range got {
			// 1/255 in the normalized scale of the channel (divided by its std).
			std := sp.Std[i/(56*56)]
			if d := math.Abs(float64(got[i] - want[i])); d > 1.0/255/float64(std)+1e-6 {
				t.Fatalf("%s: value %d = %v, want %v", name, i, got[i], want[i])
			}
		}
	}
}

func TestLayoutAndOrder(t *testing.T) {
	t.Parallel()
	img := []uint8{10, 20, 30, 40, 50, 60} // 2x1
	chw := make([]float32, 6)
	hwcBGR := make([]float32, 6)
	Spec{Scale: 1, Std: [3]float32{1, 1, 1}}.Tensor(img, 2, 1, chw)
	Spec{Scale: 1, Std: [3]float32{1, 1, 1}, HWC: true, BGR: true}.Tensor(img, 2, 1, hwcBGR)
	if want := []float32{10, 40, 20, 50, 30, 60}; !slices.Equal(chw, want) {
		t.Fatalf("chw %v", chw)
	}
	if hwcBGR[0] != 30 || hwcBGR[1] != 20 || hwcBGR[2] != 10 || hwcBGR[3] != 60 {
		t.Fatalf("hwc bgr %v", hwcBGR)
	}
	tf := make([]float32, 6)
	Presets["inception-tf"].Tensor([]uint8{0, 255, 0, 255, 0, 255}, 2, 1, tf)
	if tf[0] != -1 || tf[2] != 1 {
		t.Fatalf("inception-tf range: %v", tf)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "bogus", "resize=0", "crop=axb", "mean=1:2", "std=1:0:1", "layout=xyz", "order=gbr",
		"scale=1/0", "resize=256,size=224", "colour=red"} {
		if _, err := Parse(s); !errors.Is(err, ErrSpec) {
			t.Errorf("%q: %v", s, err)
		}
	}
	sp, err := Parse("size=32x24,scale=1,order=bgr,layout=hwc")
	if err != nil || sp.Width != 32 || sp.Height != 24 || !sp.BGR || !sp.HWC || sp.Scale != 1 {
		t.Fatalf("%+v %v", sp, err)
	}
	if w, h := Presets["torchvision"].OutSize(500, 375); w != 224 || h != 224 {
		t.Fatal("OutSize")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"torchvision", "resize=256,crop=224", "size=3x4,mean=1:2:3,std=1:1:1", "scale=2/255"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sp, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrSpec) {
				t.Fatalf("%v", err)
			}
			return
		}
		w, h := sp.OutSize(40, 30)
		if w <= 0 || h <= 0 {
			return
		}
		dst := make([]float32, 3*w*h)
		if err := sp.Apply(make([]uint8, 3*40*30), 40, 30, dst); err != nil && sp.CropW <= 40 && sp.CropH <= 30 && sp.ResizeShort == 0 && sp.Width == 0 {
			t.Fatalf("%q: %v", s, err)
		}
	})
}
