package preprocess

import "golang.org/x/sys/cpu"

var hasAVX2 = cpu.X86.HasAVX2

//go:noescape
func vpass8(dst, src *uint8, offs *int, k *int32, n, blocks int)

// vpass computes one output row of the vertical pass: dst[i] =
// clip8(half + Σ_t src[offs[t]+i]·k[t]) for i < len(dst), the first
// multiple of 8 with AVX2 (integer arithmetic: the same bytes as the Go
// loop). Every src[offs[t] : offs[t]+len(dst)] must be in range.
func vpass(dst, src []uint8, offs []int, k []int32) {
	blocks := len(dst) / 8
	if !hasAVX2 || blocks == 0 || len(offs) == 0 {
		vpassGo(dst, src, offs, k)
		return
	}
	for _, o := range offs {
		_ = src[o+len(dst)-1]
	}
	_ = k[len(offs)-1]
	vpass8(&dst[0], &src[0], &offs[0], &k[0], len(offs), blocks)
	vpassGoFrom(dst, src, offs, k, 8*blocks)
}

//go:noescape
func hpass3(dst, row *uint8, bounds *int, k *int32, ksize, cw int)

// hpass computes one row of the horizontal pass for the window's output
// pixels (hpassGo has the arithmetic). dst needs one byte of slack past its
// 3·cw bytes; pixels whose last tap ends row are done in Go, as the
// assembly reads one byte past each tap.
func hpass(dst, row []uint8, bounds []int, k []int32, ksize, cw int) {
	if !hasAVX2 || cw == 0 {
		hpassGo(dst, row, bounds, k, ksize, cw)
		return
	}
	fast := cw
	for fast > 0 && 3*(bounds[2*fast-2]+bounds[2*fast-1]) >= len(row) {
		fast--
	}
	if fast > 0 {
		_ = dst[3*fast]
		_ = bounds[2*fast-1]
		_ = k[(fast-1)*ksize+bounds[2*fast-1]-1]
		hpass3(&dst[0], &row[0], &bounds[0], &k[0], ksize, fast)
	}
	hpassGo(dst[3*fast:], row, bounds[2*fast:], k[fast*ksize:], ksize, cw-fast)
}
