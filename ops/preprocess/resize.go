package preprocess

import "math"

// precisionBits is PIL's fixed-point precision for 8-bit resampling (32 - 8 - 2).
const precisionBits = 22

// coeffs are the per-output-pixel filter taps of one axis, as PIL's precompute_coeffs builds them.
type coeffs struct {
	ksize  int
	bounds []int   // xmin, count per output pixel
	k      []int32 // ksize taps per output pixel, fixed point
}

func bilinear(x float64) float64 {
	if x < 0 {
		x = -x
	}
	if x < 1 {
		return 1 - x
	}
	return 0
}

func precompute(inSize, outSize int) coeffs {
	scale := float64(inSize) / float64(outSize)
	filterscale := math.Max(scale, 1)
	support := 1.0 * filterscale
	ksize := int(math.Ceil(support))*2 + 1
	c := coeffs{ksize: ksize, bounds: make([]int, 2*outSize), k: make([]int32, ksize*outSize)}
	w := make([]float64, ksize)
	for xx := 0; xx < outSize; xx++ {
		center := (float64(xx) + 0.5) * scale
		ss := 1 / filterscale
		xmin := int(center - support + 0.5)
		if xmin < 0 {
			xmin = 0
		}
		xmax := int(center + support + 0.5)
		if xmax > inSize {
			xmax = inSize
		}
		xmax -= xmin
		ww := 0.0
		for x := 0; x < xmax; x++ {
			w[x] = bilinear((float64(x+xmin) - center + 0.5) * ss)
			ww += w[x]
		}
		for x := 0; x < xmax; x++ {
			v := w[x]
			if ww != 0 {
				v /= ww
			}
			if v < 0 {
				c.k[xx*ksize+x] = int32(-0.5 + v*(1<<precisionBits))
			} else {
				c.k[xx*ksize+x] = int32(0.5 + v*(1<<precisionBits))
			}
		}
		c.bounds[2*xx], c.bounds[2*xx+1] = xmin, xmax
	}
	return c
}

func clip8(v int32) uint8 {
	v >>= precisionBits
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// Resize resamples packed RGB (w×h) to ow×oh as PIL's Image.resize(..., BILINEAR) does.
func Resize(src []uint8, w, h, ow, oh int) []uint8 {
	return ResizeWindow(src, w, h, ow, oh, 0, 0, ow, oh)
}

// ResizeWindow returns the cw×ch window at (x0, y0) of Resize(src, w, h, ow, oh), computing only
// that window: the same bytes as resizing the whole image and cropping, for less work (a
// centre crop of 224 from 256 skips a third of it).
func ResizeWindow(src []uint8, w, h, ow, oh, x0, y0, cw, ch int) []uint8 {
	if ow == w && oh == h {
		out := make([]uint8, 3*cw*ch)
		for y := 0; y < ch; y++ {
			copy(out[3*y*cw:3*(y+1)*cw], src[3*((y0+y)*w+x0):])
		}
		return out
	}
	// Input rows the window's output rows read.
	var vc coeffs
	r0, r1 := y0, y0+ch
	if oh != h {
		vc = precompute(h, oh)
		r0, r1 = h, 0
		for yy := y0; yy < y0+ch; yy++ {
			ymin, n := vc.bounds[2*yy], vc.bounds[2*yy+1]
			r0, r1 = min(r0, ymin), max(r1, ymin+n)
		}
	}
	// Horizontal pass over those rows, window columns only: rows r0..r1-1 of a cw-wide image.
	cur := src
	stride := w
	if ow != w {
		hc := precompute(w, ow)
		// One byte of slack: hpass's assembly stores 4 bytes per pixel.
		out := make([]uint8, 3*cw*(r1-r0)+1)
		bounds, k := hc.bounds[2*x0:2*(x0+cw)], hc.k[x0*hc.ksize:]
		for y := r0; y < r1; y++ {
			hpass(out[3*(y-r0)*cw:], src[3*y*w:3*(y+1)*w], bounds, k, hc.ksize, cw)
		}
		cur, stride = out[:3*cw*(r1-r0)], cw
	} else if r0 != 0 || x0 != 0 || cw != w {
		out := make([]uint8, 3*cw*(r1-r0))
		for y := r0; y < r1; y++ {
			copy(out[3*(y-r0)*cw:3*(y-r0+1)*cw], src[3*(y*w+x0):])
		}
		cur, stride = out, cw
	} else {
		r0 = 0
	}
	if oh == h {
		if r0 == y0 && stride == cw && len(cur) == 3*cw*ch {
			return cur
		}
		out := make([]uint8, 3*cw*ch)
		for y := 0; y < ch; y++ {
			copy(out[3*y*cw:3*(y+1)*cw], cur[3*(y0+y-r0)*stride:])
		}
		return out
	}
	// Vertical pass, output row by output row over the n input rows it reads (vpass: AVX2 on
	// amd64; integer arithmetic, so the bytes are the same in any order).
	out := make([]uint8, 3*cw*ch)
	offs := make([]int, vc.ksize)
	for yy := 0; yy < ch; yy++ {
		ymin, n := vc.bounds[2*(y0+yy)], vc.bounds[2*(y0+yy)+1]
		k := vc.k[(y0+yy)*vc.ksize : (y0+yy)*vc.ksize+n]
		for y := range n {
			offs[y] = 3 * (ymin + y - r0) * stride
		}
		vpass(out[3*yy*cw:3*(yy+1)*cw], cur, offs[:n], k)
	}
	return out
}

// hpassGo is the horizontal pass of one RGB row for cw output pixels:
// pixel x sums taps t < n (bounds[2x] = xmin, bounds[2x+1] = n) of input
// pixel xmin+t weighted by k[x*ksize+t], per channel, from half, clipped.
func hpassGo(dst, row []uint8, bounds []int, k []int32, ksize, cw int) {
	const half = int32(1 << (precisionBits - 1))
	for xx := range cw {
		xmin, n := bounds[2*xx], bounds[2*xx+1]
		kk := k[xx*ksize : xx*ksize+n]
		p := row[3*xmin : 3*(xmin+n)]
		s0, s1, s2 := half, half, half
		for x, kv := range kk {
			q := p[3*x : 3*x+3 : 3*x+3]
			s0 += int32(q[0]) * kv
			s1 += int32(q[1]) * kv
			s2 += int32(q[2]) * kv
		}
		d := dst[3*xx : 3*xx+3 : 3*xx+3]
		d[0], d[1], d[2] = clip8(s0), clip8(s1), clip8(s2)
	}
}

// vpassGo is vpass in Go.
func vpassGo(dst, src []uint8, offs []int, k []int32) { vpassGoFrom(dst, src, offs, k, 0) }

// vpassGoFrom computes dst[i] for i >= from.
func vpassGoFrom(dst, src []uint8, offs []int, k []int32, from int) {
	for i := from; i < len(dst); i++ {
		acc := int32(1 << (precisionBits - 1))
		for t, o := range offs {
			acc += int32(src[o+i]) * k[t]
		}
		dst[i] = clip8(acc)
	}
}
