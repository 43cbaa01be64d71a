//go:build cuda

package gpu

// #cgo LDFLAGS: -lcublas
// #include <cublas_v2.h>
import "C"

import (
	"fmt"
	"unsafe"

	"gorgonia.org/cu"
	cublas "gorgonia.org/cu/blas"
)

// Calls the binding does not wrap, on its handle (the first field of
// cublas.Standard).

func handleOf(b *cublas.Standard) C.cublasHandle_t {
	return C.cublasHandle_t(*(*unsafe.Pointer)(unsafe.Pointer(b)))
}

func fptr(p cu.DevicePtr) *C.float {
	u := uintptr(p)
	return *(**C.float)(unsafe.Pointer(&u))
}

func op(t bool) C.cublasOperation_t {
	if t {
		return C.CUBLAS_OP_T
	}
	return C.CUBLAS_OP_N
}

// sgemmStridedBatched is cublasSgemmStridedBatched (column-major):
// C_i = alpha·op(A_i)·op(B_i) + beta·C_i for i < count, A_i = a + i·strideA
// (elements), and so on.
func sgemmStridedBatched(b *cublas.Standard, tA, tB bool, m, n, k int, alpha float32, a cu.DevicePtr, lda int, strideA int64,
	bp cu.DevicePtr, ldb int, strideB int64, beta float32, c cu.DevicePtr, ldc int, strideC int64, count int) error {
	al, be := C.float(alpha), C.float(beta)
	st := C.cublasSgemmStridedBatched(handleOf(b), op(tA), op(tB), C.int(m), C.int(n), C.int(k), &al, fptr(a), C.int(lda),
		C.longlong(strideA), fptr(bp), C.int(ldb), C.longlong(strideB), &be, fptr(c), C.int(ldc), C.longlong(strideC), C.int(count))
	if st != C.CUBLAS_STATUS_SUCCESS {
		return fmt.Errorf("gpu: cublasSgemmStridedBatched(%d×%d×%d, %d): status %d", m, n, k, count, int(st))
	}
	return nil
}

// setTF32 switches the cuBLAS handle between exact float32 GEMM
// (CUBLAS_DEFAULT_MATH) and TF32 tensor-core GEMM
// (CUBLAS_TF32_TENSOR_OP_MATH).
func setTF32(b *cublas.Standard, on bool) error {
	mode := C.cublasMath_t(C.CUBLAS_DEFAULT_MATH)
	if on {
		mode = C.CUBLAS_TF32_TENSOR_OP_MATH
	}
	if st := C.cublasSetMathMode(handleOf(b), mode); st != C.CUBLAS_STATUS_SUCCESS {
		return fmt.Errorf("gpu: cublasSetMathMode: status %d", int(st))
	}
	return nil
}
