//go:build !amd64

package preprocess

func vpass(dst, src []uint8, offs []int, k []int32) { vpassGo(dst, src, offs, k) }

func hpass(dst, row []uint8, bounds []int, k []int32, ksize, cw int) {
	hpassGo(dst, row, bounds, k, ksize, cw)
}
