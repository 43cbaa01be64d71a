package onnx

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/sluice-ml/sluice/nn/onnx/onnxpb"
)

func fmtData(v any) string { return fmt.Sprint(v) }

// FuzzLoad feeds arbitrary bytes to the loader: it must return a graph or
// an error, never panic, and never allocate for tensors the input does not
// contain (MaxTensorBytes is kept small so a claim past it is caught).
//
//	go test ./nn/onnx -run '^$' -fuzz FuzzLoad -fuzztime 10m
func FuzzLoad(f *testing.F) {
	f.Add(marshal(f, reluModel()))
	huge := reluModel()
	huge.Graph.Initializer[0].Dims = []int64{1000000, 1000000}
	f.Add(marshal(f, huge))
	raw := reluModel()
	raw.Graph.Initializer[0].FloatData = nil
	raw.Graph.Initializer[0].RawData = make([]byte, 12)
	f.Add(marshal(f, raw))
	attr := reluModel()
	attr.Graph.Node = append(attr.Graph.Node, &onnxpb.NodeProto{OpType: proto.String("Constant"), Output: []string{"c"},
		Attribute: []*onnxpb.AttributeProto{{Name: proto.String("value"), Type: onnxpb.AttributeProto_TENSOR.Enum(),
			T: &onnxpb.TensorProto{DataType: proto.Int32(7), Dims: []int64{2}, Int64Data: []int64{1, 2}}}}})
	f.Add(marshal(f, attr))
	f.Add([]byte{})
	// Real models as seeds when Debian's libonnx-testdata is installed.
	for _, dir := range []string{"test_constant", "test_conv_with_strides_padding", "test_resize_upsample_sizes_cubic",
		"test_cast_FLOAT_to_FLOAT16", "test_constantofshape_int_zeros", "test_identity_sequence"} {
		if b, err := os.ReadFile(filepath.Join("/usr/share/libonnx-testdata/data/node", dir, "model.onnx")); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := Decode(context.Background(), data, Options{MaxTensorBytes: 64 << 20})
		if err != nil {
			return
		}
		if err := g.Validate(); err != nil {
			t.Fatalf("Decode returned an invalid graph: %v", err)
		}
		for name, tn := range g.Initializers {
			if err := tn.Validate(); err != nil {
				t.Fatalf("initializer %q: %v", name, err)
			}
		}
	})
}
