//go:build cuda

package gpu

// #cgo LDFLAGS: -lcublas
// #include <cublas_v2.h>
import "C"

import (
	"fmt"
	"unsafe"

	cublas "gorgonia.org/cu/blas"
)

// setTF32 switches the cuBLAS handle between exact float32 GEMM
// (CUBLAS_DEFAULT_MATH) and TF32 tensor-core GEMM
// (CUBLAS_TF32_TENSOR_OP_MATH). The binding does not wrap
// cublasSetMathMode; its handle is the first field of cublas.Standard.
func setTF32(b *cublas.Standard, on bool) error {
	h := *(*unsafe.Pointer)(unsafe.Pointer(b))
	mode := C.cublasMath_t(C.CUBLAS_DEFAULT_MATH)
	if on {
		mode = C.CUBLAS_TF32_TENSOR_OP_MATH
	}
	if st := C.cublasSetMathMode(C.cublasHandle_t(h), mode); st != C.CUBLAS_STATUS_SUCCESS {
		return fmt.Errorf("gpu: cublasSetMathMode: status %d", int(st))
	}
	return nil
}
