package onnx

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/onnx/onnxpb"
)

// Element types of SequenceProto and OptionalProto (their DataType enums
// share these numbers).
const (
	elemUndefined = int32(onnxpb.SequenceProto_UNDEFINED)
	elemTensor    = int32(onnxpb.SequenceProto_TENSOR)
	elemSequence  = int32(onnxpb.SequenceProto_SEQUENCE)
)

// DecodeValue parses a serialized value of the given kind: a TensorProto
// (nn.KindTensor), a SequenceProto of tensors (nn.KindSequence) or an
// OptionalProto holding nothing, a tensor or a sequence of tensors
// (nn.KindOptional). These are the formats of the ONNX backend test data
// (input_N.pb, output_N.pb). Sizes are checked before allocating, as for
// model tensors; external data is resolved under opts.Dir. Errors wrap
// nn.ErrMalformedModel, nn.ErrTooLarge or, for sparse tensors, maps and
// nested sequences, nn.ErrUnsupportedOp.
func DecodeValue(data []byte, kind nn.Kind, opts Options) (*nn.Value, error) {
	opts = opts.withDefaults()
	if int64(len(data)) > opts.MaxFileBytes {
		return nil, fmt.Errorf("%w: value of %d bytes", nn.ErrTooLarge, len(data))
	}
	budget := opts.MaxFileBytes
	switch kind {
	case nn.KindTensor:
		var tp onnxpb.TensorProto
		if err := proto.Unmarshal(data, &tp); err != nil {
			return nil, fmt.Errorf("%w: not a TensorProto: %v", nn.ErrMalformedModel, err)
		}
		t, err := tensorFromProto(&tp, opts, &budget)
		if err != nil {
			return nil, err
		}
		return nn.TensorValue(t), nil
	case nn.KindSequence:
		var sp onnxpb.SequenceProto
		if err := proto.Unmarshal(data, &sp); err != nil {
			return nil, fmt.Errorf("%w: not a SequenceProto: %v", nn.ErrMalformedModel, err)
		}
		return sequenceFromProto(&sp, opts, &budget)
	case nn.KindOptional:
		var op onnxpb.OptionalProto
		if err := proto.Unmarshal(data, &op); err != nil {
			return nil, fmt.Errorf("%w: not an OptionalProto: %v", nn.ErrMalformedModel, err)
		}
		return optionalFromProto(&op, opts, &budget)
	}
	return nil, fmt.Errorf("%w: value of %v", nn.ErrUnsupportedOp, kind)
}

// SequenceFromProto converts a SequenceProto of tensors.
func SequenceFromProto(sp *onnxpb.SequenceProto, opts Options) (*nn.Value, error) {
	opts = opts.withDefaults()
	budget := opts.MaxFileBytes
	return sequenceFromProto(sp, opts, &budget)
}

// OptionalFromProto converts an OptionalProto that is empty or holds a
// tensor or a sequence of tensors.
func OptionalFromProto(op *onnxpb.OptionalProto, opts Options) (*nn.Value, error) {
	opts = opts.withDefaults()
	budget := opts.MaxFileBytes
	return optionalFromProto(op, opts, &budget)
}

func sequenceFromProto(sp *onnxpb.SequenceProto, opts Options, budget *int64) (*nn.Value, error) {
	if sp == nil {
		return nil, fmt.Errorf("%w: missing sequence", nn.ErrMalformedModel)
	}
	name := sp.GetName()
	if len(sp.SparseTensorValues) > 0 || len(sp.SequenceValues) > 0 || len(sp.MapValues) > 0 || len(sp.OptionalValues) > 0 {
		return nil, fmt.Errorf("%w: sequence %q holds sparse tensors, sequences, maps or optionals (only tensors are supported)", nn.ErrUnsupportedOp, name)
	}
	switch et := sp.GetElemType(); et {
	case elemTensor:
	case elemUndefined:
		if len(sp.TensorValues) > 0 {
			return nil, fmt.Errorf("%w: sequence %q holds tensors but declares no element type", nn.ErrMalformedModel, name)
		}
	default:
		if et > 0 && et <= int32(onnxpb.SequenceProto_OPTIONAL) {
			return nil, fmt.Errorf("%w: sequence %q of element type %v (only tensors are supported)", nn.ErrUnsupportedOp, name, onnxpb.SequenceProto_DataType(et))
		}
		return nil, fmt.Errorf("%w: sequence %q has element type %d", nn.ErrMalformedModel, name, et)
	}
	v := &nn.Value{Kind: nn.KindSequence, Seq: make([]*nn.Tensor, 0, len(sp.TensorValues))}
	for i, tp := range sp.TensorValues {
		t, err := tensorFromProto(tp, opts, budget)
		if err != nil {
			return nil, fmt.Errorf("sequence %q element %d: %w", name, i, err)
		}
		if i > 0 && t.DType != v.ElemType {
			return nil, fmt.Errorf("%w: sequence %q element %d is %v, element 0 is %v", nn.ErrMalformedModel, name, i, t.DType, v.ElemType)
		}
		v.ElemType = t.DType
		v.Seq = append(v.Seq, t)
	}
	return v, nil
}

func optionalFromProto(op *onnxpb.OptionalProto, opts Options, budget *int64) (*nn.Value, error) {
	if op == nil {
		return nil, fmt.Errorf("%w: missing optional", nn.ErrMalformedModel)
	}
	name := op.GetName()
	if op.SparseTensorValue != nil || op.MapValue != nil || op.OptionalValue != nil {
		return nil, fmt.Errorf("%w: optional %q holds a sparse tensor, a map or an optional (only tensors and sequences are supported)", nn.ErrUnsupportedOp, name)
	}
	if op.TensorValue != nil && op.SequenceValue != nil {
		return nil, fmt.Errorf("%w: optional %q holds both a tensor and a sequence", nn.ErrMalformedModel, name)
	}
	et := op.GetElemType()
	switch {
	case op.TensorValue != nil:
		if et != elemTensor {
			return nil, fmt.Errorf("%w: optional %q holds a tensor but declares element type %d", nn.ErrMalformedModel, name, et)
		}
		t, err := tensorFromProto(op.TensorValue, opts, budget)
		if err != nil {
			return nil, fmt.Errorf("optional %q: %w", name, err)
		}
		return nn.OptionalValue(nn.TensorValue(t)), nil
	case op.SequenceValue != nil:
		if et != elemSequence {
			return nil, fmt.Errorf("%w: optional %q holds a sequence but declares element type %d", nn.ErrMalformedModel, name, et)
		}
		s, err := sequenceFromProto(op.SequenceValue, opts, budget)
		if err != nil {
			return nil, fmt.Errorf("optional %q: %w", name, err)
		}
		return nn.OptionalValue(s), nil
	}
	// Empty. The element type may still be declared (of the value that
	// is absent); any known one is accepted.
	if et < elemUndefined || et > int32(onnxpb.OptionalProto_OPTIONAL) {
		return nil, fmt.Errorf("%w: optional %q has element type %d", nn.ErrMalformedModel, name, et)
	}
	return nn.OptionalValue(nil), nil
}
