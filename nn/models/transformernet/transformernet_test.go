package transformernet

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-ml/sluice/internal/testenv"
	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/cpu"
	"github.com/sluice-ml/sluice/nn/npy"
	"github.com/sluice-ml/sluice/nn/pth"
)

// fixtures are made by scenarios/styletransfer/testdata/gen_fixtures.py (scripts/setup.sh).
const fixtures = "../../testdata/models"

func fixture(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(fixtures, name)
	if _, err := os.Stat(filepath.Join(fixtures, ".style-complete")); err != nil {
		testenv.Missing(t, "style fixtures absent: run /usr/bin/python3 scenarios/styletransfer/testdata/gen_fixtures.py (scripts/setup.sh does)")
	}
	return p
}

func readNpy(t *testing.T, path string) *nn.Tensor {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	x, err := npy.Read(f, npy.Options{})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return x
}

func run(t *testing.T, s *cpu.Session, x *nn.Tensor) *nn.Tensor {
	t.Helper()
	out, err := s.Run(context.Background(), map[string]*nn.Tensor{Input: x})
	if err != nil {
		t.Fatal(err)
	}
	y := out[Output]
	if y == nil {
		for _, v := range out { // an ONNX export names its output itself
			y = v
		}
	}
	return y
}

func maxAbsDiff(a, b []float32) float64 {
	var m float64
	for i := range a {
		m = max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

// The same checkpoint, loaded directly from either serialization and through its ONNX exports
// (opset 9 Upsample, opset 13 Resize), gives the same frames as PyTorch.
func TestPthMatchesONNXAndPyTorch(t *testing.T) {
	ctx := context.Background()
	x := readNpy(t, fixture(t, "style_frames_in.npy"))
	want := readNpy(t, fixture(t, "style_frames_out.npy"))
	// The zip serialization holds the same tensors as the legacy one (the published weights use
	// the legacy format; nn/pth tests both in depth).
	legacy, err := pth.LoadFile(fixture(t, "style_random_legacy.pth"))
	if err != nil {
		t.Fatal(err)
	}
	zipped, err := pth.LoadFile(fixture(t, "style_random_zip.pth"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(legacy.Names, zipped.Names) {
		t.Fatalf("keys differ: %v vs %v", legacy.Names, zipped.Names)
	}
	for _, k := range legacy.Names {
		if !slices.Equal(legacy.Tensors[k].Data, zipped.Tensors[k].Data) {
			t.Fatalf("%s differs between the serializations", k)
		}
	}
	g, dropped, err := Load(fixture(t, "style_random_legacy.pth"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dropped) != 2*15 {
		t.Errorf("dropped %d stale keys, want 30 (15 InstanceNorm layers)", len(dropped))
	}
	s, err := cpu.NewSession(ctx, g, cpu.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	direct := run(t, s, x)
	s.Close()
	if !slices.Equal(direct.Shape, want.Shape) {
		t.Fatalf("output shape %v, want %v", direct.Shape, want.Shape)
	}
	d := maxAbsDiff(direct.F32(), want.F32())
	t.Logf(".pth vs PyTorch: max abs diff %.3g", d)
	if d > 1e-2 {
		t.Errorf(".pth: max abs diff %.3g from PyTorch (of 0–255)", d)
	}
	for _, name := range []string{"style_random_op9.onnx", "style_random_op13.onnx"} {
		s, err := cpu.Open(ctx, fixture(t, name), cpu.Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		y := run(t, s, x)
		s.Close()
		d := maxAbsDiff(y.F32(), direct.F32())
		t.Logf("%s vs .pth: max abs diff %.3g", name, d)
		if d > 1e-3 {
			t.Errorf("%s: max abs diff %.3g from the .pth graph, want ≤ 1e-3 of 0–255", name, d)
		}
	}
}

// A state dict of another network is an error naming the key; nothing panics.
func TestWrongStateDicts(t *testing.T) {
	sd, err := pth.LoadFile(fixture(t, "style_random_zip.pth"))
	if err != nil {
		t.Fatal(err)
	}
	sd.DropStaleInstanceNormStats()
	if _, err := FromStateDict(sd); err != nil {
		t.Fatal(err)
	}
	clone := func() *pth.StateDict {
		c := &pth.StateDict{Names: append([]string(nil), sd.Names...), Tensors: map[string]*pth.Tensor{}}
		for k, v := range sd.Tensors {
			c.Tensors[k] = v
		}
		return c
	}
	cases := map[string]struct {
		edit func(*pth.StateDict)
		key  string
	}{
		"missing": {func(c *pth.StateDict) { delete(c.Tensors, "res3.in2.bias") }, "res3.in2.bias"},
		"extra": {func(c *pth.StateDict) {
			c.Names = append(c.Names, "fc.weight")
			c.Tensors["fc.weight"] = &pth.Tensor{Name: "fc.weight", Shape: []int{1}, Data: []float32{1}}
		}, "fc.weight"},
		"stale stats kept": {func(c *pth.StateDict) {
			c.Names = append(c.Names, "in1.running_mean")
			c.Tensors["in1.running_mean"] = &pth.Tensor{Shape: []int{32}, Data: make([]float32, 32)}
		}, "in1.running_mean"},
		"bad shape": {func(c *pth.StateDict) {
			w := *c.Tensors["conv2.conv2d.weight"]
			w.Shape = []int{64, 16, 3, 6}
			c.Tensors["conv2.conv2d.weight"] = &w
		}, "conv2.conv2d.weight"},
		"norm size": {func(c *pth.StateDict) {
			w := *c.Tensors["in4.weight"]
			w.Shape, w.Data = []int{63}, w.Data[:63]
			c.Tensors["in4.weight"] = &w
		}, "in4.weight"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c := clone()
			tc.edit(c)
			_, err := FromStateDict(c)
			if !errors.Is(err, ErrStateDict) {
				t.Fatalf("got %v, want ErrStateDict", err)
			}
			if !strings.Contains(err.Error(), tc.key) {
				t.Fatalf("error %q does not name %s", err, tc.key)
			}
		})
	}
}

// FuzzLoad: any checkpoint bytes give a graph or an error, never a panic.
func FuzzLoad(f *testing.F) {
	for _, name := range []string{"small_zip.pth", "small_legacy.pth", "nested_zip.pth"} {
		if b, err := os.ReadFile(filepath.Join("../../pth/testdata", name)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sd, err := pth.Read(b)
		if err != nil {
			return
		}
		sd.DropStaleInstanceNormStats()
		if g, err := FromStateDict(sd); err == nil && g.Validate() != nil {
			t.Fatal("built an invalid graph")
		}
	})
}
