package cpu

import (
	"math"

	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/graph"
)

func init() {
	register("Pad", compilePad)
	register("Resize", compileResize)
	register("Upsample", compileResize)
}

func compilePad(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	mode := n.Str("mode", "constant")
	switch mode {
	case "constant", "reflect", "edge":
	default:
		return nil, unsupported("Pad mode %q", mode)
	}
	attrPads := n.Ints("pads")
	if opset < 2 && attrPads == nil {
		attrPads = n.Ints("paddings")
	}
	attrValue := n.Float("value", 0)
	return func(x *exec, ins []*nn.Tensor) error {
		in := ins[0]
		pads := attrPads
		var cval *nn.Tensor
		if opset >= 11 {
			if len(ins) < 2 || ins[1] == nil {
				return shapeErr("Pad needs pads")
			}
			var err error
			if pads, err = ints(ins[1]); err != nil {
				return err
			}
			if len(ins) > 2 && ins[2] != nil && ins[2].Len() == 1 {
				cval = ins[2]
			}
		}
		r := len(in.Shape)
		if len(pads) != 2*r {
			return shapeErr("Pad pads %v for rank %d", pads, r)
		}
		out := make([]int, r)
		for i, d := range in.Shape {
			out[i] = d + int(pads[i]) + int(pads[i+r])
			if out[i] < 0 {
				return shapeErr("Pad pads %v on %v", pads, in.Shape)
			}
			if mode == "reflect" && (int(pads[i]) >= d || int(pads[i+r]) >= d) && (pads[i] > 0 || pads[i+r] > 0) {
				if d < 2 || int(pads[i]) > d-1 || int(pads[i+r]) > d-1 {
					return shapeErr("reflect Pad %v larger than dimension %d", pads, d)
				}
			}
			if mode == "edge" && d == 0 && out[i] > 0 {
				return shapeErr("edge Pad of an empty dimension")
			}
		}
		t := x.out(0, in.DType, out)
		if t.Len() == 0 {
			return nil
		}
		if mode == "constant" {
			switch {
			case cval != nil:
				if cval.DType != in.DType {
					return shapeErr("Pad constant of %v for %v", cval.DType, in.DType)
				}
				fillWith(t.Data, cval.Data)
			case attrValue != 0:
				v := nn.NewTensor(in.DType, 1)
				storeFloats(v.Data, []float64{float64(attrValue)})
				fillWith(t.Data, v.Data)
			default:
				zeroData(t.Data)
			}
		}
		if mode == "reflect" && r == 4 && in.DType == nn.Float32 && pads[0] == 0 && pads[1] == 0 && pads[4] == 0 && pads[5] == 0 &&
			pads[2] >= 0 && pads[3] >= 0 && pads[6] >= 0 && pads[7] >= 0 && in.Shape[2] > 1 && in.Shape[3] > 1 {
			reflectPadPlanes(x, in.F32(), t.F32(), in.Shape, int(pads[2]), int(pads[3]), int(pads[6]), int(pads[7]))
			return nil
		}
		key := append(append([]int(nil), in.Shape...), out...)
		for _, p := range pads {
			key = append(key, int(p))
		}
		idx := x.indexMapFor(key, t.Len(), func(idx []int32) {
			// Per-dimension source index of each output coordinate (-1: pad).
			src := make([][]int, r)
			for d := 0; d < r; d++ {
				src[d] = make([]int, out[d])
				dim := in.Shape[d]
				for o := range src[d] {
					i := o - int(pads[d])
					if i < 0 || i >= dim {
						switch mode {
						case "constant":
							i = -1
						case "edge":
							i = min(max(i, 0), dim-1)
						case "reflect":
							if dim == 1 {
								i = 0
								break
							}
							period := 2 * (dim - 1)
							i = ((i % period) + period) % period
							if i >= dim {
								i = period - i
							}
						}
					}
					src[d][o] = i
				}
			}
			st := strides(in.Shape)
			pos := make([]int, r)
			for k := range idx {
				if k > 0 {
					incr(pos, out)
				}
				off := 0
				for d := 0; d < r; d++ {
					i := src[d][pos[d]]
					if i < 0 {
						off = -1
						break
					}
					off += i * st[d]
				}
				idx[k] = int32(off)
			}
		})
		takeInto(t.Data, in.Data, idx)
		return nil
	}, nil
}

// reflectPadPlanes is reflect Pad of the last two dimensions of an N×C×H×W tensor (the
// ReflectionPad2d of style networks), row by row: the middle of each row is a copy, its edges
// and the padded rows mirror the source. pads are checked (< H, < W) by the caller.
func reflectPadPlanes(x *exec, src, dst []float32, shape []int, top, left, bottom, right int) {
	H, W := shape[2], shape[3]
	OH, OW := H+top+bottom, W+left+right
	x.parallel(shape[0]*shape[1], func(p int) {
		in, out := src[p*H*W:(p+1)*H*W], dst[p*OH*OW:(p+1)*OH*OW]
		for o := 0; o < OH; o++ {
			i := o - top
			if i < 0 {
				i = -i
			} else if i >= H {
				i = 2*(H-1) - i
			}
			s, d := in[i*W:(i+1)*W], out[o*OW:(o+1)*OW]
			for j := 0; j < left; j++ {
				d[j] = s[left-j]
			}
			copy(d[left:left+W], s)
			for j := 0; j < right; j++ {
				d[left+W+j] = s[W-2-j]
			}
		}
	})
}

// tap is one source element and weight of an interpolated coordinate.
type tap struct {
	i int
	w float32
}

func compileResize(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	mode := n.Str("mode", "nearest")
	switch mode {
	case "nearest", "linear", "bilinear", "cubic":
	default:
		return nil, unsupported("%s mode %q", n.Op, mode)
	}
	if mode == "bilinear" {
		mode = "linear"
	}
	legacy := n.Op == "Upsample" || opset < 11
	ctm := n.Str("coordinate_transformation_mode", "half_pixel")
	nearestMode := n.Str("nearest_mode", "round_prefer_floor")
	if legacy {
		ctm = "asymmetric"
		nearestMode = "legacy"
	}
	cubicA := float64(n.Float("cubic_coeff_a", -0.75))
	exclude := n.Int("exclude_outside", 0) != 0
	extrap := n.Float("extrapolation_value", 0)
	attrScales := n.Floats("scales")
	return func(x *exec, ins []*nn.Tensor) error {
		X, err := f32in(ins[0], "X")
		if err != nil {
			return err
		}
		s := ins[0].Shape
		r := len(s)
		scales := make([]float64, r)
		out := make([]int, r)
		var roi []float32
		var sc []float32
		var sizes []int64
		switch {
		case n.Op == "Upsample" && opset < 9 || (n.Op == "Upsample" && attrScales != nil):
			sc = attrScales
		case legacy:
			if len(ins) < 2 || ins[1] == nil {
				return shapeErr("%s needs scales", n.Op)
			}
			if sc, err = floats(ins[1]); err != nil {
				return err
			}
		default:
			if len(ins) > 1 && ins[1] != nil && ins[1].Len() > 0 {
				if roi, err = floats(ins[1]); err != nil {
					return err
				}
			}
			if len(ins) > 2 && ins[2] != nil && ins[2].Len() > 0 {
				if sc, err = floats(ins[2]); err != nil {
					return err
				}
			}
			if len(ins) > 3 && ins[3] != nil && ins[3].Len() > 0 {
				if sizes, err = ints(ins[3]); err != nil {
					return err
				}
			}
		}
		switch {
		case sizes != nil:
			if len(sizes) != r {
				return shapeErr("Resize sizes %v for rank %d", sizes, r)
			}
			for i := range out {
				if sizes[i] < 0 || sizes[i] > math.MaxInt32 {
					return shapeErr("Resize sizes %v", sizes)
				}
				out[i] = int(sizes[i])
				scales[i] = float64(out[i]) / float64(s[i])
			}
		case sc != nil:
			if len(sc) != r {
				return shapeErr("%s scales %v for rank %d", n.Op, sc, r)
			}
			for i := range out {
				if !(sc[i] > 0) || float64(sc[i])*float64(s[i]) > math.MaxInt32 {
					return shapeErr("%s scales %v", n.Op, sc)
				}
				scales[i] = float64(sc[i])
				out[i] = int(math.Floor(float64(s[i]) * scales[i]))
			}
		default:
			return shapeErr("%s needs scales or sizes", n.Op)
		}
		if ctm == "tf_crop_and_resize" && len(roi) != 2*r {
			return shapeErr("Resize roi %v for rank %d", roi, r)
		}
		taps := make([][][]tap, r)
		outside := make([][]bool, r)
		for d := 0; d < r; d++ {
			taps[d] = make([][]tap, out[d])
			outside[d] = make([]bool, out[d])
			in := s[d]
			for o := 0; o < out[d]; o++ {
				var xo float64
				fo, scale := float64(o), scales[d]
				lr := float64(in) * scale // ONNX uses the unrounded resized length
				switch ctm {
				case "half_pixel":
					xo = (fo+0.5)/scale - 0.5
				case "pytorch_half_pixel":
					if lr > 1 {
						xo = (fo+0.5)/scale - 0.5
					}
				case "align_corners":
					if lr > 1 {
						xo = fo * float64(in-1) / (lr - 1)
					}
				case "asymmetric":
					xo = fo / scale
				case "tf_half_pixel_for_nn":
					xo = (fo + 0.5) / scale
				case "tf_crop_and_resize":
					st, en := float64(roi[d]), float64(roi[d+r])
					if lr > 1 {
						xo = st*float64(in-1) + fo*(en-st)*float64(in-1)/(lr-1)
					} else {
						xo = 0.5 * (st + en) * float64(in-1)
					}
					if xo < 0 || xo > float64(in-1) {
						outside[d][o] = true
						continue
					}
				default:
					return unsupported("coordinate_transformation_mode %q", ctm)
				}
				switch mode {
				case "nearest":
					var i int
					switch nearestMode {
					case "round_prefer_floor":
						if xo == math.Floor(xo)+0.5 {
							i = int(math.Floor(xo))
						} else {
							i = int(math.Round(xo))
						}
					case "round_prefer_ceil":
						i = int(math.Round(xo))
						if xo == math.Floor(xo)+0.5 {
							i = int(math.Ceil(xo))
						}
					case "floor":
						i = int(math.Floor(xo))
					case "ceil":
						i = int(math.Ceil(xo))
					case "legacy":
						if scale < 1 {
							i = int(math.Ceil(xo))
						} else {
							i = int(math.Floor(xo))
						}
					default:
						return unsupported("nearest_mode %q", nearestMode)
					}
					taps[d][o] = []tap{{min(max(i, 0), in-1), 1}}
				case "linear":
					xc := min(max(xo, 0), float64(in-1))
					i0 := int(math.Floor(xc))
					i1 := min(i0+1, in-1)
					w := float32(xc - float64(i0))
					if i1 == i0 || w == 0 {
						taps[d][o] = []tap{{i0, 1}}
					} else {
						taps[d][o] = []tap{{i0, 1 - w}, {i1, w}}
					}
				case "cubic":
					i0 := int(math.Floor(xo))
					t := xo - float64(i0)
					ws := cubicWeights(t, cubicA)
					var tp []tap
					var sum float64
					for j := -1; j <= 2; j++ {
						i := i0 + j
						w := ws[j+1]
						if i < 0 || i >= in {
							if exclude {
								continue
							}
							i = min(max(i, 0), in-1)
						}
						tp = append(tp, tap{i, float32(w)})
						sum += w
					}
					if exclude && sum != 0 {
						for k := range tp {
							tp[k].w = float32(float64(tp[k].w) / sum)
						}
					}
					taps[d][o] = tp
				}
			}
		}
		Y := x.out(0, nn.Float32, out).F32()
		st := strides(s)
		// A pure gather (nearest, or linear at exact positions): one
		// cached index map, then a copy loop per run.
		gather := true
		for d := 0; d < r && gather; d++ {
			for o := range taps[d] {
				if outside[d][o] || len(taps[d][o]) != 1 || taps[d][o][0].w != 1 {
					gather = false
					break
				}
			}
		}
		if gather {
			key := append(append([]int(nil), s...), out...)
			for _, sc := range scales {
				key = append(key, int(math.Float64bits(sc)>>1))
			}
			idx := x.indexMapFor(key, len(Y), func(idx []int32) {
				pos := make([]int, r)
				for k := range idx {
					off := 0
					for d := 0; d < r; d++ {
						off += taps[d][pos[d]][0].i * st[d]
					}
					idx[k] = int32(off)
					incr(pos, out)
				}
			})
			parallelChunks(x, len(Y), func(lo, hi int) {
				for k, j := range idx[lo:hi] {
					Y[lo+k] = X[j]
				}
			})
			return nil
		}
		pos := make([]int, r)
		sel := make([]int, r)
		for k := range Y {
			if k > 0 {
				incr(pos, out)
			}
			skip := false
			for d := 0; d < r; d++ {
				if outside[d][pos[d]] {
					skip = true
					break
				}
			}
			if skip {
				Y[k] = extrap
				continue
			}
			// sum over the product of taps
			var acc float64
			for d := range sel {
				sel[d] = 0
			}
			for {
				w := 1.0
				off := 0
				for d := 0; d < r; d++ {
					tp := taps[d][pos[d]][sel[d]]
					w *= float64(tp.w)
					off += tp.i * st[d]
				}
				acc += w * float64(X[off])
				d := r - 1
				for ; d >= 0; d-- {
					sel[d]++
					if sel[d] < len(taps[d][pos[d]]) {
						break
					}
					sel[d] = 0
				}
				if d < 0 {
					break
				}
			}
			Y[k] = float32(acc)
		}
		return nil
	}, nil
}

// cubicWeights returns the Keys cubic convolution weights for offsets
// -1, 0, 1, 2 at fractional position t.
func cubicWeights(t, a float64) [4]float64 {
	f := func(x float64) float64 {
		x = math.Abs(x)
		switch {
		case x <= 1:
			return ((a+2)*x-(a+3))*x*x + 1
		case x < 2:
			return ((a*x-5*a)*x+8*a)*x - 4*a
		}
		return 0
	}
	return [4]float64{f(t + 1), f(t), f(1 - t), f(2 - t)}
}

// incr advances a row-major position within shape by one element.
func incr(pos, shape []int) {
	for d := len(pos) - 1; d >= 0; d-- {
		pos[d]++
		if pos[d] < shape[d] {
			return
		}
		pos[d] = 0
	}
}
