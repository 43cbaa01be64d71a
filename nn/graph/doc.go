// Package graph is Sluice's inference graph IR: a topologically ordered list
// of ONNX-style nodes over named values, the graph's inputs and outputs,
// and its initializers (constant tensors). It is produced by nn/onnx and
// consumed by nn/cpu. A ValueInfo declares a tensor (element type, shape)
// or a sequence or optional (Kind, with the element's ValueInfo in Elem).
//
// Optimize rewrites a graph in place at load time: Identity and inference
// Dropout removal, constant folding (through an Evaluator supplied by the
// backend, so that folding computes exactly what execution would),
// BatchNormalization folded into a preceding Conv, Relu/Clip/LeakyRelu
// fused into a preceding Conv, Add or InstanceNormalization as an
// epilogue, and dead-node removal. The
// rewrites never change a graph output's name or value (within float
// rounding of the folded arithmetic).
//
// A Graph is not safe for concurrent mutation; once handed to a backend it
// must not be changed.
package graph
