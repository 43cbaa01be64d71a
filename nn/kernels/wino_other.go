//go:build !amd64

package kernels

func winoIn(src []float32, ld, chunks int, dst []float32, xs int) {
	winoIn8Go(src, ld, chunks, dst, xs)
}

func winoOut(src []float32, ls, chunks int, dst []float32, ldd int, bias float32) {
	winoOut8Go(src, ls, chunks, dst, ldd, bias)
}
