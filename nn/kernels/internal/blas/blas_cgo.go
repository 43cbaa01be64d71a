//go:build cgo && !noopenblas

package blas

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>

typedef void (*sluice_sgemm_fn)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*, int);
typedef void (*sluice_setthreads_fn)(int);
typedef char* (*sluice_config_fn)(void);

static sluice_sgemm_fn sluice_p_sgemm;
static sluice_config_fn sluice_p_config;

static int sluice_blas_open(const char* name) {
	setenv("OPENBLAS_NUM_THREADS", "1", 0);
	void* h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (!h) return 0;
	sluice_sgemm_fn f = (sluice_sgemm_fn)dlsym(h, "cblas_sgemm");
	if (!f) { dlclose(h); return 0; }
	sluice_setthreads_fn st = (sluice_setthreads_fn)dlsym(h, "openblas_set_num_threads");
	if (st) st(1);
	sluice_p_config = (sluice_config_fn)dlsym(h, "openblas_get_config");
	sluice_p_sgemm = f;
	return 1;
}

static const char* sluice_blas_config(void) {
	if (!sluice_p_config) return "";
	return sluice_p_config();
}

static void sluice_sgemm(int ta, int tb, int m, int n, int k, float alpha,
		const float* a, int lda, const float* b, int ldb, float beta, float* c, int ldc) {
	// 101 = CblasRowMajor, 111 = CblasNoTrans, 112 = CblasTrans.
	sluice_p_sgemm(101, ta ? 112 : 111, tb ? 112 : 111, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
*/
import "C"

import (
	"os"
	"sync"
	"unsafe"
)

var (
	once      sync.Once
	available bool
	libName   string
	libConfig string
)

var candidates = []string{
	"libopenblas.so.0",
	"libopenblas.so",
	"libopenblasp.so.0",
	"/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
	"/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0",
}

func load() {
	names := candidates
	switch v := os.Getenv("SLUICE_BLAS"); v {
	case "":
	case "off", "0", "none", "false":
		return
	default:
		names = []string{v}
	}
	for _, n := range names {
		cs := C.CString(n)
		ok := C.sluice_blas_open(cs) != 0
		C.free(unsafe.Pointer(cs))
		if ok {
			available = true
			libName = n
			libConfig = C.GoString(C.sluice_blas_config())
			return
		}
	}
}

// Available reports whether an OpenBLAS library was loaded.
func Available() bool {
	once.Do(load)
	return available
}

// Library names the loaded library and its build configuration, or "" when
// none is loaded.
func Library() string {
	once.Do(load)
	if !available {
		return ""
	}
	if libConfig != "" {
		return libName + " (" + libConfig + ")"
	}
	return libName
}

func b2i(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// Sgemm computes C = alpha*op(A)*op(B) + beta*C (row-major) with the loaded
// library. a, b and c must hold the elements the dimensions address.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	var pa, pb *float32
	if len(a) > 0 {
		pa = &a[0]
	}
	if len(b) > 0 {
		pb = &b[0]
	}
	C.sluice_sgemm(b2i(transA), b2i(transB), C.int(m), C.int(n), C.int(k), C.float(alpha),
		(*C.float)(unsafe.Pointer(pa)), C.int(lda), (*C.float)(unsafe.Pointer(pb)), C.int(ldb),
		C.float(beta), (*C.float)(unsafe.Pointer(&c[0])), C.int(ldc))
}
