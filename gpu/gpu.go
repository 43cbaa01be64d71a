package gpu

import (
	"errors"

	"github.com/sluice-ml/sluice/nn/onnx"
)

// Sentinel errors.
var (
	// ErrNotBuilt: this binary was built without the `cuda` tag.
	ErrNotBuilt = errors.New("gpu: built without CUDA (rebuild with `go build -tags cuda` on a host with the CUDA toolkit to use a GPU)")
	// ErrNoDevice: the CUDA driver reports no usable device.
	ErrNoDevice = errors.New("gpu: no CUDA device")
)

// Options configure a Session.
type Options struct {
	// Device is the CUDA device ordinal (default 0).
	Device int
	// TF32 lets cuBLAS use TF32 tensor cores for GEMM and convolution
	// (10-bit mantissa products, float32 accumulation): several times the
	// float32 rate on Ampere and later for large GEMMs (1.1–1.3× on these
	// models), at 3e-4 to 1e-2 relative error on the fixtures (docs/gpu.md).
	// Default: exact float32.
	TF32 bool
	// NoOptimize disables the load-time graph rewrites.
	NoOptimize bool
	// MaxTensorElements bounds every tensor an operator creates at run
	// time (default 1<<28), as in nn/cpu.
	MaxTensorElements int64
	// Load bounds what Open accepts from the model file.
	Load onnx.Options
}

// DeviceInfo describes one CUDA device.
type DeviceInfo struct {
	Ordinal int
	Name    string
	// MemBytes is the device's total memory.
	MemBytes int64
	// Major, Minor: compute capability.
	Major, Minor int
}
