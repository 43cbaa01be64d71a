package kernels

import (
	"fmt"
	"math"
)

// ConvParams describes a 2-D convolution over NCHW data, as ONNX Conv does
// (auto_pad resolved by the caller into explicit pads and OH/OW).
//
// Input x is [N, C, H, W]; weights w are [M, C/Group, KH, KW]; bias is [M]
// or nil; output y is [N, M, OH, OW]. OH must equal
// (H + PadTop + PadBottom - DilH*(KH-1) - 1)/StrideH + 1, OW likewise. The
// activation Act (with Alpha, Beta) is applied after the bias.
type ConvParams struct {
	N, C, H, W                           int
	M, KH, KW                            int
	OH, OW                               int
	StrideH, StrideW                     int
	PadTop, PadLeft, PadBottom, PadRight int
	DilH, DilW                           int
	Group                                int
	Act                                  Activation
	Alpha, Beta                          float32 // LeakyRelu slope, Clip min/max, HardSigmoid alpha/beta
}

// normalized returns p with zero strides, dilations and group read as 1.
func (p ConvParams) normalized() ConvParams {
	one := func(v *int) {
		if *v == 0 {
			*v = 1
		}
	}
	one(&p.StrideH)
	one(&p.StrideW)
	one(&p.DilH)
	one(&p.DilW)
	one(&p.Group)
	return p
}

// Validate reports, wrapping ErrShape, whether p is inconsistent: a
// non-positive size, channels not divisible by the group, or OH/OW not what
// the other fields imply. Zero strides, dilations and group count as 1.
func (p ConvParams) Validate() error {
	p = p.normalized()
	if p.N < 0 || p.C <= 0 || p.H <= 0 || p.W <= 0 || p.M <= 0 || p.KH <= 0 || p.KW <= 0 ||
		p.StrideH < 0 || p.StrideW < 0 || p.DilH < 0 || p.DilW < 0 || p.Group < 0 ||
		p.PadTop < 0 || p.PadLeft < 0 || p.PadBottom < 0 || p.PadRight < 0 {
		return fmt.Errorf("%w: conv %+v has a non-positive size or negative pad", ErrShape, p)
	}
	if p.C%p.Group != 0 || p.M%p.Group != 0 {
		return fmt.Errorf("%w: conv channels C=%d, M=%d not divisible by group %d", ErrShape, p.C, p.M, p.Group)
	}
	oh := (p.H+p.PadTop+p.PadBottom-p.DilH*(p.KH-1)-1)/p.StrideH + 1
	ow := (p.W+p.PadLeft+p.PadRight-p.DilW*(p.KW-1)-1)/p.StrideW + 1
	if oh <= 0 || ow <= 0 || oh != p.OH || ow != p.OW {
		return fmt.Errorf("%w: conv output %dx%d, the parameters give %dx%d", ErrShape, p.OH, p.OW, oh, ow)
	}
	if !p.Act.valid() {
		return fmt.Errorf("%w: conv activation %d unknown", ErrShape, p.Act)
	}
	if int64(p.N)*int64(p.M)*int64(p.OH)*int64(p.OW) > math.MaxInt32*8 {
		return fmt.Errorf("%w: conv output too large", ErrShape)
	}
	return nil
}

// FLOPs is the number of floating-point operations (2 per multiply-add) of
// the convolution, not counting bias and activation.
func (p ConvParams) FLOPs() float64 {
	p = p.normalized()
	return 2 * float64(p.N) * float64(p.M) * float64(p.OH*p.OW) * float64(p.C/p.Group*p.KH*p.KW)
}

func (p ConvParams) checkBuffers(x, w, bias, y []float32) error {
	if len(x) < p.N*p.C*p.H*p.W {
		return fmt.Errorf("%w: conv input has %d elements, want %d", ErrShape, len(x), p.N*p.C*p.H*p.W)
	}
	if w != nil && len(w) < p.M*(p.C/p.Group)*p.KH*p.KW {
		return fmt.Errorf("%w: conv weights have %d elements, want %d", ErrShape, len(w), p.M*(p.C/p.Group)*p.KH*p.KW)
	}
	if bias != nil && len(bias) < p.M {
		return fmt.Errorf("%w: conv bias has %d elements, want %d", ErrShape, len(bias), p.M)
	}
	if len(y) < p.N*p.M*p.OH*p.OW {
		return fmt.Errorf("%w: conv output has %d elements, want %d", ErrShape, len(y), p.N*p.M*p.OH*p.OW)
	}
	return nil
}

// Conv2D computes y = act(conv(x, w) + bias) for NCHW data (see
// ConvParams). It picks the algorithm from the shape: a direct kernel for
// depthwise convolutions, a plain GEMM over the input for 1×1 stride-1
// unpadded ones, im2col + GEMM otherwise. It packs w on every call; a
// caller that runs the same weights many times should use PackConvWeights
// once and PackedConv.Run. It panics with an error wrapping ErrShape when p
// is invalid or a slice is too short (Validate tells beforehand).
func Conv2D(p ConvParams, x, w, bias, y []float32) {
	pc, err := PackConvWeights(p, w, bias)
	if err != nil {
		panic(err)
	}
	pc.Run(p.N, x, y)
}

// CheckConv2D returns the error Conv2D would panic with, or nil.
func CheckConv2D(p ConvParams, x, w, bias, y []float32) error {
	if err := p.Validate(); err != nil {
		return err
	}
	return p.normalized().checkBuffers(x, w, bias, y)
}
