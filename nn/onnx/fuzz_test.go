package onnx

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/sluice-ml/sluice/nn/onnx/onnxpb"
)

func fmtData(v any) string { return fmt.Sprint(v) }

// FuzzLoad feeds arbitrary bytes to the loader: it must return a graph or
// an error, never panic, and never allocate for tensors the input does not
// contain (MaxTensorBytes is kept small so a claim past it is caught; the
// bytes allocated by one Decode are checked against the input's size).
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
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		g, err := Decode(context.Background(), data, Options{MaxTensorBytes: 64 << 20})
		runtime.ReadMemStats(&after)
		// Allocation stays proportional to the input: nothing is sized by
		// a claimed shape before the data backing it has been seen.
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20+256*uint64(len(data)) {
			t.Fatalf("decoding %d bytes allocated %d bytes (err %v)", len(data), grew, err)
		}
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
