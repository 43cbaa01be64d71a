package preprocess

import "fmt"

// Crop returns the centered cw×ch window of packed RGB (w×h), placed as torchvision's CenterCrop
// places it (offsets rounded half to even, as Python's round does). A window larger than the
// image is an error.
func Crop(src []uint8, w, h, cw, ch int) ([]uint8, error) {
	if cw > w || ch > h {
		return nil, fmt.Errorf("preprocess: crop %dx%d larger than the %dx%d image", cw, ch, w, h)
	}
	top, left := roundHalfEven(float64(h-ch)/2), roundHalfEven(float64(w-cw)/2)
	out := make([]uint8, 3*cw*ch)
	for y := 0; y < ch; y++ {
		copy(out[3*y*cw:3*(y+1)*cw], src[3*((top+y)*w+left):])
	}
	return out, nil
}

func roundHalfEven(x float64) int {
	i := int(x)
	if f := x - float64(i); f > 0.5 || f == 0.5 && i%2 == 1 {
		i++
	}
	return i
}

// Image applies the resize and crop of s to packed RGB (w×h) and returns the RGB result with
// its size.
func (s Spec) Image(src []uint8, w, h int) ([]uint8, int, int, error) {
	if len(src) != 3*w*h || w <= 0 || h <= 0 {
		return nil, 0, 0, fmt.Errorf("preprocess: %d bytes for a %dx%d image", len(src), w, h)
	}
	rw, rh := s.resized(w, h)
	if rw <= 0 || rh <= 0 {
		return nil, 0, 0, fmt.Errorf("preprocess: %dx%d resizes to nothing", w, h)
	}
	if s.CropW > 0 && s.CropH > 0 {
		cw, ch := s.CropW, s.CropH
		if cw > rw || ch > rh {
			return nil, 0, 0, fmt.Errorf("preprocess: crop %dx%d larger than the %dx%d image", cw, ch, rw, rh)
		}
		// Only the crop window is resampled: the same bytes as Resize then Crop.
		top, left := roundHalfEven(float64(rh-ch)/2), roundHalfEven(float64(rw-cw)/2)
		return ResizeWindow(src, w, h, rw, rh, left, top, cw, ch), cw, ch, nil
	}
	img := src
	if rw != w || rh != h {
		img = Resize(src, w, h, rw, rh)
	}
	return img, rw, rh, nil
}

// Tensor writes the normalized values of packed RGB (w×h, already resized and cropped) into dst
// (3*w*h floats) in the layout and channel order of s.
func (s Spec) Tensor(img []uint8, w, h int, dst []float32) error {
	n := w * h
	if len(img) != 3*n || len(dst) != 3*n {
		return fmt.Errorf("preprocess: %d bytes and %d floats for %dx%d", len(img), len(dst), w, h)
	}
	var mul, add [3]float32
	for c := 0; c < 3; c++ {
		// (v*scale - mean) / std = v*(scale/std) - mean/std
		mul[c] = s.Scale / s.Std[c]
		add[c] = -s.Mean[c] / s.Std[c]
	}
	for c := 0; c < 3; c++ {
		src := c
		if s.BGR {
			src = 2 - c
		}
		m, a := mul[src], add[src]
		if s.HWC {
			for i := 0; i < n; i++ {
				dst[3*i+c] = float32(img[3*i+src])*m + a
			}
			continue
		}
		plane := dst[c*n : (c+1)*n]
		for i := range plane {
			plane[i] = float32(img[3*i+src])*m + a
		}
	}
	return nil
}

// Apply is Image then Tensor; dst must hold 3 × the output size's pixels.
func (s Spec) Apply(src []uint8, w, h int, dst []float32) error {
	img, ow, oh, err := s.Image(src, w, h)
	if err != nil {
		return err
	}
	return s.Tensor(img, ow, oh, dst)
}
