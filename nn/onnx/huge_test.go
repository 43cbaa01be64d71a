package onnx

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/onnx/onnxpb"
)

// TestSmallFileClaimingHugeTensor: a model file of about 1 KB whose
// initializer (or Constant attribute) claims 10^12 elements is an error,
// not an out-of-memory, whether its data is missing, short, inline or
// external; also with the tensor byte limit lifted, which shows the data
// length is checked before anything of the claimed size is allocated.
func TestSmallFileClaimingHugeTensor(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "w.bin"), make([]byte, 64), 0o644); err != nil {
		t.Fatal(err)
	}
	huge := []int64{1000000, 1000000} // 10^12 float32 elements: 4 TB
	cases := []struct {
		name   string
		mutate func(w *onnxpb.TensorProto, m *onnxpb.ModelProto)
	}{
		{"no data", func(w *onnxpb.TensorProto, _ *onnxpb.ModelProto) { w.FloatData = nil }},
		{"short float_data", func(w *onnxpb.TensorProto, _ *onnxpb.ModelProto) {}},
		{"short raw_data", func(w *onnxpb.TensorProto, _ *onnxpb.ModelProto) {
			w.FloatData, w.RawData = nil, make([]byte, 12)
		}},
		{"external data", func(w *onnxpb.TensorProto, _ *onnxpb.ModelProto) {
			w.FloatData = nil
			w.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
			w.ExternalData = []*onnxpb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String("w.bin")}}
		}},
		{"external data with a matching length claim", func(w *onnxpb.TensorProto, _ *onnxpb.ModelProto) {
			w.FloatData = nil
			w.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
			w.ExternalData = []*onnxpb.StringStringEntryProto{
				{Key: proto.String("location"), Value: proto.String("w.bin")},
				{Key: proto.String("length"), Value: proto.String("4000000000000")},
			}
		}},
		{"Constant attribute", func(w *onnxpb.TensorProto, m *onnxpb.ModelProto) {
			w.Dims = []int64{3}
			m.Graph.Node = append(m.Graph.Node, &onnxpb.NodeProto{OpType: proto.String("Constant"), Output: []string{"c"},
				Attribute: []*onnxpb.AttributeProto{{Name: proto.String("value"), Type: onnxpb.AttributeProto_TENSOR.Enum(),
					T: &onnxpb.TensorProto{DataType: proto.Int32(1), Dims: huge, FloatData: []float32{1}}}}})
		}},
	}
	for _, tc := range cases {
		for _, limit := range []int64{0, math.MaxInt64} {
			t.Run(tc.name, func(t *testing.T) {
				m := reluModel()
				w := m.Graph.Initializer[0]
				w.Dims = huge
				tc.mutate(w, m)
				m.DocString = proto.String(strings.Repeat("padding to about one kilobyte. ", 28))
				b := marshal(t, m)
				if len(b) < 900 || len(b) > 1100 {
					t.Fatalf("model is %d bytes, want a ~1 KB file", len(b))
				}
				path := filepath.Join(dir, "m.onnx")
				if err := os.WriteFile(path, b, 0o644); err != nil {
					t.Fatal(err)
				}
				var before runtime.MemStats
				runtime.ReadMemStats(&before)
				_, err := Load(context.Background(), path, Options{MaxTensorBytes: limit})
				if !errors.Is(err, nn.ErrTooLarge) && !errors.Is(err, nn.ErrMalformedModel) {
					t.Fatalf("limit %d: error %v, want ErrTooLarge or ErrMalformedModel", limit, err)
				}
				var after runtime.MemStats
				runtime.ReadMemStats(&after)
				if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
					t.Fatalf("limit %d: loading a %d-byte file allocated %d bytes", limit, len(b), grew)
				}
				t.Logf("limit %d: %d-byte file: %v", limit, len(b), err)
			})
		}
	}
}
