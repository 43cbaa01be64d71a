package cpu

import (
	"context"
	"fmt"
	"math"
	"os"
	osexec "os/exec"
	"path/filepath"
	"testing"

	"github.com/sluice-ml/sluice/internal/testenv"
	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/graph"
	"github.com/sluice-ml/sluice/nn/npy"
)

// modelDir holds the fixtures nn/testdata/gen_models.py writes (git-ignored;
// CI runs the script before the tests).
const modelDir = "../testdata/models"

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

// relL2 is ||got - want|| / ||want||.
func relL2(got, want []float32) float64 {
	var num, den float64
	for i := range want {
		d := float64(got[i]) - float64(want[i])
		num += d * d
		den += float64(want[i]) * float64(want[i])
	}
	return math.Sqrt(num / den)
}

// fixtureOpsets lists the opsets exported for model: 9 and 13 always (the
// test skips when absent), plus any other gen_models.py --opsets wrote.
func fixtureOpsets(model string) []int {
	opsets := []int{9, 13}
	for op := 7; op <= 17; op++ {
		if op == 9 || op == 13 {
			continue
		}
		if _, err := os.Stat(filepath.Join(modelDir, fmt.Sprintf("%s_op%d.onnx", model, op))); err == nil {
			opsets = append(opsets, op)
		}
	}
	return opsets
}

func TestModelsMatchPyTorch(t *testing.T) {
	for _, model := range []string{"resnet18", "mobilenet_v2", "squeezenet1_1", "transformernet"} {
		for _, opset := range fixtureOpsets(model) {
			t.Run(fmt.Sprintf("%s/opset%d", model, opset), func(t *testing.T) {
				path := filepath.Join(modelDir, fmt.Sprintf("%s_op%d.onnx", model, opset))
				if _, err := os.Stat(path); err != nil {
					testenv.Missing(t, "%s absent: run /usr/bin/python3 nn/testdata/gen_models.py (needs python3-torch, python3-torchvision, python3-onnx)", path)
				}
				in := readNpy(t, filepath.Join(modelDir, model+"_input.npy"))
				want := readNpy(t, filepath.Join(modelDir, model+"_output.npy"))
				ctx := context.Background()
				sess, err := Open(ctx, path, Options{Threads: 2})
				if err != nil {
					t.Fatal(err)
				}
				defer sess.Close()
				name := sess.Inputs()[0].Name
				out, err := sess.Run(ctx, map[string]*nn.Tensor{name: in})
				if err != nil {
					t.Fatal(err)
				}
				got := out[sess.Outputs()[0].Name]
				if err := checkInferred(sess.Graph(), map[string][]int{name: in.Shape}, out); err != nil {
					t.Error(err)
				}
				vals, _ := graph.InferShapes(sess.Graph(), map[string][]int{name: in.Shape})
				if s := vals[sess.Outputs()[0].Name].Shape; fmt.Sprint(s) != fmt.Sprint(want.Shape) {
					t.Errorf("inferred output shape %v, want %v", s, want.Shape)
				}
				if fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) {
					t.Fatalf("output shape %v, want %v", got.Shape, want.Shape)
				}
				e := relL2(got.F32(), want.F32())
				t.Logf("relative L2 error %.3g (rewrites: %+v)", e, sess.Stats())
				if !(e < 1e-4) {
					t.Errorf("relative L2 error %.3g exceeds 1e-4", e)
				}
				// A second run reuses the pooled buffers and must agree.
				out2, err := sess.Run(ctx, map[string]*nn.Tensor{name: in})
				if err != nil {
					t.Fatal(err)
				}
				if e2 := relL2(out2[sess.Outputs()[0].Name].F32(), got.F32()); e2 != 0 {
					t.Errorf("second run differs from the first: %.3g", e2)
				}
			})
		}
	}
}

// TestDynamicDimensions runs the fixtures at shapes other than the exported
// ones: squeezenet's batch of 2 image by image (each row must equal the
// batched result) and TransformerNet at another image size.
func TestDynamicDimensions(t *testing.T) {
	ctx := context.Background()
	t.Run("batch", func(t *testing.T) {
		path := filepath.Join(modelDir, "squeezenet1_1_op13.onnx")
		if _, err := os.Stat(path); err != nil {
			testenv.Missing(t, "%s absent: run /usr/bin/python3 nn/testdata/gen_models.py", path)
		}
		in := readNpy(t, filepath.Join(modelDir, "squeezenet1_1_input.npy"))
		want := readNpy(t, filepath.Join(modelDir, "squeezenet1_1_output.npy"))
		s, err := Open(ctx, path, Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		per := in.Len() / in.Shape[0]
		classes := want.Len() / want.Shape[0]
		for b := 0; b < in.Shape[0]; b++ {
			one := nn.FromFloat32(in.F32()[b*per:(b+1)*per], append([]int{1}, in.Shape[1:]...)...)
			out, err := s.Run(ctx, map[string]*nn.Tensor{"input": one})
			if err != nil {
				t.Fatal(err)
			}
			got := out["output"]
			if e := relL2(got.F32(), want.F32()[b*classes:(b+1)*classes]); !(e < 1e-4) || got.Shape[0] != 1 {
				t.Errorf("image %d alone: shape %v, relative L2 error %.3g", b, got.Shape, e)
			}
		}
	})
	t.Run("image size", func(t *testing.T) {
		path := filepath.Join(modelDir, "transformernet_op13.onnx")
		if _, err := os.Stat(path); err != nil {
			testenv.Missing(t, "%s absent: run /usr/bin/python3 nn/testdata/gen_models.py", path)
		}
		s, err := Open(ctx, path, Options{Threads: 2})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		x := nn.NewTensor(nn.Float32, 1, 3, 36, 44)
		out, err := s.Run(ctx, map[string]*nn.Tensor{"input": x})
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(out["output"].Shape); got != "[1 3 36 44]" {
			t.Fatalf("output shape %s", got)
		}
	})
}

// TestExternalDataModel saves a fixture with the onnx package's external
// data format (weights in a side file) and checks it loads and computes
// the same output.
func TestExternalDataModel(t *testing.T) {
	src := filepath.Join(modelDir, "squeezenet1_1_op13.onnx")
	if _, err := os.Stat(src); err != nil {
		testenv.Missing(t, "%s absent: run /usr/bin/python3 nn/testdata/gen_models.py", src)
	}
	dir := t.TempDir()
	dst := filepath.Join(dir, "model.onnx")
	script := `import onnx, sys
m = onnx.load(sys.argv[1])
onnx.save_model(m, sys.argv[2], save_as_external_data=True, all_tensors_to_one_file=True, location="weights.bin", size_threshold=0)`
	if out, err := osexec.Command("/usr/bin/python3", "-c", script, src, dst).CombinedOutput(); err != nil {
		testenv.Missing(t, "python3-onnx unavailable: %v\n%s", err, out)
	}
	if st, err := os.Stat(filepath.Join(dir, "weights.bin")); err != nil || st.Size() < 1<<20 {
		t.Fatalf("external data file not written: %v", err)
	}
	ctx := context.Background()
	s, err := Open(ctx, dst, Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	in := readNpy(t, filepath.Join(modelDir, "squeezenet1_1_input.npy"))
	want := readNpy(t, filepath.Join(modelDir, "squeezenet1_1_output.npy"))
	out, err := s.Run(ctx, map[string]*nn.Tensor{"input": in})
	if err != nil {
		t.Fatal(err)
	}
	if e := relL2(out["output"].F32(), want.F32()); !(e < 1e-4) {
		t.Fatalf("relative L2 error %.3g", e)
	}
}
