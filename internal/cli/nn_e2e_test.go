package cli_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/sluice-ml/sluice/internal/testenv"
	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/npy"
	"github.com/sluice-ml/sluice/nn/onnx/onnxpb"
)

// twoOutputModel writes a small ONNX model with input x [N, 3] and two
// outputs: sum = Relu(x + w) and twice = x * 2, w = [1, -2, 3].
func twoOutputModel(t *testing.T, dir string) string {
	t.Helper()
	f := int32(onnxpb.TensorProto_FLOAT)
	vi := func(name string) *onnxpb.ValueInfoProto {
		return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
			TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(f), Shape: &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{
				{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}},
				{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: 3}},
			}}}}}}
	}
	m := &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}},
		Graph: &onnxpb.GraphProto{
			Name: proto.String("g"),
			Node: []*onnxpb.NodeProto{
				{OpType: proto.String("Add"), Name: proto.String("add"), Input: []string{"x", "w"}, Output: []string{"s"}},
				{OpType: proto.String("Relu"), Name: proto.String("relu"), Input: []string{"s"}, Output: []string{"sum"}},
				{OpType: proto.String("Mul"), Name: proto.String("mul"), Input: []string{"x", "two"}, Output: []string{"twice"}},
			},
			Initializer: []*onnxpb.TensorProto{
				{Name: proto.String("w"), DataType: proto.Int32(f), Dims: []int64{3}, FloatData: []float32{1, -2, 3}},
				{Name: proto.String("two"), DataType: proto.Int32(f), Dims: []int64{}, FloatData: []float32{2}},
			},
			Input:  []*onnxpb.ValueInfoProto{vi("x")},
			Output: []*onnxpb.ValueInfoProto{vi("sum"), vi("twice")},
		},
	}
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "two.onnx")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeNpy(t *testing.T, path string, x *nn.Tensor) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := npy.Write(f, x); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
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

func TestInferE2E(t *testing.T) {
	dir := t.TempDir()
	model := twoOutputModel(t, dir)
	writeNpy(t, filepath.Join(dir, "x.npy"), nn.FromFloat32([]float32{1, 1, 1, -5, 0, 2}, 2, 3))

	mustRun(t, dir, "infer", "--model", model, "--input", "x=x.npy", "--output", "twice=t.npy", "--output", "sum=s.npy")
	if got := readNpy(t, filepath.Join(dir, "s.npy")).F32(); !equalF32(got, []float32{2, 0, 4, 0, 0, 5}) {
		t.Fatalf("sum = %v", got)
	}
	if got := readNpy(t, filepath.Join(dir, "t.npy")); !equalF32(got.F32(), []float32{2, 2, 2, -10, 0, 4}) || got.Shape[0] != 2 || got.Shape[1] != 3 {
		t.Fatalf("twice = %v %v", got, got.F32())
	}
	// Unnamed files map onto inputs and outputs in the model's order.
	mustRun(t, dir, "infer", "--model", model, "--input", "x.npy", "--output", "a.npy", "--output", "b.npy")
	if got := readNpy(t, filepath.Join(dir, "b.npy")).F32(); !equalF32(got, []float32{2, 2, 2, -10, 0, 4}) {
		t.Fatalf("second output = %v", got)
	}

	writeFile(t, dir, "bad.onnx", "not a model")
	writeFile(t, dir, "bad.npy", "\x93NUMPY garbage")
	writeNpy(t, filepath.Join(dir, "wrong.npy"), nn.FromFloat32([]float32{1, 2}, 1, 2))
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--model", model, "--input", "x.npy", "--output", "o.npy"}, "name them with --output NAME=Y.npy"},
		{[]string{"--model", "bad.onnx", "--input", "x.npy", "--output", "o.npy"}, "bad.onnx"},
		{[]string{"--model", "missing.onnx", "--input", "x.npy", "--output", "o.npy"}, "missing.onnx"},
		{[]string{"--model", model, "--input", "bad.npy", "--output", "sum=o.npy"}, "bad.npy"},
		{[]string{"--model", model, "--input", "nope.npy", "--output", "sum=o.npy"}, "nope.npy"},
		{[]string{"--model", model, "--input", "wrong.npy", "--output", "sum=o.npy"}, "wrong.npy"},
		{[]string{"--model", model, "--input", "y=x.npy", "--output", "sum=o.npy"}, `no input "y"`},
		{[]string{"--model", model, "--input", "x.npy", "--output", "other=o.npy"}, `no output "other"`},
		{[]string{"--model", model, "--output", "sum=o.npy"}, "missing --input"},
		{[]string{"--model", model, "--input", "x.npy"}, "--output"},
		{[]string{"--model", model, "--input", "x.npy", "--output", "sum=nodir/o.npy"}, "nodir"},
	} {
		r := sluice(t, dir, append([]string{"infer"}, tc.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.msg) {
			t.Errorf("infer %v: exit %d, stderr %q; want exit 2 mentioning %q", tc.args, r.code, r.stderr, tc.msg)
		}
	}
	// A model whose input is a sequence (libonnx-testdata, which CI
	// installs): refused by name, as infer feeds tensors only.
	if seqModel := "/usr/share/libonnx-testdata/data/node/test_identity_sequence/model.onnx"; fileExists(seqModel) {
		r := sluice(t, dir, "infer", "--model", seqModel, "--input", "x.npy", "--output", "o.npy")
		if r.code != 2 || !strings.Contains(r.stderr, `model input "x" is a sequence<float32>`) {
			t.Errorf("infer of a sequence model: exit %d, stderr %q", r.code, r.stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "o.npy")); err == nil {
		t.Error("a failed infer left o.npy behind")
	}
}

func fileExists(path string) bool { _, err := os.Stat(path); return err == nil }

// TestInferE2EModel runs squeezenet through the binary against PyTorch's
// output (nn/testdata/gen_models.py).
func TestInferE2EModel(t *testing.T) {
	models := filepath.Join("..", "..", "nn", "testdata", "models")
	model, _ := filepath.Abs(filepath.Join(models, "squeezenet1_1_op13.onnx"))
	if _, err := os.Stat(model); err != nil {
		testenv.Missing(t, "%s absent: run /usr/bin/python3 nn/testdata/gen_models.py", model)
	}
	in, _ := filepath.Abs(filepath.Join(models, "squeezenet1_1_input.npy"))
	ref, _ := filepath.Abs(filepath.Join(models, "squeezenet1_1_output.npy"))
	dir := t.TempDir()
	mustRun(t, dir, "infer", "--model", model, "--input", in, "--output", "y.npy", "--threads", "2")
	got, want := readNpy(t, filepath.Join(dir, "y.npy")).F32(), readNpy(t, ref).F32()
	var num, den float64
	for i := range want {
		d := float64(got[i] - want[i])
		num += d * d
		den += float64(want[i]) * float64(want[i])
	}
	if len(got) != len(want) || math.Sqrt(num/den) > 1e-4 {
		t.Fatalf("relative L2 error %g (len %d, want %d)", math.Sqrt(num/den), len(got), len(want))
	}
}

func TestModelInspectE2E(t *testing.T) {
	dir := t.TempDir()
	model := twoOutputModel(t, dir)
	r := mustRun(t, dir, "model", "inspect", model)
	for _, s := range []string{`Parameters:\s+4\b`, `FLOPs/item:\s+9\b`, `\nx\s+float32\[N,3\]`, `\ntwice\s+float32\[N,3\]`, `\nAdd\s+1\n`} {
		if !regexp.MustCompile(s).MatchString(r.stdout) {
			t.Errorf("inspect output lacks %q:\n%s", s, r.stdout)
		}
	}
	r = mustRun(t, dir, "model", "inspect", "--json", model)
	var info struct {
		Ops []struct {
			Op    string
			Count int
		}
		Inputs []struct {
			Name  string
			Shape []int
			Dims  []string
		}
		Outputs      []struct{ Name string }
		Parameters   int64
		FLOPsPerItem *float64 `json:"flops_per_item"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &info); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	if len(info.Ops) != 3 || info.Parameters != 4 || info.FLOPsPerItem == nil || *info.FLOPsPerItem != 9 ||
		len(info.Inputs) != 1 || info.Inputs[0].Shape[0] != -1 || info.Inputs[0].Dims[0] != "N" || len(info.Outputs) != 2 {
		t.Fatalf("inspect --json = %+v", info)
	}
	writeFile(t, dir, "bad.onnx", "\x08\x01garbage")
	for _, args := range [][]string{{"model", "inspect", "bad.onnx"}, {"model", "inspect", "missing.onnx"}, {"model", "inspect"}} {
		r := sluice(t, dir, args...)
		if r.code != 2 || (len(args) == 3 && !strings.Contains(r.stderr, args[2])) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 naming the file", args, r.code, r.stderr)
		}
	}
}

func TestBenchInferE2E(t *testing.T) {
	dir := t.TempDir()
	model := twoOutputModel(t, dir)
	r := mustRun(t, dir, "bench", "infer", "--model", model, "--batch", "4", "--threads", "1", "--seconds", "0.05", "--json")
	var res struct {
		ImagesPerS float64 `json:"images_per_s"`
		Batch      int     `json:"batch"`
		Threads    int     `json:"threads"`
		Model      string  `json:"model"`
		Runs       int     `json:"runs"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatalf("%v: %s", err, r.stdout)
	}
	if res.ImagesPerS <= 0 || res.Batch != 4 || res.Threads != 1 || res.Model != "two" || res.Runs < 3 {
		t.Fatalf("bench infer --json = %+v", res)
	}
	r = mustRun(t, dir, "bench", "infer", "--model", model, "--batch", "2", "--threads", "1", "--seconds", "0")
	if !strings.Contains(r.stdout, "images/s (batch 2, 1 threads") {
		t.Fatalf("bench infer output %q", r.stdout)
	}
	writeFile(t, dir, "bad.onnx", "not a model")
	for _, args := range [][]string{{"--model", "bad.onnx"}, {"--model", "missing.onnx"}, {"--model", model, "--batch", "0"}, {}} {
		r := sluice(t, dir, append([]string{"bench", "infer"}, args...)...)
		if r.code != 2 {
			t.Errorf("bench infer %v: exit %d, stderr %q; want 2", args, r.code, r.stderr)
		}
	}
}

func equalF32(a, b []float32) bool {
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
