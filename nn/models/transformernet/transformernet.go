package transformernet

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/graph"
	"github.com/sluice-ml/sluice/nn/pth"
)

// ErrStateDict: the checkpoint is not a TransformerNet state dict (a key missing, unexpected or
// of the wrong shape). The message names the key.
var ErrStateDict = errors.New("not a TransformerNet state dict")

// Names of the graph's input and output.
const (
	Input  = "input"
	Output = "output"
)

// Opset is the ONNX opset of the built graph's operators (Pad and Resize take their pads and
// scales as inputs).
const Opset = 13

// Load reads a .pth checkpoint and builds its graph. It returns the stale keys it dropped.
func Load(path string) (*graph.Graph, []string, error) {
	sd, err := pth.LoadFile(path)
	if err != nil {
		return nil, nil, err
	}
	dropped := sd.DropStaleInstanceNormStats()
	g, err := FromStateDict(sd)
	if err != nil {
		return nil, dropped, fmt.Errorf("%s: %w", path, err)
	}
	return g, dropped, nil
}

// layer is one layer of the architecture, in order.
type layer struct {
	conv     string // state-dict prefix of the ConvLayer ("conv1", "res1.conv1", ...)
	stride   int
	upsample bool   // nearest ×2 before the padding
	norm     string // prefix of the InstanceNorm after it, "" for none
	relu     bool
}

// builder accumulates the graph.
type builder struct {
	sd   *pth.StateDict
	g    *graph.Graph
	used map[string]bool
	n    int
}

// FromStateDict builds the TransformerNet graph from sd's tensors (which it copies). sd must not
// hold the stale InstanceNorm statistics (see pth.StateDict.DropStaleInstanceNormStats).
func FromStateDict(sd *pth.StateDict) (*graph.Graph, error) {
	b := &builder{sd: sd, used: map[string]bool{}, g: &graph.Graph{
		Name:         "TransformerNet",
		Opset:        Opset,
		Inputs:       []graph.ValueInfo{{Name: Input, DType: nn.Float32, Shape: []int{-1, 3, -1, -1}, DimParams: []string{"N", "", "H", "W"}}},
		Outputs:      []graph.ValueInfo{{Name: Output, DType: nn.Float32, Shape: []int{-1, 3, -1, -1}, DimParams: []string{"N", "", "", ""}}},
		Initializers: map[string]*nn.Tensor{},
		Overridable:  map[string]bool{},
	}}
	x, ch := Input, 3
	var err error
	// Encoder.
	for _, l := range []layer{
		{conv: "conv1", stride: 1, norm: "in1", relu: true},
		{conv: "conv2", stride: 2, norm: "in2", relu: true},
		{conv: "conv3", stride: 2, norm: "in3", relu: true},
	} {
		if x, ch, err = b.layer(l, x, ch); err != nil {
			return nil, err
		}
	}
	// Residual blocks.
	for i := 1; i <= 5; i++ {
		p := fmt.Sprintf("res%d.", i)
		y, c, err := b.layer(layer{conv: p + "conv1", stride: 1, norm: p + "in1", relu: true}, x, ch)
		if err != nil {
			return nil, err
		}
		if y, c, err = b.layer(layer{conv: p + "conv2", stride: 1, norm: p + "in2"}, y, c); err != nil {
			return nil, err
		}
		if c != ch {
			return nil, fmt.Errorf("%w: %sconv2 gives %d channels, the block's input has %d", ErrStateDict, p, c, ch)
		}
		x = b.node("Add", []string{y, x}, nil)
	}
	// Decoder.
	for _, l := range []layer{
		{conv: "deconv1", stride: 1, upsample: true, norm: "in4", relu: true},
		{conv: "deconv2", stride: 1, upsample: true, norm: "in5", relu: true},
		{conv: "deconv3", stride: 1},
	} {
		if x, ch, err = b.layer(l, x, ch); err != nil {
			return nil, err
		}
	}
	if ch != 3 {
		return nil, fmt.Errorf("%w: deconv3 gives %d channels, want 3", ErrStateDict, ch)
	}
	b.g.Nodes[len(b.g.Nodes)-1].Outputs[0] = Output
	var extra []string
	for _, name := range sd.Names {
		if !b.used[name] {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		return nil, fmt.Errorf("%w: unexpected keys %s", ErrStateDict, strings.Join(extra, ", "))
	}
	if err := b.g.Validate(); err != nil {
		return nil, err
	}
	return b.g, nil
}

// layer adds one ConvLayer (optionally upsampled), its InstanceNorm and ReLU after value x of
// ch channels. It returns the output value and its channel count.
func (b *builder) layer(l layer, x string, ch int) (string, int, error) {
	w, err := b.tensor(l.conv+".conv2d.weight", -1)
	if err != nil {
		return "", 0, err
	}
	if len(w.Shape) != 4 || w.Shape[1] != ch || w.Shape[2] != w.Shape[3] || w.Shape[2]%2 != 1 {
		return "", 0, fmt.Errorf("%w: %s.conv2d.weight has shape %v, want [out, %d, k, k] with k odd", ErrStateDict, l.conv, w.Shape, ch)
	}
	out, k := w.Shape[0], w.Shape[2]
	bias, err := b.tensor(l.conv+".conv2d.bias", out)
	if err != nil {
		return "", 0, err
	}
	if l.upsample {
		scales := b.constant(l.conv+".upsample.scales", nn.FromFloat32([]float32{1, 1, 2, 2}, 4))
		rs := b.node("Resize", []string{x, "", scales}, nil)
		n := b.g.Nodes[len(b.g.Nodes)-1]
		n.SetStr("mode", "nearest")
		n.SetStr("coordinate_transformation_mode", "asymmetric")
		n.SetStr("nearest_mode", "floor")
		x = rs
	}
	p := int64(k / 2)
	if p > 0 {
		pads := b.constant(l.conv+".reflection_pad.pads", nn.FromInt64([]int64{0, 0, p, p, 0, 0, p, p}, 8))
		x = b.node("Pad", []string{x, pads}, nil)
		b.g.Nodes[len(b.g.Nodes)-1].SetStr("mode", "reflect")
	}
	x = b.node("Conv", []string{x, b.param(l.conv+".conv2d.weight", w), b.param(l.conv+".conv2d.bias", bias)}, map[string]*graph.Attr{
		"kernel_shape": {Type: graph.AttrInts, Ints: []int64{int64(k), int64(k)}},
		"strides":      {Type: graph.AttrInts, Ints: []int64{int64(l.stride), int64(l.stride)}},
		"pads":         {Type: graph.AttrInts, Ints: []int64{0, 0, 0, 0}},
	})
	if l.norm != "" {
		scale, err := b.tensor(l.norm+".weight", out)
		if err != nil {
			return "", 0, err
		}
		shift, err := b.tensor(l.norm+".bias", out)
		if err != nil {
			return "", 0, err
		}
		x = b.node("InstanceNormalization", []string{x, b.param(l.norm+".weight", scale), b.param(l.norm+".bias", shift)}, nil)
		b.g.Nodes[len(b.g.Nodes)-1].SetFloat("epsilon", 1e-5)
	}
	if l.relu {
		x = b.node("Relu", []string{x}, nil)
	}
	return x, out, nil
}

// tensor finds a float tensor by key; n >= 0 checks it is a vector of n elements.
func (b *builder) tensor(key string, n int) (*pth.Tensor, error) {
	t, ok := b.sd.Tensors[key]
	if !ok {
		return nil, fmt.Errorf("%w: missing key %s", ErrStateDict, key)
	}
	if n >= 0 && (len(t.Shape) != 1 || t.Shape[0] != n) {
		return nil, fmt.Errorf("%w: %s has shape %v, want [%d]", ErrStateDict, key, t.Shape, n)
	}
	if nn.NumElements(t.Shape) != len(t.Data) {
		return nil, fmt.Errorf("%w: %s has %d values for shape %v", ErrStateDict, key, len(t.Data), t.Shape)
	}
	b.used[key] = true
	return t, nil
}

func (b *builder) param(name string, t *pth.Tensor) string {
	return b.constant(name, nn.FromFloat32(slices.Clone(t.Data), t.Shape...))
}

func (b *builder) constant(name string, t *nn.Tensor) string {
	b.g.Initializers[name] = t
	return name
}

func (b *builder) node(op string, inputs []string, attrs map[string]*graph.Attr) string {
	b.n++
	out := fmt.Sprintf("%s_%d", op, b.n)
	if attrs == nil {
		attrs = map[string]*graph.Attr{}
	}
	b.g.Nodes = append(b.g.Nodes, &graph.Node{Name: out, Op: op, Inputs: inputs, Outputs: []string{out}, Attrs: attrs})
	return out
}
