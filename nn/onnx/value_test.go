package onnx

import (
	"context"
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/onnx/onnxpb"
)

func seqType(el *onnxpb.TypeProto) *onnxpb.TypeProto {
	return &onnxpb.TypeProto{Value: &onnxpb.TypeProto_SequenceType{SequenceType: &onnxpb.TypeProto_Sequence{ElemType: el}}}
}

func optType(el *onnxpb.TypeProto) *onnxpb.TypeProto {
	return &onnxpb.TypeProto{Value: &onnxpb.TypeProto_OptionalType{OptionalType: &onnxpb.TypeProto_Optional{ElemType: el}}}
}

func TestSequenceAndOptionalTypes(t *testing.T) {
	m := reluModel()
	tensor := vi("t", onnxpb.TensorProto_INT64, 2, -1).Type
	m.Graph.Input = append(m.Graph.Input,
		&onnxpb.ValueInfoProto{Name: proto.String("s"), Type: seqType(tensor)},
		&onnxpb.ValueInfoProto{Name: proto.String("o"), Type: optType(seqType(tensor))},
		&onnxpb.ValueInfoProto{Name: proto.String("u"), Type: seqType(nil)})
	g, err := Decode(context.Background(), marshal(t, m), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, o, u := g.Inputs[1], g.Inputs[2], g.Inputs[3]
	if s.Kind != nn.KindSequence || s.Elem == nil || s.Elem.DType != nn.Int64 || len(s.Elem.Shape) != 2 || s.Elem.Shape[1] != -1 || s.Elem.DimParams[1] != "N" {
		t.Errorf("sequence input: %+v (elem %+v)", s, s.Elem)
	}
	if got := o.TypeString(); got != "optional<sequence<int64[2,N]>>" {
		t.Errorf("optional input: %s", got)
	}
	if u.Kind != nn.KindSequence || u.Elem != nil {
		t.Errorf("sequence of unknown elements: %+v", u)
	}
	if got := g.Inputs[0].TypeString(); got != "float32[N,3]" {
		t.Errorf("tensor input: %s", got)
	}

	// A type nested past the limit is an error, not a deep recursion.
	deep := tensor
	for i := 0; i < maxTypeDepth+2; i++ {
		deep = seqType(deep)
	}
	m.Graph.Input = append(m.Graph.Input, &onnxpb.ValueInfoProto{Name: proto.String("deep"), Type: deep})
	if _, err := Decode(context.Background(), marshal(t, m), Options{}); !errors.Is(err, nn.ErrMalformedModel) {
		t.Errorf("deeply nested type: %v", err)
	}
}

func TestDecodeValue(t *testing.T) {
	f32 := func(vals ...float32) *onnxpb.TensorProto {
		return &onnxpb.TensorProto{DataType: proto.Int32(1), Dims: []int64{int64(len(vals))}, FloatData: vals}
	}
	seq := &onnxpb.SequenceProto{Name: proto.String("s"), ElemType: proto.Int32(1), TensorValues: []*onnxpb.TensorProto{f32(1, 2), f32(3)}}
	v, err := DecodeValue(marshal(t, seq), nn.KindSequence, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if v.Kind != nn.KindSequence || v.ElemType != nn.Float32 || len(v.Seq) != 2 || v.Seq[1].F32()[0] != 3 {
		t.Errorf("sequence: %v %v", v, v.Seq)
	}
	v, err = DecodeValue(marshal(t, &onnxpb.OptionalProto{ElemType: proto.Int32(3), SequenceValue: seq}), nn.KindOptional, Options{})
	if err != nil || v.Kind != nn.KindOptional || v.Elem == nil || v.Elem.Kind != nn.KindSequence || len(v.Elem.Seq) != 2 {
		t.Errorf("optional sequence: %v, %v", v, err)
	}
	v, err = DecodeValue(marshal(t, &onnxpb.OptionalProto{}), nn.KindOptional, Options{})
	if err != nil || v.Kind != nn.KindOptional || v.Elem != nil {
		t.Errorf("empty optional: %v, %v", v, err)
	}
	v, err = DecodeValue(marshal(t, &onnxpb.SequenceProto{ElemType: proto.Int32(1)}), nn.KindSequence, Options{})
	if err != nil || len(v.Seq) != 0 {
		t.Errorf("empty sequence: %v, %v", v, err)
	}

	for _, c := range []struct {
		name string
		msg  proto.Message
		kind nn.Kind
		want error
	}{
		{"mixed element types", &onnxpb.SequenceProto{ElemType: proto.Int32(1), TensorValues: []*onnxpb.TensorProto{f32(1),
			{DataType: proto.Int32(7), Dims: []int64{1}, Int64Data: []int64{1}}}}, nn.KindSequence, nn.ErrMalformedModel},
		{"tensors without element type", &onnxpb.SequenceProto{TensorValues: []*onnxpb.TensorProto{f32(1)}}, nn.KindSequence, nn.ErrMalformedModel},
		{"element too short", &onnxpb.SequenceProto{ElemType: proto.Int32(1), TensorValues: []*onnxpb.TensorProto{{DataType: proto.Int32(1), Dims: []int64{3}, FloatData: []float32{1}}}}, nn.KindSequence, nn.ErrMalformedModel},
		{"element too large", &onnxpb.SequenceProto{ElemType: proto.Int32(1), TensorValues: []*onnxpb.TensorProto{{DataType: proto.Int32(1), Dims: []int64{1 << 40}}}}, nn.KindSequence, nn.ErrTooLarge},
		{"sequence of sequences", &onnxpb.SequenceProto{ElemType: proto.Int32(3), SequenceValues: []*onnxpb.SequenceProto{seq}}, nn.KindSequence, nn.ErrUnsupportedOp},
		{"bad element type", &onnxpb.SequenceProto{ElemType: proto.Int32(42)}, nn.KindSequence, nn.ErrMalformedModel},
		{"optional tensor typed as sequence", &onnxpb.OptionalProto{ElemType: proto.Int32(3), TensorValue: f32(1)}, nn.KindOptional, nn.ErrMalformedModel},
		{"optional with two values", &onnxpb.OptionalProto{ElemType: proto.Int32(1), TensorValue: f32(1), SequenceValue: seq}, nn.KindOptional, nn.ErrMalformedModel},
		{"optional of optional", &onnxpb.OptionalProto{ElemType: proto.Int32(5), OptionalValue: &onnxpb.OptionalProto{}}, nn.KindOptional, nn.ErrUnsupportedOp},
	} {
		if _, err := DecodeValue(marshal(t, c.msg), c.kind, Options{MaxTensorBytes: 1 << 20}); !errors.Is(err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := DecodeValue([]byte{0xff, 0xff}, nn.KindSequence, Options{}); !errors.Is(err, nn.ErrMalformedModel) {
		t.Errorf("garbage: %v", err)
	}
	if _, err := DecodeValue(nil, nn.Kind(9), Options{}); !errors.Is(err, nn.ErrUnsupportedOp) {
		t.Errorf("unknown kind: %v", err)
	}
}
