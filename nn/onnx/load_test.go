package onnx

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/onnx/onnxpb"
)

func vi(name string, dt onnxpb.TensorProto_DataType, dims ...int64) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		if d < 0 {
			shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}})
		} else {
			shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: d}})
		}
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
		TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(dt)), Shape: shape}}}}
}

// reluModel is y = Relu(x + w) with x of shape [N, 3] and w an initializer.
func reluModel() *onnxpb.ModelProto {
	f := onnxpb.TensorProto_FLOAT
	return &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}},
		Graph: &onnxpb.GraphProto{
			Name: proto.String("g"),
			Node: []*onnxpb.NodeProto{
				{OpType: proto.String("Add"), Name: proto.String("add"), Input: []string{"x", "w"}, Output: []string{"s"}},
				{OpType: proto.String("Relu"), Name: proto.String("relu"), Input: []string{"s"}, Output: []string{"y"}},
			},
			Initializer: []*onnxpb.TensorProto{{Name: proto.String("w"), DataType: proto.Int32(int32(f)), Dims: []int64{3}, FloatData: []float32{1, -2, 3}}},
			Input:       []*onnxpb.ValueInfoProto{vi("x", f, -1, 3)},
			Output:      []*onnxpb.ValueInfoProto{vi("y", f, -1, 3)},
		},
	}
}

func marshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeValidModel(t *testing.T) {
	g, err := Decode(context.Background(), marshal(t, reluModel()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if g.Opset != 13 || len(g.Nodes) != 2 || len(g.Inputs) != 1 || g.Inputs[0].Shape[0] != -1 || g.Inputs[0].DimParams[0] != "N" {
		t.Fatalf("unexpected graph: opset %d, %d nodes, inputs %+v", g.Opset, len(g.Nodes), g.Inputs)
	}
	w := g.Initializers["w"]
	if w == nil || w.DType != nn.Float32 || len(w.F32()) != 3 || w.F32()[1] != -2 {
		t.Fatalf("initializer w = %+v", w)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(m *onnxpb.ModelProto)
		raw    []byte
		want   error
		msg    string
	}{
		{name: "not protobuf", raw: []byte("\xff\xff\xff garbage"), want: nn.ErrMalformedModel},
		{name: "no graph", mutate: func(m *onnxpb.ModelProto) { m.Graph = nil }, want: nn.ErrMalformedModel, msg: "no graph"},
		{name: "opset too new", mutate: func(m *onnxpb.ModelProto) { m.OpsetImport[0].Version = proto.Int64(99) }, want: nn.ErrUnsupportedOp, msg: "opset 99"},
		{name: "dangling input", mutate: func(m *onnxpb.ModelProto) { m.Graph.Node[1].Input[0] = "nope" }, want: nn.ErrMalformedModel, msg: `"nope"`},
		{name: "short float data", mutate: func(m *onnxpb.ModelProto) { m.Graph.Initializer[0].FloatData = []float32{1} }, want: nn.ErrMalformedModel, msg: "needs 3 elements"},
		{name: "short raw data", mutate: func(m *onnxpb.ModelProto) {
			m.Graph.Initializer[0].FloatData = nil
			m.Graph.Initializer[0].RawData = []byte{1, 2, 3}
		}, want: nn.ErrMalformedModel, msg: "raw_data holds 3"},
		{name: "huge claimed tensor", mutate: func(m *onnxpb.ModelProto) {
			m.Graph.Initializer[0].Dims = []int64{1000000, 1000000} // 10^12 elements
		}, want: nn.ErrTooLarge},
		{name: "overflowing dims", mutate: func(m *onnxpb.ModelProto) {
			m.Graph.Initializer[0].Dims = []int64{1 << 40, 1 << 40}
		}, want: nn.ErrTooLarge},
		{name: "negative dim", mutate: func(m *onnxpb.ModelProto) { m.Graph.Initializer[0].Dims = []int64{-3} }, want: nn.ErrMalformedModel},
		{name: "no outputs", mutate: func(m *onnxpb.ModelProto) { m.Graph.Output = nil }, want: nn.ErrMalformedModel},
		{name: "external data without a directory", mutate: func(m *onnxpb.ModelProto) {
			m.Graph.Initializer[0].FloatData = nil
			m.Graph.Initializer[0].DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
			m.Graph.Initializer[0].ExternalData = []*onnxpb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String("w.bin")}}
		}, want: nn.ErrMalformedModel, msg: "external data"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.raw
			if data == nil {
				m := reluModel()
				tc.mutate(m)
				data = marshal(t, m)
			}
			_, err := Decode(context.Background(), data, Options{})
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if tc.msg != "" && !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %q does not mention %q", err, tc.msg)
			}
		})
	}
}

func TestExternalData(t *testing.T) {
	dir := t.TempDir()
	raw := []byte{0, 0, 0, 0, 0, 0, 128, 63, 0, 0, 0, 192, 0, 0, 64, 64} // pad, 1, -2, 3
	if err := os.WriteFile(filepath.Join(dir, "w.bin"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	ext := func(loc, off string) func(m *onnxpb.ModelProto) {
		return func(m *onnxpb.ModelProto) {
			w := m.Graph.Initializer[0]
			w.FloatData = nil
			w.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
			w.ExternalData = []*onnxpb.StringStringEntryProto{
				{Key: proto.String("location"), Value: proto.String(loc)},
				{Key: proto.String("offset"), Value: proto.String(off)},
			}
		}
	}
	tests := []struct {
		name   string
		mutate func(m *onnxpb.ModelProto)
		want   error
	}{
		{"ok", ext("w.bin", "4"), nil},
		{"past end", ext("w.bin", "8"), nn.ErrMalformedModel},
		{"escapes dir", ext("../w.bin", "4"), nn.ErrMalformedModel},
		{"absolute", ext("/etc/passwd", "0"), nn.ErrMalformedModel},
		{"missing file", ext("nope.bin", "0"), nn.ErrMalformedModel},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := reluModel()
			tc.mutate(m)
			path := filepath.Join(dir, "model.onnx")
			if err := os.WriteFile(path, marshal(t, m), 0o644); err != nil {
				t.Fatal(err)
			}
			g, err := Load(context.Background(), path, Options{})
			if !errors.Is(err, tc.want) && !(tc.want == nil && err == nil) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if tc.want == nil {
				if w := g.Initializers["w"].F32(); w[0] != 1 || w[1] != -2 || w[2] != 3 {
					t.Fatalf("w = %v", w)
				}
			}
		})
	}
}

func TestLoadRejectsOversizedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.onnx")
	if err := os.WriteFile(path, marshal(t, reluModel()), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(context.Background(), path, Options{MaxFileBytes: 10}); !errors.Is(err, nn.ErrTooLarge) {
		t.Fatalf("error %v, want ErrTooLarge", err)
	}
}

func TestTensorFromProtoTypes(t *testing.T) {
	tests := []struct {
		tp   *onnxpb.TensorProto
		want string
	}{
		{&onnxpb.TensorProto{DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)), Dims: []int64{2}, Int64Data: []int64{-1, 5}}, "[-1 5]"},
		{&onnxpb.TensorProto{DataType: proto.Int32(int32(onnxpb.TensorProto_UINT8)), Dims: []int64{2}, Int32Data: []int32{7, 255}}, "[7 255]"},
		{&onnxpb.TensorProto{DataType: proto.Int32(int32(onnxpb.TensorProto_BOOL)), Dims: []int64{2}, RawData: []byte{1, 0}}, "[true false]"},
		{&onnxpb.TensorProto{DataType: proto.Int32(int32(onnxpb.TensorProto_DOUBLE)), Dims: []int64{}, DoubleData: []float64{2.5}}, "[2.5]"},
		{&onnxpb.TensorProto{DataType: proto.Int32(int32(onnxpb.TensorProto_INT32)), Dims: []int64{1}, RawData: []byte{0xff, 0xff, 0xff, 0xff}}, "[-1]"},
	}
	for _, tc := range tests {
		got, err := TensorFromProto(tc.tp, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if s := fmtData(got.Data); s != tc.want {
			t.Errorf("%v: data %s, want %s", tc.tp.GetDataType(), s, tc.want)
		}
		if err := got.Validate(); err != nil {
			t.Error(err)
		}
	}
}
