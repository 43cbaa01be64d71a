package preprocess

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ErrSpec is returned (wrapped) for a malformed preprocessing spec.
var ErrSpec = errors.New("bad preprocessing spec")

// Spec describes how an image becomes a tensor.
type Spec struct {
	// Resize: with ResizeShort > 0 the shorter side becomes ResizeShort (the longer one scaled,
	// truncated, as torchvision does); else with Width/Height > 0 the image is resized to exactly
	// that; else it is not resized.
	ResizeShort   int
	Width, Height int
	// Crop: a centered CropW×CropH window (0: no crop).
	CropW, CropH int
	Scale        float32    // multiplies the 0–255 value first (1/255 for torchvision)
	Mean, Std    [3]float32 // then (v - mean) / std per channel
	BGR          bool       // channel order BGR instead of RGB
	HWC          bool       // layout HWC instead of CHW
}

// Presets by name.
var Presets = map[string]Spec{
	"torchvision": {ResizeShort: 256, CropW: 224, CropH: 224, Scale: 1.0 / 255,
		Mean: [3]float32{0.485, 0.456, 0.406}, Std: [3]float32{0.229, 0.224, 0.225}},
	"inception":    {Width: 299, Height: 299, Scale: 1.0 / 255, Std: [3]float32{1, 1, 1}},
	"inception-tf": {Width: 299, Height: 299, Scale: 2.0 / 255, Mean: [3]float32{1, 1, 1}, Std: [3]float32{1, 1, 1}},
}

// OutSize is the (width, height) of the tensor an image of w×h becomes.
func (s Spec) OutSize(w, h int) (int, int) {
	rw, rh := s.resized(w, h)
	if s.CropW > 0 && s.CropH > 0 {
		return s.CropW, s.CropH
	}
	return rw, rh
}

// Fixed reports whether every image gives the same tensor size (so images can be batched).
func (s Spec) Fixed() bool {
	return s.CropW > 0 && s.CropH > 0 || s.ResizeShort == 0 && s.Width > 0 && s.Height > 0
}

func (s Spec) resized(w, h int) (int, int) {
	switch {
	case s.ResizeShort > 0:
		if w <= h {
			return s.ResizeShort, int(float64(s.ResizeShort) * float64(h) / float64(w))
		}
		return int(float64(s.ResizeShort) * float64(w) / float64(h)), s.ResizeShort
	case s.Width > 0 && s.Height > 0:
		return s.Width, s.Height
	}
	return w, h
}

// Parse reads a preset name or a free spec "key=value,...". Keys: resize (shorter side),
// size (WxH or N), crop (WxH or N), scale (a number, or 1/255), mean and std (three numbers
// separated by ':'), layout (chw|hwc), order (rgb|bgr). A free spec starts from scale 1/255,
// mean 0 and std 1.
func Parse(s string) (Spec, error) {
	if p, ok := Presets[s]; ok {
		return p, nil
	}
	sp := Spec{Scale: 1.0 / 255, Std: [3]float32{1, 1, 1}}
	if strings.TrimSpace(s) == "" {
		return Spec{}, fmt.Errorf("%w: empty (presets: torchvision, inception, inception-tf)", ErrSpec)
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return Spec{}, fmt.Errorf("%w: %q is not key=value (presets: torchvision, inception, inception-tf)", ErrSpec, kv)
		}
		var err error
		switch k {
		case "resize":
			sp.ResizeShort, err = positive(v)
		case "size":
			sp.Width, sp.Height, err = dims(v)
		case "crop":
			sp.CropW, sp.CropH, err = dims(v)
		case "scale":
			var f float64
			if a, b, ok := strings.Cut(v, "/"); ok {
				var x, y float64
				x, err = strconv.ParseFloat(a, 64)
				if err == nil {
					y, err = strconv.ParseFloat(b, 64)
				}
				if err == nil && y == 0 {
					err = errors.New("division by zero")
				}
				f = x / y
			} else {
				f, err = strconv.ParseFloat(v, 64)
			}
			sp.Scale = float32(f)
		case "mean":
			sp.Mean, err = triple(v)
		case "std":
			sp.Std, err = triple(v)
			for _, x := range sp.Std {
				if err == nil && x == 0 {
					err = errors.New("std of 0")
				}
			}
		case "layout":
			switch v {
			case "chw", "CHW", "nchw", "NCHW":
				sp.HWC = false
			case "hwc", "HWC", "nhwc", "NHWC":
				sp.HWC = true
			default:
				err = errors.New("want chw or hwc")
			}
		case "order":
			switch strings.ToLower(v) {
			case "rgb":
				sp.BGR = false
			case "bgr":
				sp.BGR = true
			default:
				err = errors.New("want rgb or bgr")
			}
		default:
			return Spec{}, fmt.Errorf("%w: unknown key %q (resize, size, crop, scale, mean, std, layout, order)", ErrSpec, k)
		}
		if err != nil {
			return Spec{}, fmt.Errorf("%w: %s=%s: %v", ErrSpec, k, v, err)
		}
	}
	if sp.ResizeShort > 0 && sp.Width > 0 {
		return Spec{}, fmt.Errorf("%w: resize and size together", ErrSpec)
	}
	if math.IsNaN(float64(sp.Scale)) || math.IsInf(float64(sp.Scale), 0) {
		return Spec{}, fmt.Errorf("%w: scale %v", ErrSpec, sp.Scale)
	}
	return sp, nil
}

func positive(v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 || n > 1<<15 {
		return 0, fmt.Errorf("want a positive size")
	}
	return n, nil
}

func dims(v string) (int, int, error) {
	a, b, ok := strings.Cut(strings.ToLower(v), "x")
	if !ok {
		n, err := positive(v)
		return n, n, err
	}
	w, err := positive(a)
	if err != nil {
		return 0, 0, err
	}
	h, err := positive(b)
	return w, h, err
}

func triple(v string) ([3]float32, error) {
	var t [3]float32
	parts := strings.Split(v, ":")
	if len(parts) != 3 {
		return t, fmt.Errorf("want three numbers separated by ':'")
	}
	for i, p := range parts {
		f, err := strconv.ParseFloat(p, 32)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return t, fmt.Errorf("%q is not a number", p)
		}
		t[i] = float32(f)
	}
	return t, nil
}
