// Package cpu runs nn/graph models on the CPU: it implements nn.Session.
//
// Open (or NewSession for a graph already loaded) compiles every node
// once: attributes are checked, an operator this package does not
// implement fails here with nn.ErrUnsupportedOp naming op, domain, opset
// and node, and graph.InferShapes rejects models whose static shapes
// contradict each other. Unless Options.NoOptimize is set, the graph is
// then optimized in place (graph.Optimize, with Evaluate folding
// constants through the same operator code that runs them).
//
// Execution is an interpreter over the topologically ordered nodes,
// not gorgonia's TapeMachine: on the same convolution block the
// TapeMachine measured 7.6× slower (gorgonia_bench_test.go, nn/NOTES.md),
// and it lacks grouped convolution, ceil-mode pooling, Clip, Pad, Resize
// and InstanceNormalization. Heavy operators run on nn/kernels: GEMM
// (MatMul, Gemm, ConvTranspose) and 1-D/2-D convolutions with constant
// weights, packed once per input geometry and shared by all runs, with the
// fused Relu/Clip/LeakyRelu epilogue. gorgonia's tensor package remains
// the interop type (ToDense, FromDense).
//
// Run is safe for concurrent use. Each call borrows a working state from
// the session's pool: a free list of activation buffers, handed to each
// operator output and taken back after the value's last reader (a plan
// computed at compile time, views included), plus operator scratch
// (im2col blocks, gather index maps) kept while shapes stay the same. So
// memory is bounded by the activations live at once, and steady-state runs
// allocate only the output tensors they return (copies owned by the
// caller; RunInto writes into the caller's own buffers instead) and small
// bookkeeping. Intermediates that
// are views (Reshape, Flatten, Squeeze, Unsqueeze, Identity) share their
// input's buffer. Options.Threads bounds the goroutines of the operators
// here and sets nn/kernels' process-wide worker count.
//
// Sequences and optionals: RunValues feeds and returns nn.Value (tensors,
// sequences of tensors, optionals); Run and RunInto stay tensor-only and
// name RunValues when a model's input or output is not a tensor. Such
// values live beside the tensor slots (state.xvals, allocated only for
// models that have them), so the tensor path is unchanged. Identity passes
// any value through; SequenceEmpty, SequenceConstruct, SequenceAt,
// SequenceInsert, SequenceErase, SequenceLength, ConcatFromSequence,
// SplitToSequence, Optional, OptionalHasElement and OptionalGetElement
// run over them (never constant-folded). A tensor stored into a sequence
// or optional is copied (its activation buffer may be reused); a tensor
// taken out is shared. Any other operator given a sequence or optional
// fails naming the node, the op and the input.
//
// Errors: nn.ErrInputShape for a missing or unknown input, a wrong element
// type or a shape that contradicts the declaration (the message names the
// input, the shape given and the shape wanted); nn.ErrShape and
// nn.ErrUnsupportedOp from operators at run time, wrapped with the node
// and opset; ctx.Err() when ctx ends (checked between operators);
// nn.ErrClosed after Close.
package cpu
