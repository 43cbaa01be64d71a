package onnx

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/graph"
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
		"test_cast_FLOAT_to_FLOAT16", "test_constantofshape_int_zeros", "test_identity_sequence", "test_identity_opt",
		"test_optional_get_element_sequence", "test_sequence_insert_at_front"} {
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
		for _, vi := range append(append([]graph.ValueInfo(nil), g.Inputs...), g.Outputs...) {
			for d, e := 0, &vi; e != nil; d, e = d+1, e.Elem {
				if d > maxTypeDepth+1 {
					t.Fatalf("value %q: type nested deeper than the limit", vi.Name)
				}
				if e.Kind != nn.KindTensor && (e.DType != nn.Undefined || e.Shape != nil) {
					t.Fatalf("value %q: %v with a tensor type", vi.Name, e.Kind)
				}
			}
		}
		for name, tn := range g.Initializers {
			if err := tn.Validate(); err != nil {
				t.Fatalf("initializer %q: %v", name, err)
			}
		}
	})
}

// FuzzDecodeValue feeds arbitrary bytes to DecodeValue as a tensor, a
// sequence and an optional (the first byte picks the kind): it must return
// a valid value of that kind or an error, never panic, and allocate in
// proportion to the input.
//
//	go test ./nn/onnx -run '^$' -fuzz FuzzDecodeValue -fuzztime 1m
func FuzzDecodeValue(f *testing.F) {
	seq := &onnxpb.SequenceProto{Name: proto.String("s"), ElemType: proto.Int32(1), TensorValues: []*onnxpb.TensorProto{
		{DataType: proto.Int32(1), Dims: []int64{2}, FloatData: []float32{1, 2}},
		{DataType: proto.Int32(1), Dims: []int64{1, 1}, RawData: make([]byte, 4)},
	}}
	f.Add(append([]byte{byte(nn.KindSequence)}, marshal(f, seq)...))
	f.Add(append([]byte{byte(nn.KindOptional)}, marshal(f, &onnxpb.OptionalProto{ElemType: proto.Int32(3), SequenceValue: seq})...))
	f.Add(append([]byte{byte(nn.KindOptional)}, marshal(f, &onnxpb.OptionalProto{ElemType: proto.Int32(1), TensorValue: seq.TensorValues[0]})...))
	f.Add(append([]byte{byte(nn.KindOptional)}, marshal(f, &onnxpb.OptionalProto{ElemType: proto.Int32(0)})...))
	f.Add(append([]byte{byte(nn.KindTensor)}, marshal(f, seq.TensorValues[1])...))
	huge := &onnxpb.SequenceProto{ElemType: proto.Int32(1), TensorValues: []*onnxpb.TensorProto{{DataType: proto.Int32(1), Dims: []int64{1 << 20, 1 << 20}}}}
	f.Add(append([]byte{byte(nn.KindSequence)}, marshal(f, huge)...))
	dirs, _ := filepath.Glob("/usr/share/libonnx-testdata/data/node/test_*[_]opt*/test_data_set_0")
	more, _ := filepath.Glob("/usr/share/libonnx-testdata/data/node/test_*sequence*/test_data_set_0")
	for _, dir := range append(dirs, more...) {
		for _, name := range []string{"input_0.pb", "output_0.pb"} {
			if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
				for _, k := range []nn.Kind{nn.KindTensor, nn.KindSequence, nn.KindOptional} {
					f.Add(append([]byte{byte(k)}, b...))
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		kind := nn.Kind(data[0] % 4) // 3: an unknown kind, which must be refused
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		v, err := DecodeValue(data[1:], kind, Options{MaxTensorBytes: 64 << 20})
		runtime.ReadMemStats(&after)
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20+256*uint64(len(data)) {
			t.Fatalf("decoding %d bytes allocated %d bytes (err %v)", len(data), grew, err)
		}
		if err != nil {
			if kind > nn.KindOptional && !errors.Is(err, nn.ErrUnsupportedOp) {
				t.Fatalf("unknown kind: %v", err)
			}
			return
		}
		if kind > nn.KindOptional {
			t.Fatalf("unknown kind %d decoded as %v", kind, v)
		}
		if v.Kind != kind {
			t.Fatalf("asked for a %v, got a %v", kind, v)
		}
		if err := v.Validate(); err != nil {
			t.Fatalf("DecodeValue returned an invalid value %v: %v", v, err)
		}
	})
}
