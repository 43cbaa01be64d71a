package graph

import (
	"context"
	"fmt"
	"math"

	"github.com/sluice-ml/sluice/nn"
)

// Evaluator computes one node on constant inputs (missing optional inputs
// are nil). It is supplied by the backend, so folded values are computed by
// the very kernels that run the graph.
type Evaluator func(ctx context.Context, n *Node, opset int, inputs []*nn.Tensor) ([]*nn.Tensor, error)

// Stats counts what Optimize changed.
type Stats struct {
	Folded, BatchNormsFolded, Fused, Removed int
}

// Fusion attributes Optimize sets on a Conv node whose activation it
// absorbed; backends that run Conv must honour them. They are not ONNX
// attributes (the "_" prefix cannot collide with ONNX names).
const (
	AttrActivation = "_activation" // "Relu", "Clip", "LeakyRelu"; on Conv, Add, InstanceNormalization
	AttrActAlpha   = "_act_alpha"  // Clip min, LeakyRelu alpha
	AttrActBeta    = "_act_beta"   // Clip max
	// AttrResidual on a Conv says its 4th input is added to the output
	// before the activation (Conv → Add [→ Relu] fused).
	AttrResidual = "_residual"
)

// maxFoldElements bounds the size of a tensor produced by constant folding:
// folding must not turn a small ConstantOfShape into a huge initializer.
const maxFoldElements = 1 << 24

// Optimize applies the load-time rewrites in place. eval may be nil, which
// disables constant folding. Errors from eval abort folding of that node
// only when they are ErrUnsupportedOp; other errors are returned.
func Optimize(ctx context.Context, g *Graph, eval Evaluator) (Stats, error) {
	var st Stats
	st.Removed += removeIdentities(g)
	if eval != nil {
		n, err := foldConstants(ctx, g, eval)
		if err != nil {
			return st, err
		}
		st.Folded = n
	}
	st.BatchNormsFolded = foldBatchNorm(g)
	st.Fused = fuseActivations(g)
	st.Fused += fuseResidual(g)
	st.Removed += removeDead(g)
	return st, g.Validate()
}

// rename replaces every read of from by to.
func (g *Graph) rename(from, to string) {
	for _, n := range g.Nodes {
		for i, in := range n.Inputs {
			if in == from {
				n.Inputs[i] = to
			}
		}
	}
}

// removeIdentities bypasses Identity nodes and inference-mode Dropout
// whose outputs are not graph outputs.
func removeIdentities(g *Graph) int {
	removed := 0
	kept := g.Nodes[:0]
	for _, n := range g.Nodes {
		bypass := false
		switch n.Op {
		case "Identity":
			bypass = n.Domain == DefaultDomain && len(n.Inputs) == 1
		case "Dropout":
			// Inference: Dropout is identity unless training_mode is a
			// (possibly constant-true) input; the mask output must be unused.
			bypass = n.Domain == DefaultDomain && n.Input(2) == "" && (len(n.Outputs) < 2 || n.Outputs[1] == "")
		}
		if bypass && n.Inputs[0] != "" && !g.IsGraphOutput(n.Outputs[0]) {
			g.rename(n.Outputs[0], n.Inputs[0])
			removed++
			continue
		}
		kept = append(kept, n)
	}
	g.Nodes = kept
	return removed
}

// foldConstants evaluates nodes whose inputs are all constants.
func foldConstants(ctx context.Context, g *Graph, eval Evaluator) (int, error) {
	folded := 0
	kept := g.Nodes[:0]
	for _, n := range g.Nodes {
		if err := ctx.Err(); err != nil {
			return folded, err
		}
		if !foldable(g, n) {
			kept = append(kept, n)
			continue
		}
		ins := make([]*nn.Tensor, len(n.Inputs))
		for i, name := range n.Inputs {
			if name != "" {
				ins[i], _ = g.Const(name)
			}
		}
		outs, err := eval(ctx, n, g.Opset, ins)
		if err != nil {
			// Leave it to run time, which reports the error with context.
			kept = append(kept, n)
			continue
		}
		big := false
		for _, o := range outs {
			if o != nil && o.Len() > maxFoldElements {
				big = true
			}
		}
		if big || len(outs) < len(n.Outputs) {
			kept = append(kept, n)
			continue
		}
		for i, name := range n.Outputs {
			if name != "" {
				g.Initializers[name] = outs[i]
			}
		}
		folded++
	}
	g.Nodes = kept
	return folded, nil
}

func foldable(g *Graph, n *Node) bool {
	if n.Domain != DefaultDomain {
		return false
	}
	switch n.Op {
	case "Dropout", "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial":
		return false
	}
	for _, o := range n.Outputs {
		if g.IsGraphOutput(o) {
			return false // keep graph outputs computed by a node
		}
	}
	for _, in := range n.Inputs {
		if in == "" {
			continue
		}
		if _, ok := g.Const(in); !ok {
			return false
		}
	}
	return true
}

// producers maps a value to the node producing it.
func (g *Graph) producers() map[string]*Node {
	p := map[string]*Node{}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			p[o] = n
		}
	}
	return p
}

// foldBatchNorm folds BatchNormalization (inference) into the Conv whose
// only consumer it is, when weights and statistics are constants.
func foldBatchNorm(g *Graph) int {
	folded := 0
	cons := g.Consumers()
	prod := g.producers()
	drop := map[*Node]bool{}
	for _, bn := range g.Nodes {
		if bn.Op != "BatchNormalization" || bn.Domain != DefaultDomain || len(bn.Inputs) < 5 {
			continue
		}
		if len(bn.Outputs) > 1 && bn.Outputs[1] != "" || bn.Int("training_mode", 0) != 0 {
			continue
		}
		conv := prod[bn.Inputs[0]]
		if conv == nil || conv.Op != "Conv" || conv.Domain != DefaultDomain || cons[conv.Outputs[0]] != 1 ||
			g.IsGraphOutput(conv.Outputs[0]) || conv.Has(AttrActivation) {
			continue
		}
		w, okW := g.Const(conv.Input(1))
		scale, ok1 := g.Const(bn.Inputs[1])
		bias, ok2 := g.Const(bn.Inputs[2])
		mean, ok3 := g.Const(bn.Inputs[3])
		vr, ok4 := g.Const(bn.Inputs[4])
		if !okW || !ok1 || !ok2 || !ok3 || !ok4 || w.DType != nn.Float32 || len(w.Shape) < 3 {
			continue
		}
		m := w.Shape[0]
		var b *nn.Tensor
		if name := conv.Input(2); name != "" {
			var ok bool
			if b, ok = g.Const(name); !ok || b.DType != nn.Float32 || b.Len() != m {
				continue
			}
		}
		okAll := true
		for _, t := range []*nn.Tensor{scale, bias, mean, vr} {
			if t.DType != nn.Float32 || t.Len() != m {
				okAll = false
			}
		}
		if !okAll {
			continue
		}
		eps := float64(bn.Float("epsilon", 1e-5))
		nw := w.Clone()
		wd := nw.F32()
		per := len(wd) / m
		nb := make([]float32, m)
		for c := 0; c < m; c++ {
			f := float64(scale.F32()[c]) / math.Sqrt(float64(vr.F32()[c])+eps)
			for i := c * per; i < (c+1)*per; i++ {
				wd[i] = float32(float64(wd[i]) * f)
			}
			b0 := 0.0
			if b != nil {
				b0 = float64(b.F32()[c])
			}
			nb[c] = float32((b0-float64(mean.F32()[c]))*f + float64(bias.F32()[c]))
		}
		wName := uniqueName(g, conv.Input(1)+"_bnfolded")
		bName := uniqueName(g, conv.Outputs[0]+"_bnbias")
		g.Initializers[wName] = nw
		g.Initializers[bName] = nn.FromFloat32(nb, m)
		for len(conv.Inputs) < 3 {
			conv.Inputs = append(conv.Inputs, "")
		}
		conv.Inputs[1], conv.Inputs[2] = wName, bName
		conv.Outputs[0] = bn.Outputs[0]
		drop[bn] = true
		folded++
	}
	g.dropNodes(drop)
	return folded
}

// fuseActivations absorbs Relu, LeakyRelu and constant-bound Clip into the
// Conv, Add (a residual connection) or InstanceNormalization that is their
// only input.
func fuseActivations(g *Graph) int {
	fused := 0
	cons := g.Consumers()
	prod := g.producers()
	drop := map[*Node]bool{}
	for _, act := range g.Nodes {
		if act.Domain != DefaultDomain || len(act.Inputs) == 0 {
			continue
		}
		var alpha, beta float32
		switch act.Op {
		case "Relu":
		case "LeakyRelu":
			alpha = act.Float("alpha", 0.01)
		case "Clip":
			lo, hi, ok := clipBounds(g, act)
			if !ok {
				continue
			}
			alpha, beta = lo, hi
		default:
			continue
		}
		conv := prod[act.Inputs[0]]
		if conv == nil || (conv.Op != "Conv" && conv.Op != "Add" && conv.Op != "InstanceNormalization") || conv.Domain != DefaultDomain || conv.Has(AttrActivation) ||
			cons[conv.Outputs[0]] != 1 || g.IsGraphOutput(conv.Outputs[0]) {
			continue
		}
		conv.SetStr(AttrActivation, act.Op)
		conv.SetFloat(AttrActAlpha, alpha)
		conv.SetFloat(AttrActBeta, beta)
		conv.Outputs[0] = act.Outputs[0]
		drop[act] = true
		fused++
	}
	g.dropNodes(drop)
	return fused
}

// fuseResidual folds Add(Conv(x), skip) into the Conv (as a 4th input and
// AttrResidual) when the Conv output is read only by that Add and the Conv
// has no activation of its own; the Add's fused activation moves to the
// Conv. The fused node takes the Add's place in the order, where skip is
// computed.
func fuseResidual(g *Graph) int {
	fused := 0
	cons := g.Consumers()
	prod := g.producers()
	drop := map[*Node]bool{}
	for i, add := range g.Nodes {
		if add.Op != "Add" || add.Domain != DefaultDomain || len(add.Inputs) != 2 || add.Inputs[0] == "" || add.Inputs[1] == "" {
			continue
		}
		for k := 0; k < 2; k++ {
			conv := prod[add.Inputs[k]]
			skip := add.Inputs[1-k]
			if conv == nil || conv.Op != "Conv" || conv.Domain != DefaultDomain || drop[conv] || conv.Has(AttrActivation) ||
				conv.Has(AttrResidual) || cons[conv.Outputs[0]] != 1 || g.IsGraphOutput(conv.Outputs[0]) || skip == add.Inputs[k] {
				continue
			}
			n := &Node{Name: conv.Name, Op: "Conv", Outputs: append([]string(nil), add.Outputs...), Attrs: map[string]*Attr{}}
			for name, a := range conv.Attrs {
				n.Attrs[name] = a
			}
			for name, a := range add.Attrs {
				if name == AttrActivation || name == AttrActAlpha || name == AttrActBeta {
					n.Attrs[name] = a
				}
			}
			n.Inputs = append(append([]string(nil), conv.Inputs...), "", "")[:3]
			n.Inputs = append(n.Inputs, skip)
			n.SetInt(AttrResidual, 1)
			g.Nodes[i] = n
			drop[conv] = true
			fused++
			break
		}
	}
	g.dropNodes(drop)
	return fused
}

// clipBounds returns Clip's bounds when they are attributes (opset < 11)
// or constant inputs.
func clipBounds(g *Graph, n *Node) (lo, hi float32, ok bool) {
	lo, hi = float32(math.Inf(-1)), float32(math.Inf(1))
	if g.Opset < 11 {
		return n.Float("min", lo), n.Float("max", hi), true
	}
	for i, p := range []*float32{&lo, &hi} {
		name := n.Input(i + 1)
		if name == "" {
			continue
		}
		t, c := g.Const(name)
		if !c || t.DType != nn.Float32 || t.Len() != 1 {
			return 0, 0, false
		}
		*p = t.F32()[0]
	}
	return lo, hi, true
}

func (g *Graph) dropNodes(drop map[*Node]bool) {
	if len(drop) == 0 {
		return
	}
	kept := g.Nodes[:0]
	for _, n := range g.Nodes {
		if !drop[n] {
			kept = append(kept, n)
		}
	}
	g.Nodes = kept
}

func uniqueName(g *Graph, base string) string {
	name := base
	for i := 1; ; i++ {
		if _, ok := g.Initializers[name]; !ok {
			return name
		}
		name = fmt.Sprintf("%s_%d", base, i)
	}
}

// removeDead drops nodes none of whose outputs reach a graph output, and
// initializers nothing reads.
func removeDead(g *Graph) int {
	live := map[string]bool{}
	for _, o := range g.Outputs {
		live[o.Name] = true
	}
	keep := make([]bool, len(g.Nodes))
	for i := len(g.Nodes) - 1; i >= 0; i-- {
		n := g.Nodes[i]
		for _, o := range n.Outputs {
			if live[o] {
				keep[i] = true
			}
		}
		if keep[i] {
			for _, in := range n.Inputs {
				live[in] = true
			}
		}
	}
	removed := 0
	kept := g.Nodes[:0]
	for i, n := range g.Nodes {
		if keep[i] {
			kept = append(kept, n)
		} else {
			removed++
		}
	}
	g.Nodes = kept
	for name := range g.Initializers {
		if !live[name] && !g.Overridable[name] {
			delete(g.Initializers, name)
		}
	}
	return removed
}
