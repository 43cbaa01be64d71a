//go:build cuda

package gpu

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/sluice-ml/sluice/internal/testenv"
	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/cpu"
	"github.com/sluice-ml/sluice/nn/graph"
	"github.com/sluice-ml/sluice/nn/npy"
	"github.com/sluice-ml/sluice/nn/onnx"
)

// These tests need a GPU: a cuda build cannot even start without one
// (gorgonia.org/cu exits in its init). They compare every result with
// nn/cpu on the same graph.

// modelDir holds nn/testdata/gen_models.py's fixtures; SLUICE_GPU_MODELS
// points elsewhere (the device check carries copies).
func modelDir() string {
	if d := os.Getenv("SLUICE_GPU_MODELS"); d != "" {
		return d
	}
	return "../nn/testdata/models"
}

func relL2(got, want []float32) float64 {
	var num, den float64
	for i := range want {
		d := float64(got[i]) - float64(want[i])
		num += d * d
		den += float64(want[i]) * float64(want[i])
	}
	if den == 0 {
		return math.Sqrt(num)
	}
	return math.Sqrt(num / den)
}

func randTensor(r *rand.Rand, lo, hi float32, shape ...int) *nn.Tensor {
	t := nn.NewTensor(nn.Float32, shape...)
	for i := range t.F32() {
		t.F32()[i] = lo + (hi-lo)*r.Float32()
	}
	return t
}

func TestDevices(t *testing.T) {
	ds, err := Devices()
	if err != nil {
		t.Fatal(err)
	}
	if len(ds) == 0 {
		t.Fatal("no device listed")
	}
	for _, d := range ds {
		t.Logf("device %d: %s, %.1f GiB, compute capability %d.%d", d.Ordinal, d.Name, float64(d.MemBytes)/(1<<30), d.Major, d.Minor)
		if d.Name == "" || d.MemBytes <= 0 || d.Major < 3 {
			t.Errorf("implausible device %+v", d)
		}
	}
	if err := Available(); err != nil {
		t.Fatal(err)
	}
	if _, err := getDevice(len(ds)); !errors.Is(err, ErrNoDevice) {
		t.Fatalf("device %d of %d: %v", len(ds), len(ds), err)
	}
}

// opCase is a one-node graph: feeds are random inputs of the given shapes,
// consts are initializers.
type opCase struct {
	name   string
	node   *graph.Node
	feeds  map[string][]int
	consts map[string]*nn.Tensor
	opset  int
	// lo, hi: range of the random feeds (default -1, 1)
	lo, hi float32
	// colLimit, when set, forces Conv's batch chunking.
	colLimit int64
}

func (c opCase) graph() *graph.Graph {
	g := &graph.Graph{Name: c.name, Opset: 13, Initializers: map[string]*nn.Tensor{}, Overridable: map[string]bool{}}
	if c.opset > 0 {
		g.Opset = c.opset
	}
	names := make([]string, 0, len(c.feeds))
	for n := range c.feeds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		g.Inputs = append(g.Inputs, graph.ValueInfo{Name: n, DType: nn.Float32, Shape: c.feeds[n]})
	}
	for n, t := range c.consts {
		g.Initializers[n] = t
	}
	node := *c.node
	node.Name = c.name
	g.Nodes = []*graph.Node{&node}
	g.Outputs = []graph.ValueInfo{{Name: node.Outputs[0], DType: nn.Float32}}
	return g
}

func ints(v ...int64) *graph.Attr  { return &graph.Attr{Type: graph.AttrInts, Ints: v} }
func aint(v int64) *graph.Attr     { return &graph.Attr{Type: graph.AttrInt, I: v} }
func afloat(v float32) *graph.Attr { return &graph.Attr{Type: graph.AttrFloat, F: v} }
func astr(v string) *graph.Attr    { return &graph.Attr{Type: graph.AttrString, S: v} }
func i64(shape []int, v ...int64) *nn.Tensor {
	return &nn.Tensor{DType: nn.Int64, Shape: shape, Data: v}
}
func f32(shape []int, v ...float32) *nn.Tensor {
	return &nn.Tensor{DType: nn.Float32, Shape: shape, Data: v}
}

func node(op string, inputs []string, attrs map[string]*graph.Attr) *graph.Node {
	return &graph.Node{Op: op, Inputs: inputs, Outputs: []string{"y"}, Attrs: attrs}
}

func opCases() []opCase {
	r := rand.New(rand.NewPCG(1, 2))
	w := func(shape ...int) *nn.Tensor { return randTensor(r, -0.5, 0.5, shape...) }
	relu := map[string]*graph.Attr{graph.AttrActivation: astr("Relu")}
	return []opCase{
		{name: "conv3x3_bias_relu", node: node("Conv", []string{"x", "w", "b"}, map[string]*graph.Attr{"pads": ints(1, 1, 1, 1), graph.AttrActivation: astr("Relu")}),
			feeds: map[string][]int{"x": {2, 8, 12, 12}}, consts: map[string]*nn.Tensor{"w": w(16, 8, 3, 3), "b": w(16)}},
		{name: "conv7x7_s2_p3", node: node("Conv", []string{"x", "w"}, map[string]*graph.Attr{"pads": ints(3, 3, 3, 3), "strides": ints(2, 2)}),
			feeds: map[string][]int{"x": {3, 3, 20, 18}}, consts: map[string]*nn.Tensor{"w": w(8, 3, 7, 7)}},
		{name: "conv1x1_n1_clip", node: node("Conv", []string{"x", "w", "b"}, map[string]*graph.Attr{graph.AttrActivation: astr("Clip"), graph.AttrActAlpha: afloat(0), graph.AttrActBeta: afloat(0.3)}),
			feeds: map[string][]int{"x": {1, 16, 7, 9}}, consts: map[string]*nn.Tensor{"w": w(24, 16, 1, 1), "b": w(24)}},
		{name: "conv1x1_batch4", node: node("Conv", []string{"x", "w"}, nil),
			feeds: map[string][]int{"x": {4, 16, 5, 5}}, consts: map[string]*nn.Tensor{"w": w(8, 16, 1, 1)}},
		{name: "conv_dilated_asym_pads", node: node("Conv", []string{"x", "w", "b"}, map[string]*graph.Attr{"pads": ints(0, 1, 2, 0), "dilations": ints(2, 2)}),
			feeds: map[string][]int{"x": {2, 4, 11, 10}}, consts: map[string]*nn.Tensor{"w": w(6, 4, 3, 3), "b": w(6)}},
		{name: "conv_same_upper_s2", node: node("Conv", []string{"x", "w"}, map[string]*graph.Attr{"auto_pad": astr("SAME_UPPER"), "strides": ints(2, 2)}),
			feeds: map[string][]int{"x": {1, 3, 9, 8}}, consts: map[string]*nn.Tensor{"w": w(4, 3, 3, 3)}},
		{name: "conv_grouped4_s2", node: node("Conv", []string{"x", "w", "b"}, map[string]*graph.Attr{"group": aint(4), "pads": ints(1, 1, 1, 1), "strides": ints(2, 2)}),
			feeds: map[string][]int{"x": {2, 8, 9, 9}}, consts: map[string]*nn.Tensor{"w": w(12, 2, 3, 3), "b": w(12)}},
		{name: "conv_depthwise_residual_relu", node: node("Conv", []string{"x", "w", "b", "r"}, map[string]*graph.Attr{"group": aint(16), "pads": ints(1, 1, 1, 1), graph.AttrResidual: aint(1), graph.AttrActivation: astr("Relu")}),
			feeds: map[string][]int{"x": {2, 16, 6, 7}, "r": {2, 16, 6, 7}}, consts: map[string]*nn.Tensor{"w": w(16, 1, 3, 3), "b": w(16)}},
		{name: "conv_residual_relu_batch3", node: node("Conv", []string{"x", "w", "", "r"}, map[string]*graph.Attr{"pads": ints(1, 1, 1, 1), graph.AttrResidual: aint(1), graph.AttrActivation: astr("Relu")}),
			feeds: map[string][]int{"x": {3, 8, 6, 6}, "r": {3, 8, 6, 6}}, consts: map[string]*nn.Tensor{"w": w(8, 8, 3, 3)}},
		{name: "conv_chunked_batch5", node: node("Conv", []string{"x", "w", "b", "r"}, map[string]*graph.Attr{"pads": ints(1, 1, 1, 1), graph.AttrResidual: aint(1), graph.AttrActivation: astr("LeakyRelu"), graph.AttrActAlpha: afloat(0.1)}),
			feeds: map[string][]int{"x": {5, 4, 8, 8}, "r": {5, 6, 8, 8}}, consts: map[string]*nn.Tensor{"w": w(6, 4, 3, 3), "b": w(6)}, colLimit: 2 * 36 * 64},
		{name: "gemm_transB_bias", node: node("Gemm", []string{"x", "w", "b"}, map[string]*graph.Attr{"transB": aint(1)}),
			feeds: map[string][]int{"x": {3, 20}}, consts: map[string]*nn.Tensor{"w": w(7, 20), "b": w(7)}},
		{name: "gemm_transA_alpha_beta_col", node: node("Gemm", []string{"x", "w", "c"}, map[string]*graph.Attr{"transA": aint(1), "alpha": afloat(0.5), "beta": afloat(2)}),
			feeds: map[string][]int{"x": {20, 3}}, consts: map[string]*nn.Tensor{"w": w(20, 5), "c": w(3, 1)}},
		{name: "gemm_full_c", node: node("Gemm", []string{"x", "w", "c"}, nil),
			feeds: map[string][]int{"x": {4, 6}, "c": {4, 5}}, consts: map[string]*nn.Tensor{"w": w(6, 5)}},
		{name: "matmul_batched_a", node: node("MatMul", []string{"x", "w"}, nil),
			feeds: map[string][]int{"x": {2, 3, 5}}, consts: map[string]*nn.Tensor{"w": w(5, 4)}},
		{name: "maxpool3x3_s2_p1", node: node("MaxPool", []string{"x"}, map[string]*graph.Attr{"kernel_shape": ints(3, 3), "strides": ints(2, 2), "pads": ints(1, 1, 1, 1)}),
			feeds: map[string][]int{"x": {2, 3, 11, 12}}},
		{name: "maxpool_ceil", node: node("MaxPool", []string{"x"}, map[string]*graph.Attr{"kernel_shape": ints(3, 3), "strides": ints(2, 2), "ceil_mode": aint(1)}),
			feeds: map[string][]int{"x": {2, 3, 12, 10}}},
		{name: "avgpool_include_pad", node: node("AveragePool", []string{"x"}, map[string]*graph.Attr{"kernel_shape": ints(3, 3), "strides": ints(2, 2), "pads": ints(1, 1, 1, 1), "count_include_pad": aint(1)}),
			feeds: map[string][]int{"x": {1, 4, 9, 8}}},
		{name: "avgpool_exclude_pad_ceil", node: node("AveragePool", []string{"x"}, map[string]*graph.Attr{"kernel_shape": ints(2, 3), "strides": ints(2, 2), "pads": ints(1, 0, 1, 1), "ceil_mode": aint(1)}),
			feeds: map[string][]int{"x": {2, 2, 7, 9}}},
		{name: "global_avgpool", node: node("GlobalAveragePool", []string{"x"}, nil), feeds: map[string][]int{"x": {3, 5, 13, 11}}},
		{name: "batchnorm", node: node("BatchNormalization", []string{"x", "s", "b", "m", "v"}, nil),
			feeds:  map[string][]int{"x": {2, 3, 4, 5}},
			consts: map[string]*nn.Tensor{"s": w(3), "b": w(3), "m": w(3), "v": randTensor(r, 0.5, 2, 3)}},
		{name: "instancenorm_relu", node: node("InstanceNormalization", []string{"x", "s", "b"}, relu),
			feeds: map[string][]int{"x": {2, 4, 17, 15}}, consts: map[string]*nn.Tensor{"s": w(4), "b": w(4)}, lo: 2, hi: 5},
		{name: "add_same_relu", node: node("Add", []string{"x", "z"}, relu), feeds: map[string][]int{"x": {2, 3, 4, 5}, "z": {2, 3, 4, 5}}},
		{name: "add_broadcast", node: node("Add", []string{"x", "c"}, nil), feeds: map[string][]int{"x": {2, 3, 4, 5}}, consts: map[string]*nn.Tensor{"c": w(3, 1, 1)}},
		{name: "mul_scalar", node: node("Mul", []string{"x", "c"}, nil), feeds: map[string][]int{"x": {2, 3, 4}}, consts: map[string]*nn.Tensor{"c": f32(nil, 1.5)}},
		{name: "sub_rows", node: node("Sub", []string{"c", "x"}, nil), feeds: map[string][]int{"x": {4, 1}}, consts: map[string]*nn.Tensor{"c": w(1, 6)}},
		{name: "div_broadcast", node: node("Div", []string{"x", "z"}, nil), feeds: map[string][]int{"x": {2, 3, 4}, "z": {3, 1}}, lo: 1, hi: 2},
		{name: "relu", node: node("Relu", []string{"x"}, nil), feeds: map[string][]int{"x": {3, 7}}},
		{name: "clip_inputs", node: node("Clip", []string{"x", "lo", "hi"}, nil), feeds: map[string][]int{"x": {3, 7}}, consts: map[string]*nn.Tensor{"lo": f32(nil, -0.2), "hi": f32(nil, 0.4)}},
		{name: "leakyrelu", node: node("LeakyRelu", []string{"x"}, map[string]*graph.Attr{"alpha": afloat(0.2)}), feeds: map[string][]int{"x": {3, 7}}},
		{name: "sigmoid", node: node("Sigmoid", []string{"x"}, nil), feeds: map[string][]int{"x": {3, 7}}, lo: -5, hi: 5},
		{name: "tanh", node: node("Tanh", []string{"x"}, nil), feeds: map[string][]int{"x": {3, 7}}, lo: -3, hi: 3},
		{name: "concat_axis1", node: node("Concat", []string{"x", "z", "c"}, map[string]*graph.Attr{"axis": aint(1)}),
			feeds: map[string][]int{"x": {2, 3, 4, 4}, "z": {2, 5, 4, 4}}, consts: map[string]*nn.Tensor{"c": w(2, 1, 4, 4)}},
		{name: "concat_axis0", node: node("Concat", []string{"x", "z"}, map[string]*graph.Attr{"axis": aint(0)}),
			feeds: map[string][]int{"x": {2, 3}, "z": {1, 3}}},
		{name: "flatten", node: node("Flatten", []string{"x"}, nil), feeds: map[string][]int{"x": {2, 3, 2, 2}}},
		{name: "reshape", node: node("Reshape", []string{"x", "s"}, nil), feeds: map[string][]int{"x": {2, 3, 4}}, consts: map[string]*nn.Tensor{"s": i64([]int{3}, 0, -1, 2)}},
		{name: "unsqueeze", node: node("Unsqueeze", []string{"x", "a"}, nil), feeds: map[string][]int{"x": {2, 3}}, consts: map[string]*nn.Tensor{"a": i64([]int{2}, 0, 3)}},
		{name: "pad_reflect", node: node("Pad", []string{"x", "p"}, map[string]*graph.Attr{"mode": astr("reflect")}),
			feeds: map[string][]int{"x": {1, 2, 6, 7}}, consts: map[string]*nn.Tensor{"p": i64([]int{8}, 0, 0, 2, 3, 0, 0, 4, 1)}},
		{name: "pad_constant_value", node: node("Pad", []string{"x", "p", "v"}, nil),
			feeds: map[string][]int{"x": {2, 5}}, consts: map[string]*nn.Tensor{"p": i64([]int{4}, 1, 0, 0, 2), "v": f32(nil, 1.5)}},
		{name: "pad_edge", node: node("Pad", []string{"x", "p"}, map[string]*graph.Attr{"mode": astr("edge")}),
			feeds: map[string][]int{"x": {2, 3, 4}}, consts: map[string]*nn.Tensor{"p": i64([]int{6}, 0, 1, 2, 0, 2, 1)}},
		{name: "resize_nearest_asymmetric_floor", node: node("Resize", []string{"x", "", "sc"}, map[string]*graph.Attr{"mode": astr("nearest"), "coordinate_transformation_mode": astr("asymmetric"), "nearest_mode": astr("floor")}),
			feeds: map[string][]int{"x": {2, 3, 5, 4}}, consts: map[string]*nn.Tensor{"sc": f32([]int{4}, 1, 1, 2, 2)}},
		{name: "resize_nearest_half_pixel", node: node("Resize", []string{"x", "", "sc"}, map[string]*graph.Attr{"mode": astr("nearest")}),
			feeds: map[string][]int{"x": {1, 2, 6, 8}}, consts: map[string]*nn.Tensor{"sc": f32([]int{4}, 1, 1, 1.5, 0.5)}},
		{name: "resize_nearest_sizes", node: node("Resize", []string{"x", "", "", "sz"}, map[string]*graph.Attr{"mode": astr("nearest"), "coordinate_transformation_mode": astr("align_corners"), "nearest_mode": astr("round_prefer_ceil")}),
			feeds: map[string][]int{"x": {1, 2, 5, 5}}, consts: map[string]*nn.Tensor{"sz": i64([]int{4}, 1, 2, 9, 3)}},
		{name: "upsample_opset9", opset: 9, node: node("Upsample", []string{"x", "sc"}, map[string]*graph.Attr{"mode": astr("nearest")}),
			feeds: map[string][]int{"x": {1, 2, 3, 4}}, consts: map[string]*nn.Tensor{"sc": f32([]int{4}, 1, 1, 2, 3)}},
	}
}

// TestOps compares every operator the GPU runs with nn/cpu on random
// inputs, one single-node graph each (fused attributes included).
func TestOps(t *testing.T) {
	ctx := context.Background()
	for _, c := range opCases() {
		t.Run(c.name, func(t *testing.T) {
			if c.colLimit > 0 {
				old := colLimit
				colLimit = c.colLimit
				defer func() { colLimit = old }()
			}
			r := rand.New(rand.NewPCG(3, uint64(len(c.name))))
			lo, hi := c.lo, c.hi
			if lo == 0 && hi == 0 {
				lo, hi = -1, 1
			}
			feeds := map[string]*nn.Tensor{}
			for name, shape := range c.feeds {
				feeds[name] = randTensor(r, lo, hi, shape...)
			}
			cs, err := cpu.NewSession(ctx, c.graph(), cpu.Options{NoOptimize: true})
			if err != nil {
				t.Fatalf("cpu: %v", err)
			}
			defer cs.Close()
			gs, err := NewSession(ctx, c.graph(), Options{NoOptimize: true})
			if err != nil {
				t.Fatalf("gpu: %v", err)
			}
			defer gs.Close()
			want, err := cs.Run(ctx, feeds)
			if err != nil {
				t.Fatalf("cpu run: %v", err)
			}
			for run := 0; run < 2; run++ { // the second run reuses pooled buffers and cached maps
				got, err := gs.Run(ctx, feeds)
				if err != nil {
					t.Fatalf("gpu run %d: %v", run, err)
				}
				w, g := want["y"], got["y"]
				if fmt.Sprint(w.Shape) != fmt.Sprint(g.Shape) {
					t.Fatalf("shape %v, cpu %v", g.Shape, w.Shape)
				}
				if e := relL2(g.F32(), w.F32()); !(e <= 1e-5) {
					t.Fatalf("run %d: relative L2 error %.3g against nn/cpu\ngpu %v\ncpu %v", run, e, head(g.F32()), head(w.F32()))
				}
			}
		})
	}
}

func head(f []float32) []float32 { return f[:min(len(f), 8)] }

func TestRunErrors(t *testing.T) {
	ctx := context.Background()
	c := opCases()[0]
	s, err := NewSession(ctx, c.graph(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Run(ctx, map[string]*nn.Tensor{"x": nn.NewTensor(nn.Float32, 2, 8, 12)}); !errors.Is(err, nn.ErrInputShape) {
		t.Fatalf("wrong rank: %v", err)
	}
	if _, err := s.Run(ctx, map[string]*nn.Tensor{"x": nn.NewTensor(nn.Float64, 2, 8, 12, 12)}); !errors.Is(err, nn.ErrInputShape) {
		t.Fatalf("float64 input: %v", err)
	}
	if _, err := s.Run(ctx, map[string]*nn.Tensor{}); !errors.Is(err, nn.ErrInputShape) {
		t.Fatalf("missing input: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Run(cctx, map[string]*nn.Tensor{"x": nn.NewTensor(nn.Float32, 2, 8, 12, 12)}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Run(ctx, map[string]*nn.Tensor{"x": nn.NewTensor(nn.Float32, 2, 8, 12, 12)}); !errors.Is(err, nn.ErrClosed) {
		t.Fatalf("after Close: %v", err)
	}
	g := opCase{name: "softmax", node: node("Softmax", []string{"x"}, nil), feeds: map[string][]int{"x": {2, 3}}}.graph()
	if _, err := NewSession(ctx, g, Options{}); !errors.Is(err, nn.ErrUnsupportedOp) || !strings.Contains(err.Error(), `"softmax"`) {
		t.Fatalf("unsupported op: %v", err)
	}
}

func readNpy(t testing.TB, path string) *nn.Tensor {
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

// batchOf stacks n copies of the images of x, each with its own noise, so
// the batch's images differ.
func batchOf(x *nn.Tensor, n int, seed uint64) *nn.Tensor {
	r := rand.New(rand.NewPCG(seed, 7))
	per := x.Len() / x.Shape[0]
	out := nn.NewTensor(nn.Float32, append([]int{n}, x.Shape[1:]...)...)
	src, dst := x.F32(), out.F32()
	for i := 0; i < n; i++ {
		img := src[(i%x.Shape[0])*per : (i%x.Shape[0]+1)*per]
		for j, v := range img {
			dst[i*per+j] = v + 0.1*float32(r.NormFloat64())
		}
	}
	return out
}

var models = []string{"resnet18", "mobilenet_v2", "squeezenet1_1", "transformernet"}

// TestModels: the fixture models run on the GPU match nn/cpu within 1e-3
// relative L2, at the fixture's batch and at batch 8. On a mismatch the
// per-node comparison names the first diverging operator.
func TestModels(t *testing.T) {
	ctx := context.Background()
	for _, m := range models {
		t.Run(m, func(t *testing.T) {
			path := filepath.Join(modelDir(), m+"_op13.onnx")
			if _, err := os.Stat(path); err != nil {
				testenv.Missing(t, "model fixture %s (run /usr/bin/python3 nn/testdata/gen_models.py): %v", path, err)
				return
			}
			x := readNpy(t, filepath.Join(modelDir(), m+"_input.npy"))
			cs, err := cpu.Open(ctx, path, cpu.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer cs.Close()
			gs, err := Open(ctx, path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer gs.Close()
			name := gs.Graph().Inputs[0].Name
			for _, in := range []*nn.Tensor{x, batchOf(x, 8, 1)} {
				want, err := cs.Run(ctx, map[string]*nn.Tensor{name: in})
				if err != nil {
					t.Fatal(err)
				}
				got, err := gs.Run(ctx, map[string]*nn.Tensor{name: in})
				if err != nil {
					t.Fatal(err)
				}
				for k, w := range want {
					e := relL2(got[k].F32(), w.F32())
					t.Logf("%s batch %d output %s %v: relative L2 error %.2e against nn/cpu", m, in.Shape[0], k, w.Shape, e)
					if !(e <= 1e-3) {
						t.Errorf("%s batch %d: relative L2 error %.3g > 1e-3", m, in.Shape[0], e)
						diagnose(t, path, name, in)
					}
				}
			}
		})
	}
}

// TestModelsTF32 measures the error of TF32 GEMM (Options.TF32) on the
// fixtures at batch 8. TF32 does not meet float32's 1e-3: measured on an
// H200 from 2.6e-4 (squeezenet1_1) up to 1.04e-2 (mobilenet_v2)
// (docs/gpu.md); the bound here, 5e-2, catches a broken TF32 path, not
// rounding.
func TestModelsTF32(t *testing.T) {
	ctx := context.Background()
	for _, m := range models {
		t.Run(m, func(t *testing.T) {
			path := filepath.Join(modelDir(), m+"_op13.onnx")
			if _, err := os.Stat(path); err != nil {
				testenv.Missing(t, "model fixture %s: %v", path, err)
				return
			}
			x := batchOf(readNpy(t, filepath.Join(modelDir(), m+"_input.npy")), 8, 2)
			cs, err := cpu.Open(ctx, path, cpu.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer cs.Close()
			gs, err := Open(ctx, path, Options{TF32: true})
			if err != nil {
				t.Fatal(err)
			}
			defer gs.Close()
			feeds := map[string]*nn.Tensor{gs.Graph().Inputs[0].Name: x}
			want, err := cs.Run(ctx, feeds)
			if err != nil {
				t.Fatal(err)
			}
			got, err := gs.Run(ctx, feeds)
			if err != nil {
				t.Fatal(err)
			}
			for k, w := range want {
				e := relL2(got[k].F32(), w.F32())
				t.Logf("%s batch 8 TF32: relative L2 error %.2e against nn/cpu", m, e)
				if !(e <= 5e-2) {
					t.Errorf("%s TF32: relative L2 error %.3g > 5e-2", m, e)
				}
			}
		})
	}
}

// diagnose runs the optimized graph with every node output exposed on both
// backends and reports the first nodes whose outputs differ.
func diagnose(t *testing.T, path, input string, x *nn.Tensor) {
	ctx := context.Background()
	g, err := onnx.Load(ctx, path, onnx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := graph.Optimize(ctx, g, cpu.Evaluate); err != nil {
		t.Fatal(err)
	}
	g.Outputs = nil
	for _, n := range g.Nodes {
		g.Outputs = append(g.Outputs, graph.ValueInfo{Name: n.Outputs[0], DType: nn.Float32})
	}
	cs, err := cpu.NewSession(ctx, g, cpu.Options{NoOptimize: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	gs, err := NewSession(ctx, g, Options{NoOptimize: true})
	if err != nil {
		t.Fatal(err)
	}
	defer gs.Close()
	want, err := cs.Run(ctx, map[string]*nn.Tensor{input: x})
	if err != nil {
		t.Fatal(err)
	}
	got, err := gs.Run(ctx, map[string]*nn.Tensor{input: x})
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	for _, n := range g.Nodes {
		o := n.Outputs[0]
		e := relL2(got[o].F32(), want[o].F32())
		if !(e <= 1e-4) {
			attrs := []string{}
			for k, a := range n.Attrs {
				attrs = append(attrs, fmt.Sprintf("%s=%v%v%s%v", k, a.I, a.Ints, a.S, a.F))
			}
			sort.Strings(attrs)
			t.Logf("node %v → %v: relative L2 %.3g; attrs %v", n, want[o].Shape, e, attrs)
			if bad++; bad == 5 {
				return
			}
		}
	}
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 11)) }
