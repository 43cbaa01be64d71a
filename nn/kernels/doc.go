// Package kernels holds Sluice's CPU compute kernels for inference:
// single-precision GEMM, 2-D convolution (with depthwise, pointwise and
// residual fast paths and fused bias + activation), and the worker pool
// they share. Everything is row-major float32; tensors are NCHW.
//
// # Contract
//
//   - Sgemm, SgemmThreads, SgemmSerial: C = alpha*op(A)*op(B) + beta*C
//     with BLAS semantics (beta == 0 overwrites C, NaN included). They
//     never write outside the m×n block of C.
//   - Conv2D(p, x, w, bias, y): y = act(conv(x, w) + bias); see ConvParams
//     for shapes. It packs the weights on every call; callers that run the
//     same layer repeatedly use PackConvWeights once (at model load) and
//     then PackedConv.Run / RunThreads / RunResidual, which allocate no big
//     buffers: scratch comes from a sync.Pool and is reused.
//   - A PackedConv is immutable and safe for concurrent use; it holds only
//     Go memory (no Close needed). Run's n may differ from the packed N.
//   - Invalid arguments (negative or inconsistent sizes, short slices) make
//     the kernels panic with an error wrapping ErrShape, like a BLAS
//     xerbla: they are programming errors of the caller, which validates
//     user input first with ConvParams.Validate, CheckConv2D or CheckSgemm
//     (those return the same errors).
//   - Inputs and outputs must not overlap, except where a function says so
//     (RunResidual's skip may be y itself).
//
// # Threads
//
// SetThreads(n) sets the process-wide worker count (default GOMAXPROCS);
// the *Threads variants take a per-call count, so sessions with different
// budgets do not interfere. Work is split into items (images × groups ×
// column chunks, or plane batches) handed to at most that many goroutines;
// the caller's goroutine is one of them.
//
// # Backends
//
// The GEMM micro-kernel is AVX2/FMA assembly (6×16 register tile, packed
// operands, fused bias/Relu/Clip/residual store) on amd64 CPUs that have
// both, portable Go elsewhere. Convolutions use an implicit GEMM over
// "phase planes" of the padded input (implicit.go: no im2col matrix), a
// plain GEMM for 1×1 stride-1 layers, a direct AVX2 kernel for 3×3
// depthwise layers, and Winograd for 3×3 stride-1 layers with at least 64
// input channels: F(4×4, 3×3) on planes at least 12 wide (winograd43.go),
// F(2×2, 3×3) on smaller ones (winograd.go), with AVX2 transforms
// (wino_amd64.s) around the same GEMM micro-kernel. When an OpenBLAS shared library is present at run
// time (found with dlopen by internal/blas; no build-time dependency),
// Sgemm uses it, pinned to one thread per call; convolutions keep the
// built-in kernels unless UseOpenBLASForConv(true) — they measured faster
// (NOTES.md). Builds with CGO_ENABLED=0 or the tag noopenblas are pure Go
// plus assembly. Backend() names what is in use.
package kernels
