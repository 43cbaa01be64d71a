package nn

import "errors"

// Sentinel errors. They are wrapped with context (op, node, opset, value
// name) and tested with errors.Is.
var (
	// ErrUnsupportedOp: the model uses an operator, an opset or an attribute
	// value this engine does not implement. The message names op, opset and
	// node. Retrying does not help.
	ErrUnsupportedOp = errors.New("unsupported operator")
	// ErrMalformedModel: the model file is not a valid ONNX model, or it is
	// internally inconsistent (dangling value, tensor data of the wrong
	// size, absurd dimensions).
	ErrMalformedModel = errors.New("malformed model")
	// ErrTooLarge: a tensor or file exceeds the loader's limits (see
	// onnx.Options). Nothing was allocated for it.
	ErrTooLarge = errors.New("tensor too large")
	// ErrInputShape: Run got a missing input, an unknown input name, a wrong
	// element type or a shape that does not match the model's declaration.
	ErrInputShape = errors.New("bad input")
	// ErrShape: shapes met at run time that an operator cannot accept (for
	// example operands that do not broadcast).
	ErrShape = errors.New("shape mismatch")
	// ErrClosed: the session was closed.
	ErrClosed = errors.New("session closed")
	// ErrBadTensor: a Tensor whose data length does not match its shape, or
	// whose data slice does not match its DType.
	ErrBadTensor = errors.New("bad tensor")
)
