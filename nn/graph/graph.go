package graph

import (
	"fmt"

	"github.com/sluice-ml/sluice/nn"
)

// DefaultDomain is the ONNX default operator set domain ("" or "ai.onnx").
const DefaultDomain = ""

// Graph is a model's computation, nodes in topological order.
type Graph struct {
	Name string
	// Opset is the version of the default ("ai.onnx") operator set.
	Opset int
	// Inputs are the graph inputs that are not initializers: what a caller
	// feeds. Outputs are what Run returns.
	Inputs  []ValueInfo
	Outputs []ValueInfo
	// Initializers are constant tensors by value name. An initializer
	// that is also listed as a graph input may be overridden by a feed
	// (ONNX semantics); those names are in Overridable.
	Initializers map[string]*nn.Tensor
	Overridable  map[string]bool
	Nodes        []*Node
}

// ValueInfo declares a value's element type and shape. A dimension of -1
// is unknown (dynamic, e.g. the batch dimension); its symbolic name, if
// any, is in DimParams. A nil Shape means the rank is unknown.
//
// Kind is nn.KindTensor (the zero value) for tensors, described by DType
// and Shape. For nn.KindSequence and nn.KindOptional, DType and Shape are
// unset and Elem describes the element: a sequence's tensors, or an
// optional's tensor or sequence (nil when the model leaves it unknown).
type ValueInfo struct {
	Name      string
	DType     nn.DType
	Shape     []int
	DimParams []string
	Kind      nn.Kind
	Elem      *ValueInfo
}

// TypeString describes vi's type for messages: "float32[N,3]",
// "sequence<float32[?]>", "optional<sequence<int64>>".
func (vi ValueInfo) TypeString() string {
	switch vi.Kind {
	case nn.KindSequence, nn.KindOptional:
		el := "?"
		if vi.Elem != nil {
			el = vi.Elem.TypeString()
		}
		return fmt.Sprintf("%v<%s>", vi.Kind, el)
	}
	if vi.Shape == nil {
		return vi.DType.String()
	}
	s := vi.DType.String() + "["
	for i, d := range vi.Shape {
		if i > 0 {
			s += ","
		}
		switch {
		case d >= 0:
			s += fmt.Sprint(d)
		case i < len(vi.DimParams) && vi.DimParams[i] != "":
			s += vi.DimParams[i]
		default:
			s += "?"
		}
	}
	return s + "]"
}

// Node is one operator application. Empty strings in Inputs mark omitted
// optional inputs.
type Node struct {
	Name    string
	Op      string
	Domain  string
	Inputs  []string
	Outputs []string
	Attrs   map[string]*Attr
}

// AttrType says which field of an Attr is set.
type AttrType int

// Attribute kinds (a subset of ONNX's: graphs and sparse tensors are not
// used by the supported operators).
const (
	AttrFloat AttrType = iota + 1
	AttrInt
	AttrString
	AttrTensor
	AttrFloats
	AttrInts
	AttrStrings
)

// Attr is a node attribute.
type Attr struct {
	Type    AttrType
	F       float32
	I       int64
	S       string
	T       *nn.Tensor
	Floats  []float32
	Ints    []int64
	Strings []string
}

// String returns a short human description of n for error messages.
func (n *Node) String() string {
	name := n.Name
	if name == "" && len(n.Outputs) > 0 {
		name = "→" + n.Outputs[0]
	}
	return fmt.Sprintf("%s node %q", n.Op, name)
}

// Has reports whether the attribute is present.
func (n *Node) Has(name string) bool { _, ok := n.Attrs[name]; return ok }

// Int returns an int attribute or def.
func (n *Node) Int(name string, def int64) int64 {
	if a, ok := n.Attrs[name]; ok && a.Type == AttrInt {
		return a.I
	}
	return def
}

// Float returns a float attribute or def.
func (n *Node) Float(name string, def float32) float32 {
	if a, ok := n.Attrs[name]; ok {
		switch a.Type {
		case AttrFloat:
			return a.F
		case AttrInt:
			return float32(a.I)
		}
	}
	return def
}

// Str returns a string attribute or def.
func (n *Node) Str(name, def string) string {
	if a, ok := n.Attrs[name]; ok && a.Type == AttrString {
		return a.S
	}
	return def
}

// Ints returns an ints attribute, or nil when absent.
func (n *Node) Ints(name string) []int64 {
	if a, ok := n.Attrs[name]; ok {
		switch a.Type {
		case AttrInts:
			return a.Ints
		case AttrInt:
			return []int64{a.I}
		}
	}
	return nil
}

// Floats returns a floats attribute, or nil when absent.
func (n *Node) Floats(name string) []float32 {
	if a, ok := n.Attrs[name]; ok && a.Type == AttrFloats {
		return a.Floats
	}
	return nil
}

// Input returns the i'th input name, or "" when absent.
func (n *Node) Input(i int) string {
	if i < len(n.Inputs) {
		return n.Inputs[i]
	}
	return ""
}

// SetInt sets an int attribute.
func (n *Node) SetInt(name string, v int64) {
	if n.Attrs == nil {
		n.Attrs = map[string]*Attr{}
	}
	n.Attrs[name] = &Attr{Type: AttrInt, I: v}
}

// SetFloat sets a float attribute.
func (n *Node) SetFloat(name string, v float32) {
	if n.Attrs == nil {
		n.Attrs = map[string]*Attr{}
	}
	n.Attrs[name] = &Attr{Type: AttrFloat, F: v}
}

// SetStr sets a string attribute.
func (n *Node) SetStr(name, v string) {
	if n.Attrs == nil {
		n.Attrs = map[string]*Attr{}
	}
	n.Attrs[name] = &Attr{Type: AttrString, S: v}
}

// Validate checks that every node input is produced before it is used (by
// a graph input, an initializer or an earlier node) and that every graph
// output is produced. It returns an error wrapping nn.ErrMalformedModel.
func (g *Graph) Validate() error {
	have := map[string]bool{}
	for _, in := range g.Inputs {
		have[in.Name] = true
	}
	for name := range g.Initializers {
		have[name] = true
	}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			if in != "" && !have[in] {
				return fmt.Errorf("%w: %v reads value %q that nothing produces before it", nn.ErrMalformedModel, n, in)
			}
		}
		for _, out := range n.Outputs {
			if out != "" {
				have[out] = true
			}
		}
	}
	for _, o := range g.Outputs {
		if !have[o.Name] {
			return fmt.Errorf("%w: graph output %q is not produced", nn.ErrMalformedModel, o.Name)
		}
	}
	return nil
}

// Consumers counts, for every value, the nodes reading it plus one per
// graph output naming it.
func (g *Graph) Consumers() map[string]int {
	c := map[string]int{}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			if in != "" {
				c[in]++
			}
		}
	}
	for _, o := range g.Outputs {
		c[o.Name]++
	}
	return c
}

// IsGraphOutput reports whether name is one of the graph's outputs.
func (g *Graph) IsGraphOutput(name string) bool {
	for _, o := range g.Outputs {
		if o.Name == name {
			return true
		}
	}
	return false
}

// Const returns the initializer named name when it is a constant (present
// and not overridable by a feed).
func (g *Graph) Const(name string) (*nn.Tensor, bool) {
	if name == "" || g.Overridable[name] {
		return nil, false
	}
	t, ok := g.Initializers[name]
	return t, ok
}
