// Package nn holds the types shared by Sluice's model import and inference
// packages: the Tensor that crosses the Session boundary, the Session
// contract, and the sentinel errors callers test with errors.Is.
//
// The layout below nn is one concern per package:
//
//	nn/onnx   loads ONNX protobuf models (opsets 7–17) into the graph IR
//	nn/graph  the graph IR, load-time rewrites and shape inference
//	nn/cpu    CPU execution of a graph (the Session implementation)
//	nn/npy    NumPy .npy reading and writing
//
// Tensors are dense, row-major and own their data. A Tensor handed to
// Session.Run is only read; the tensors Run returns belong to the caller.
//
// Value carries what ONNX models may pass besides tensors: a sequence of
// tensors, or an optional (empty, or holding a tensor or a sequence).
// nn/onnx decodes them (SequenceProto, OptionalProto) and nn/cpu's
// Session.RunValues takes and returns them; plain tensor models never need
// them.
package nn
