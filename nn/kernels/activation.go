package kernels

import "math"

// Activation is an element-wise function fused into a kernel's epilogue.
type Activation int

// Activations. Alpha and Beta are the parameters of ConvParams (or of the
// call) that go with them.
const (
	ActNone        Activation = iota
	ActRelu                   // max(x, 0)
	ActClip                   // min(max(x, Alpha), Beta); ONNX Clip, Relu6 with 0, 6
	ActLeakyRelu              // x if x >= 0 else Alpha*x
	ActSigmoid                // 1 / (1 + exp(-x))
	ActTanh                   // tanh(x)
	ActHardSigmoid            // max(0, min(1, Alpha*x + Beta)); ONNX defaults 0.2, 0.5
	ActHardSwish              // x * max(0, min(1, x/6 + 1/2))
)

var actNames = [...]string{"None", "Relu", "Clip", "LeakyRelu", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish"}

func (a Activation) String() string {
	if a >= 0 && int(a) < len(actNames) {
		return actNames[a]
	}
	return "Activation(?)"
}

func (a Activation) valid() bool { return a >= 0 && int(a) < len(actNames) }

// BiasAct applies y[i] = act(y[i] + bias) to every element of y. It is the
// epilogue used by the kernels and is exported for operators that need the
// same function on their own output.
func BiasAct(y []float32, bias float32, act Activation, alpha, beta float32) {
	switch act {
	case ActNone:
		if bias != 0 {
			for i := range y {
				y[i] += bias
			}
		}
	case ActRelu:
		biasClamp(y, bias, 0, float32(math.Inf(1)))
	case ActClip:
		biasClamp(y, bias, alpha, beta)
	case ActLeakyRelu:
		for i, v := range y {
			v += bias
			if v < 0 {
				v *= alpha
			}
			y[i] = v
		}
	case ActSigmoid:
		for i, v := range y {
			y[i] = float32(1 / (1 + math.Exp(-float64(v+bias))))
		}
	case ActTanh:
		for i, v := range y {
			y[i] = float32(math.Tanh(float64(v + bias)))
		}
	case ActHardSigmoid:
		for i, v := range y {
			y[i] = min(1, max(0, alpha*(v+bias)+beta))
		}
	case ActHardSwish:
		for i, v := range y {
			v += bias
			y[i] = v * min(1, max(0, v/6+0.5))
		}
	default:
		panic("kernels: unknown activation " + act.String())
	}
}

// biasClampGo is the portable biasClamp. NaN stays NaN (as ONNX Relu and
// Clip do); the AVX2 path may turn NaN into lo, which only matters for
// inputs that are already invalid.
func biasClampGo(y []float32, bias, lo, hi float32) {
	for i, v := range y {
		v += bias
		if v < lo {
			v = lo
		}
		if v > hi {
			v = hi
		}
		y[i] = v
	}
}
