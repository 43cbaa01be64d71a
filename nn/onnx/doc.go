// Package onnx loads ONNX models (protobuf, default-domain opsets 7–17,
// older opsets where the operators' semantics allow) into nn/graph's IR.
//
// Load and Decode validate everything they read before allocating for it:
// a tensor's declared dimensions must agree with the bytes actually present
// (inline or in an external data file), and no tensor may exceed
// Options.MaxTensorBytes, so a small file claiming a huge tensor is an
// ErrTooLarge or ErrMalformedModel error, never an out-of-memory. External
// data files are resolved relative to the model's directory and may not
// escape it.
//
// Graph inputs, outputs and value_info may be tensors, sequences or
// optionals (graph.ValueInfo.Kind, element types recursively, nested at
// most 16 deep); maps and sparse tensors stay unknown. DecodeValue reads a
// serialized TensorProto, SequenceProto or OptionalProto (onnx-data.proto,
// the backend test data's input_N.pb / output_N.pb) into an nn.Value with
// the same size checks; sequences and optionals of tensors only.
//
// Errors wrap the sentinels of package nn (ErrMalformedModel, ErrTooLarge,
// ErrUnsupportedOp). The loader does not check that operators are
// implemented; the backend does that when it compiles the graph.
package onnx
