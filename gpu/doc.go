// Package gpu runs nn/graph models on an NVIDIA GPU through CUDA: the same
// graphs nn/cpu executes (DESIGN.md §2), with the same Open / NewSession /
// Run / Close contract (nn.Session).
//
// The CUDA backend is compiled only with the build tag `cuda`
// (go build -tags cuda). It uses gorgonia.org/cu for the driver API
// (context, memory, module loading, kernel launches) and cuBLAS
// (gorgonia.org/cu/blas) for GEMM: Gemm directly; Conv as a strided-batched
// GEMM over the images as they lie (batched 1×1 stride-1), im2col and one
// GEMM per image (batch 1) or im2col of a chunk of the batch with one wide
// GEMM, each followed by a fused epilogue (bias, residual,
// Relu/Clip/LeakyRelu, NCHW); grouped and depthwise Conv as a direct
// kernel. The other operators (pooling, normalisation,
// element-wise, Concat, Pad, nearest Resize) are CUDA kernels of this
// package (kernels/kernels.cu), compiled to PTX by `go generate` (nvcc) and
// committed (kernels.ptx, embedded), so a build needs the CUDA headers and
// libraries but not nvcc. There is no cuDNN dependency. Arithmetic is
// float32 throughout (cuBLAS in its default, non-TF32 math mode) unless
// Options.TF32 is set.
//
// gorgonia.org/cu initialises CUDA in its package init and exits the
// process when that fails, so only the `cuda` build imports it: without
// the tag this package is a stub whose every entry point answers
// ErrNotBuilt ("built without CUDA"), and nothing else in Sluice changes
// (a test checks that `go list -deps ./cmd/sluice` holds no
// gorgonia.org/cu).
//
// Execution (cuda build): one worker goroutine per device, locked to its OS
// thread, owns the CUDA context, the loaded module and the cuBLAS handle;
// Session.Run hands it the whole forward pass (upload, kernels, download)
// so runs of all sessions on a device are serialised and never contend for
// the context. Weights are uploaded once at NewSession. Activations come
// from a per-session pool of device buffers (bucketed by size, freed after
// the last reader of each value, as in nn/cpu), so steady-state runs do
// not allocate device memory. Load-time graph rewrites are nn/graph's
// (BatchNormalization folded into Conv, activations and residual Adds fused),
// with constants folded by nn/cpu.Evaluate.
//
// Errors: nn.ErrUnsupportedOp at NewSession for an operator (or attribute)
// the GPU path lacks, naming the node; nn.ErrInputShape for a bad feed;
// ErrNotBuilt without the tag; ErrNoDevice when the driver reports no
// device; CUDA and cuBLAS failures wrapped with the node that hit them.
package gpu

//go:generate nvcc -ptx -arch=compute_70 -O3 -o kernels.ptx kernels/kernels.cu
