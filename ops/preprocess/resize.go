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
	if ow == w && oh == h {
		return append([]uint8(nil), src...)
	}
	cur, cw := src, w
	if ow != w {
		hc := precompute(w, ow)
		out := make([]uint8, 3*ow*h)
		for y := 0; y < h; y++ {
			row := cur[3*y*cw:]
			dst := out[3*y*ow:]
			for xx := 0; xx < ow; xx++ {
				xmin, n := hc.bounds[2*xx], hc.bounds[2*xx+1]
				k := hc.k[xx*hc.ksize:]
				s0, s1, s2 := int32(1<<(precisionBits-1)), int32(1<<(precisionBits-1)), int32(1<<(precisionBits-1))
				p := row[3*xmin:]
				for x := 0; x < n; x++ {
					s0 += int32(p[3*x]) * k[x]
					s1 += int32(p[3*x+1]) * k[x]
					s2 += int32(p[3*x+2]) * k[x]
				}
				dst[3*xx], dst[3*xx+1], dst[3*xx+2] = clip8(s0), clip8(s1), clip8(s2)
			}
		}
		cur, cw = out, ow
	}
	if oh != h {
		vc := precompute(h, oh)
		out := make([]uint8, 3*cw*oh)
		for yy := 0; yy < oh; yy++ {
			ymin, n := vc.bounds[2*yy], vc.bounds[2*yy+1]
			k := vc.k[yy*vc.ksize:]
			dst := out[3*yy*cw:]
			for x := 0; x < 3*cw; x++ {
				s := int32(1 << (precisionBits - 1))
				for y := 0; y < n; y++ {
					s += int32(cur[3*(ymin+y)*cw+x]) * k[y]
				}
				dst[x] = clip8(s)
			}
		}
		cur = out
	}
	return cur
}
