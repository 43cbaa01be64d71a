//go:build !amd64

package kernels

func winoIn(src []float32, ld, chunks int, dst []float32, xs int) {
	winoIn8Go(src, ld, chunks, dst, xs)
}

func winoOut(src []float32, ls, chunks int, dst []float32, ldd int, bias, lo, hi float32) {
	winoOut8Go(src, ls, chunks, dst, ldd, bias, lo, hi)
}

func wino43In(src []float32, ld, chunks int, dst []float32, xs int, tmp []float32) {
	winoIn43Go(src, ld, chunks, dst, xs)
}

func wino43Out(src []float32, ls, chunks int, dst []float32, ldd int, bias, lo, hi float32, tmp []float32) {
	winoOut43Go(src, ls, chunks, dst, ldd, bias, lo, hi)
}

func splitPhases4(dst []float32, ld int, src []float32) { splitPhases4Go(dst, ld, src) }
