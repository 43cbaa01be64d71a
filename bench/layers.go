package bench

import (
	"fmt"

	"github.com/sluice-ml/sluice/nn/kernels"
)

// Layer is one convolution of a model, with the name torchvision gives it.
type Layer struct {
	Name string
	P    kernels.ConvParams
}

func conv(name string, n, c, h, m, k, s, pad, g int, act kernels.Activation) Layer {
	oh := (h+2*pad-k)/s + 1
	p := kernels.ConvParams{N: n, C: c, H: h, W: h, M: m, KH: k, KW: k, OH: oh, OW: oh,
		StrideH: s, StrideW: s, PadTop: pad, PadLeft: pad, PadBottom: pad, PadRight: pad,
		DilH: 1, DilW: 1, Group: g, Act: act}
	if act == kernels.ActClip {
		p.Alpha, p.Beta = 0, 6
	}
	return Layer{Name: name, P: p}
}

// Models lists the models whose layers ModelLayers knows.
var Models = []string{"resnet18", "mobilenet_v2", "squeezenet1_1"}

// ModelLayers returns every convolution of a torchvision model at 224×224
// and batch n, in execution order, with BatchNorm folded and ReLU/ReLU6
// fused as the ONNX import does (the residual adds' ReLU is not fused).
func ModelLayers(model string, n int) ([]Layer, error) {
	var ls []Layer
	relu, relu6, none := kernels.ActRelu, kernels.ActClip, kernels.ActNone
	switch model {
	case "resnet18":
		ls = append(ls, conv("conv1", n, 3, 224, 64, 7, 2, 3, 1, relu))
		h, c := 56, 64
		for i, m := range []int{64, 128, 256, 512} {
			for b := range 2 {
				s := 1
				if i > 0 && b == 0 {
					s = 2
				}
				pre := fmt.Sprintf("layer%d.%d", i+1, b)
				ls = append(ls, conv(pre+".conv1", n, c, h, m, 3, s, 1, 1, relu))
				oh := (h+2-3)/s + 1
				ls = append(ls, conv(pre+".conv2", n, m, oh, m, 3, 1, 1, 1, none))
				if s == 2 {
					ls = append(ls, conv(pre+".downsample", n, c, h, m, 1, 2, 0, 1, none))
				}
				c, h = m, oh
			}
		}
	case "mobilenet_v2":
		ls = append(ls, conv("features.0", n, 3, 224, 32, 3, 2, 1, 1, relu6))
		c, h, idx := 32, 112, 1
		for _, st := range [][4]int{{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}} {
			t, out, reps, s0 := st[0], st[1], st[2], st[3]
			for r := range reps {
				s := 1
				if r == 0 {
					s = s0
				}
				hid := c * t
				pre := fmt.Sprintf("features.%d", idx)
				if t != 1 {
					ls = append(ls, conv(pre+".expand", n, c, h, hid, 1, 1, 0, 1, relu6))
				}
				ls = append(ls, conv(pre+".dw", n, hid, h, hid, 3, s, 1, hid, relu6))
				h = (h+2-3)/s + 1
				ls = append(ls, conv(pre+".project", n, hid, h, out, 1, 1, 0, 1, none))
				c = out
				idx++
			}
		}
		ls = append(ls, conv("features.18", n, 320, 7, 1280, 1, 1, 0, 1, relu6))
	case "squeezenet1_1":
		ls = append(ls, conv("features.0", n, 3, 224, 64, 3, 2, 0, 1, relu))
		fires := []struct{ h, in, s, e int }{
			{55, 64, 16, 64}, {55, 128, 16, 64}, {27, 128, 32, 128}, {27, 256, 32, 128},
			{13, 256, 48, 192}, {13, 384, 48, 192}, {13, 384, 64, 256}, {13, 512, 64, 256},
		}
		for i, f := range fires {
			pre := fmt.Sprintf("fire%d", i+1)
			ls = append(ls,
				conv(pre+".squeeze", n, f.in, f.h, f.s, 1, 1, 0, 1, relu),
				conv(pre+".expand1x1", n, f.s, f.h, f.e, 1, 1, 0, 1, relu),
				conv(pre+".expand3x3", n, f.s, f.h, f.e, 3, 1, 1, 1, relu))
		}
		ls = append(ls, conv("classifier.1", n, 512, 13, 1000, 1, 1, 0, 1, relu))
	default:
		return nil, fmt.Errorf("bench: unknown model %q (known: %v)", model, Models)
	}
	return ls, nil
}
