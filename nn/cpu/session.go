package cpu

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/graph"
	"github.com/sluice-ml/sluice/nn/onnx"
)

// Options configure a Session.
type Options struct {
	// Threads is the number of goroutines operators use per Run, nn/kernels'
	// GEMM and convolutions included (< 1: runtime.GOMAXPROCS(0)).
	Threads int
	// NoOptimize disables the load-time graph rewrites (for debugging and
	// for tests that compare optimized with unoptimized execution).
	NoOptimize bool
	// MaxTensorElements bounds every tensor an operator creates at run
	// time (default 1<<28, 1 GiB of float32): a model whose shapes come
	// from data (ConstantOfShape, Expand, Resize, Pad) cannot make Run
	// allocate without limit; it fails with nn.ErrTooLarge instead.
	MaxTensorElements int64
	// Load bounds what Open accepts from the model file (see onnx.Options).
	Load onnx.Options
}

// Session runs a graph on the CPU. It implements nn.Session and is safe for
// concurrent use: each Run borrows a working state (the buffers of every
// intermediate value, reused while input shapes stay the same) from a pool.
type Session struct {
	g        *graph.Graph
	threads  int
	steps    []*step
	slots    map[string]int
	consts   []*nn.Tensor // by slot; nil for computed values
	inputs   []inputSlot
	outputs  []int
	nslots   int
	stats    graph.Stats
	mu       sync.Mutex
	free     []*state
	maxElems int64
	closed   atomic.Bool
	inFlight sync.WaitGroup
	// values: the graph has sequence or optional inputs or outputs, or
	// operators over them; its states then carry xvals.
	values bool
}

type inputSlot struct {
	info graph.ValueInfo
	slot int
	// override: an initializer a feed may replace
	override bool
}

type step struct {
	node *graph.Node
	op   opFunc
	in   []int // -1 for omitted optional inputs
	out  []int
	// release lists the slots whose float32 buffers go back to the
	// state's free list once this step is done (their last reader, views
	// included, has run).
	release []int
	// values: the operator accepts sequence and optional inputs (it reads
	// them with exec.value; ins holds nil for them).
	values bool
}

// viewOps produce output 0 as a view of input 0's data.
var viewOps = map[string]bool{"Reshape": true, "Flatten": true, "Squeeze": true, "Unsqueeze": true, "Identity": true, "Dropout": true}

// state is one Run's working memory.
type state struct {
	vals []*nn.Tensor // current value per slot
	// xvals holds the slots whose value is a sequence or an optional (nil
	// in vals then); nil when the session has no such values.
	xvals []*nn.Value
	bufs  []any // owned backing storage per slot (non-float32), reused across runs
	// owned holds the float32 buffer a slot took from free during this
	// run; free is the pool of float32 buffers not in use. Buffers move
	// between them by liveness, so memory is bounded by the widest set of
	// simultaneously live activations, not by the sum of all of them.
	owned [][]float32
	free  [][]float32
	// caches holds per-step scratch (index maps, im2col buffers) that an
	// operator may keep between runs of the same state.
	caches []any
}

var _ nn.Session = (*Session)(nil)

// Open loads an ONNX model file and prepares a Session for it.
func Open(ctx context.Context, path string, opts Options) (*Session, error) {
	g, err := onnx.Load(ctx, path, opts.Load)
	if err != nil {
		return nil, err
	}
	sess, err := NewSession(ctx, g, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return sess, nil
}

// NewSession compiles g (optimizing it in place unless opts.NoOptimize):
// every node is checked against the implemented operators, so an
// unsupported operator fails here, not at Run.
func NewSession(ctx context.Context, g *graph.Graph, opts Options) (*Session, error) {
	th := opts.Threads
	if th < 1 {
		th = runtime.GOMAXPROCS(0)
	}
	s := &Session{g: g, threads: th, slots: map[string]int{}, maxElems: opts.MaxTensorElements}
	if s.maxElems <= 0 {
		s.maxElems = 1 << 28
	}
	// Check support before folding, so the error names the original node.
	for _, n := range g.Nodes {
		if _, err := compile(n, g.Opset, nil); err != nil {
			return nil, err
		}
	}
	// Shape inference with the declared input shapes: a model whose
	// static shapes contradict each other fails here, naming the node.
	if _, err := graph.InferShapes(g, nil); err != nil {
		return nil, fmt.Errorf("%w: %w", nn.ErrMalformedModel, err)
	}
	if !opts.NoOptimize {
		st, err := graph.Optimize(ctx, g, Evaluate)
		if err != nil {
			return nil, err
		}
		s.stats = st
	}
	slot := func(name string) int {
		if i, ok := s.slots[name]; ok {
			return i
		}
		s.slots[name] = s.nslots
		s.nslots++
		return s.nslots - 1
	}
	for _, in := range g.Inputs {
		s.inputs = append(s.inputs, inputSlot{info: in, slot: slot(in.Name)})
		s.values = s.values || in.Kind != nn.KindTensor
	}
	for name, t := range g.Initializers {
		i := slot(name)
		for len(s.consts) <= i {
			s.consts = append(s.consts, nil)
		}
		s.consts[i] = t
		if g.Overridable[name] {
			info := graph.ValueInfo{Name: name, DType: t.DType, Shape: t.Shape}
			s.inputs = append(s.inputs, inputSlot{info: info, slot: i, override: true})
		}
	}
	for _, n := range g.Nodes {
		op, err := compile(n, g.Opset, func(name string) bool { _, ok := g.Const(name); return ok })
		if err != nil {
			return nil, err
		}
		st := &step{node: n, op: op, values: valueOps[n.Op]}
		s.values = s.values || st.values
		for _, in := range n.Inputs {
			if in == "" {
				st.in = append(st.in, -1)
			} else {
				st.in = append(st.in, slot(in))
			}
		}
		for _, out := range n.Outputs {
			if out == "" {
				st.out = append(st.out, -1)
			} else {
				st.out = append(st.out, slot(out))
			}
		}
		s.steps = append(s.steps, st)
	}
	for _, o := range g.Outputs {
		s.outputs = append(s.outputs, slot(o.Name))
		s.values = s.values || o.Kind != nn.KindTensor
	}
	for len(s.consts) < s.nslots {
		s.consts = append(s.consts, nil)
	}
	s.planRelease()
	return s, nil
}

// Graph returns the (optimized) graph the session runs. It must not be
// modified.
func (s *Session) Graph() *graph.Graph { return s.g }

// Stats reports what the load-time rewrites changed.
func (s *Session) Stats() graph.Stats { return s.stats }

// Threads is the session's operator thread count.
func (s *Session) Threads() int { return s.threads }

// planRelease computes, for every slot produced by a step, the step after
// which its buffer is dead: the last step reading it or any view of it.
// Graph outputs are never released during a run.
func (s *Session) planRelease() {
	root := make([]int, s.nslots)
	for i := range root {
		root[i] = i
	}
	for _, sp := range s.steps {
		if viewOps[sp.node.Op] && (sp.node.Op != "Dropout" || dropoutIsView(sp.node)) && len(sp.in) > 0 && sp.in[0] >= 0 && len(sp.out) > 0 && sp.out[0] >= 0 {
			root[sp.out[0]] = root[sp.in[0]]
		}
	}
	last := make([]int, s.nslots)
	produced := make([]bool, s.nslots)
	for i := range last {
		last[i] = -1
	}
	for i, sp := range s.steps {
		for _, o := range sp.out {
			if o >= 0 {
				produced[o] = true
				last[root[o]] = max(last[root[o]], i) // unused outputs die at once
			}
		}
		for _, in := range sp.in {
			if in >= 0 {
				last[root[in]] = max(last[root[in]], i)
			}
		}
	}
	for _, o := range s.outputs {
		last[root[o]] = len(s.steps)
	}
	for slot := range last {
		if root[slot] == slot && produced[slot] && last[slot] >= 0 && last[slot] < len(s.steps) {
			s.steps[last[slot]].release = append(s.steps[last[slot]].release, slot)
		}
	}
}

func (s *Session) getState() *state {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.free); n > 0 {
		st := s.free[n-1]
		s.free = s.free[:n-1]
		return st
	}
	st := &state{vals: make([]*nn.Tensor, s.nslots), bufs: make([]any, s.nslots), owned: make([][]float32, s.nslots), caches: make([]any, len(s.steps))}
	if s.values {
		st.xvals = make([]*nn.Value, s.nslots)
	}
	return st
}

func (s *Session) putState(st *state) {
	clear(st.vals)
	clear(st.xvals)
	for i, b := range st.owned {
		if b != nil {
			st.free = append(st.free, b)
			st.owned[i] = nil
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed.Load() {
		s.free = append(s.free, st)
	}
}

// Run executes the graph. See nn.Session for the contract. Input errors
// wrap nn.ErrInputShape; operator failures name the node.
func (s *Session) Run(ctx context.Context, inputs map[string]*nn.Tensor) (map[string]*nn.Tensor, error) {
	return s.RunInto(ctx, inputs, nil)
}

// start runs the graph on a pooled state for RunInto and RunValues; the
// caller reads the outputs from st, then calls done, which returns the state
// and lets Close proceed.
func (s *Session) start(ctx context.Context, tensors map[string]*nn.Tensor, values map[string]*nn.Value) (st *state, done func(), err error) {
	if s == nil || s.closed.Load() {
		return nil, nil, nn.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	s.inFlight.Add(1)
	st = s.getState()
	done = func() {
		s.putState(st)
		s.inFlight.Done()
	}
	if err := s.execute(ctx, st, tensors, values); err != nil {
		done()
		return nil, nil, err
	}
	return st, done, nil
}

// RunInto is Run writing the outputs into caller-owned tensors where dst
// has one of the right element type for that output name whose Data has
// room (capacity) for the result: its Data is resliced and its Shape set,
// so a caller looping over video frames allocates nothing per frame.
// Outputs absent from dst are allocated as Run does. The returned map holds
// every output (dst's tensors where used).
func (s *Session) RunInto(ctx context.Context, inputs, dst map[string]*nn.Tensor) (map[string]*nn.Tensor, error) {
	st, done, err := s.start(ctx, inputs, nil)
	if err != nil {
		return nil, err
	}
	defer done()
	out := make(map[string]*nn.Tensor, len(s.outputs))
	for i, slot := range s.outputs {
		v := st.vals[slot]
		name := s.g.Outputs[i].Name
		if v == nil {
			if st.xvals != nil && st.xvals[slot] != nil {
				return nil, fmt.Errorf("output %q is a %v, not a tensor: read it with RunValues", name, st.xvals[slot])
			}
			return nil, fmt.Errorf("output %q not computed", name)
		}
		if d := dst[name]; d != nil && d.DType == v.DType {
			if data := reuseData(d.Data, v.Len()); data != nil {
				d.Shape = append(d.Shape[:0], v.Shape...)
				d.Data = data
				copyRange(d.Data, 0, v.Data, 0, v.Len())
				out[name] = d
				continue
			}
		}
		out[name] = v.Clone()
	}
	return out, nil
}

// RunValues is Run for models whose inputs or outputs are sequences or
// optionals (it runs plain tensor models too): inputs maps graph input
// names to values (nn.TensorValue for tensors), read and never modified or
// retained; the returned map holds every graph output as a value owned by
// the caller. A sequence or optional input is checked against the model's
// declaration (kind, element type and shape) as tensors are.
func (s *Session) RunValues(ctx context.Context, inputs map[string]*nn.Value) (map[string]*nn.Value, error) {
	st, done, err := s.start(ctx, nil, inputs)
	if err != nil {
		return nil, err
	}
	defer done()
	out := make(map[string]*nn.Value, len(s.outputs))
	for i, slot := range s.outputs {
		name := s.g.Outputs[i].Name
		switch {
		case st.vals[slot] != nil:
			out[name] = nn.TensorValue(st.vals[slot].Clone())
		case st.xvals != nil && st.xvals[slot] != nil:
			out[name] = st.xvals[slot].Clone()
		default:
			return nil, fmt.Errorf("output %q not computed", name)
		}
	}
	return out, nil
}

// execute binds the inputs (tensors, or values when values is not nil)
// and runs every step.
func (s *Session) execute(ctx context.Context, st *state, inputs map[string]*nn.Tensor, values map[string]*nn.Value) error {
	copy(st.vals, s.consts)
	for name := range inputs {
		if _, ok := s.slots[name]; !ok || !s.isInput(name) {
			return fmt.Errorf("%w: the model has no input %q (inputs: %v)", nn.ErrInputShape, name, s.inputNames())
		}
	}
	for name := range values {
		if _, ok := s.slots[name]; !ok || !s.isInput(name) {
			return fmt.Errorf("%w: the model has no input %q (inputs: %v)", nn.ErrInputShape, name, s.inputNames())
		}
	}
	for _, in := range s.inputs {
		if values != nil {
			v, ok := values[in.info.Name]
			if !ok {
				if in.override {
					continue
				}
				return fmt.Errorf("%w: missing input %q", nn.ErrInputShape, in.info.Name)
			}
			if v != nil && v.Kind != nn.KindTensor {
				if err := checkValue(in.info, v); err != nil {
					return err
				}
				st.xvals[in.slot] = v // checkValue: in.info is a sequence or optional, so xvals exists
				continue
			}
			var t *nn.Tensor
			if v != nil {
				t = v.Tensor
			}
			if err := checkInput(in.info, t); err != nil {
				return err
			}
			st.vals[in.slot] = t
			continue
		}
		t, ok := inputs[in.info.Name]
		if !ok {
			if in.override {
				continue
			}
			return fmt.Errorf("%w: missing input %q", nn.ErrInputShape, in.info.Name)
		}
		if err := checkInput(in.info, t); err != nil {
			return err
		}
		st.vals[in.slot] = t
	}
	x := &exec{threads: s.threads, maxElems: s.maxElems}
	for i, sp := range s.steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		x.st, x.step, x.idx = st, sp, i
		ins := x.insBuf[:0]
		for k, slot := range sp.in {
			if slot < 0 {
				ins = append(ins, nil)
				continue
			}
			v := st.vals[slot]
			if v == nil {
				if st.xvals == nil || st.xvals[slot] == nil {
					return fmt.Errorf("%v: input value not computed", sp.node)
				}
				if !sp.values {
					return fmt.Errorf("%v (opset %d): input %q is a %v, but %s takes tensors only (%w)", sp.node, s.g.Opset, sp.node.Inputs[k], st.xvals[slot], sp.node.Op, nn.ErrShape)
				}
			}
			ins = append(ins, v)
		}
		x.insBuf = ins
		if err := runOp(sp.op, x, ins); err != nil {
			return fmt.Errorf("%v (opset %d): %w", sp.node, s.g.Opset, err)
		}
		for _, slot := range sp.release {
			if b := st.owned[slot]; b != nil {
				st.free = append(st.free, b)
				st.owned[slot] = nil
			}
		}
	}
	return nil
}

// reuseData reslices a float32 or int64 data slice to n elements when its
// capacity allows.
func reuseData(data any, n int) any {
	switch d := data.(type) {
	case []float32:
		if cap(d) >= n {
			return d[:n]
		}
	case []int64:
		if cap(d) >= n {
			return d[:n]
		}
	}
	return nil
}

// runOp runs op, turning a panic of an operator (a bug, or an input no
// check caught) into an error.
func runOp(op opFunc, x *exec, ins []*nn.Tensor) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(errTooLarge); ok {
				err = e.err
				return
			}
			err = fmt.Errorf("operator panicked: %v", r)
		}
	}()
	return op(x, ins)
}

func (s *Session) isInput(name string) bool {
	for _, in := range s.inputs {
		if in.info.Name == name {
			return true
		}
	}
	return false
}

func (s *Session) inputNames() []string {
	var names []string
	for _, in := range s.inputs {
		if !in.override {
			names = append(names, in.info.Name)
		}
	}
	return names
}

// Inputs describes the inputs a caller must feed.
func (s *Session) Inputs() []graph.ValueInfo {
	var r []graph.ValueInfo
	for _, in := range s.inputs {
		if !in.override {
			r = append(r, in.info)
		}
	}
	return r
}

// Outputs describes the outputs Run returns.
func (s *Session) Outputs() []graph.ValueInfo { return slices.Clone(s.g.Outputs) }

func checkInput(info graph.ValueInfo, t *nn.Tensor) error {
	if info.Kind != nn.KindTensor {
		return fmt.Errorf("%w: input %q is a %s, given a tensor: feed it with RunValues", nn.ErrInputShape, info.Name, info.TypeString())
	}
	if err := t.Validate(); err != nil {
		return fmt.Errorf("%w: input %q: %w", nn.ErrInputShape, info.Name, err)
	}
	if info.DType != nn.Undefined && t.DType != info.DType {
		return fmt.Errorf("%w: input %q is %v, the model wants %v", nn.ErrInputShape, info.Name, t.DType, info.DType)
	}
	if info.Shape != nil {
		ok := len(info.Shape) == len(t.Shape)
		for i := 0; ok && i < len(info.Shape); i++ {
			ok = info.Shape[i] < 0 || info.Shape[i] == t.Shape[i]
		}
		if !ok {
			return fmt.Errorf("%w: input %q has shape %v, the model wants %v", nn.ErrInputShape, info.Name, t.Shape, shapeString(info))
		}
	}
	return nil
}

// checkValue checks a sequence or optional fed for input info: the kind,
// and every tensor in it against the declared element type and shape.
func checkValue(info graph.ValueInfo, v *nn.Value) error {
	if err := v.Validate(); err != nil {
		return fmt.Errorf("%w: input %q: %w", nn.ErrInputShape, info.Name, err)
	}
	if v.Kind != info.Kind {
		return fmt.Errorf("%w: input %q is a %v, the model wants a %s", nn.ErrInputShape, info.Name, v, info.TypeString())
	}
	el := info.Elem
	switch v.Kind {
	case nn.KindSequence:
		if el == nil {
			return nil
		}
		if el.Kind != nn.KindTensor {
			return fmt.Errorf("%w: input %q is a %s: sequences of sequences or optionals are not supported", nn.ErrUnsupportedOp, info.Name, info.TypeString())
		}
		if el.DType != nn.Undefined && v.ElemType != nn.Undefined && v.ElemType != el.DType {
			return fmt.Errorf("%w: input %q is a %v, the model wants a %s", nn.ErrInputShape, info.Name, v, info.TypeString())
		}
		for i, t := range v.Seq {
			e := *el
			e.Name = fmt.Sprintf("%s[%d]", info.Name, i)
			if err := checkInput(e, t); err != nil {
				return err
			}
		}
	case nn.KindOptional:
		if el == nil || v.Elem == nil {
			return nil
		}
		e := *el
		e.Name = info.Name
		if v.Elem.Kind == nn.KindTensor {
			return checkInput(e, v.Elem.Tensor)
		}
		return checkValue(e, v.Elem)
	}
	return nil
}

func shapeString(info graph.ValueInfo) string {
	s := "["
	for i, d := range info.Shape {
		if i > 0 {
			s += ","
		}
		switch {
		case d >= 0:
			s += fmt.Sprint(d)
		case i < len(info.DimParams) && info.DimParams[i] != "":
			s += info.DimParams[i]
		default:
			s += "?"
		}
	}
	return s + "]"
}

// Close waits for runs in flight and drops the session's buffers. It is
// idempotent and nil-safe.
func (s *Session) Close() error {
	if s == nil || s.closed.Swap(true) {
		return nil
	}
	s.inFlight.Wait()
	s.mu.Lock()
	s.free = nil
	s.mu.Unlock()
	return nil
}

// Evaluate runs one node on the given inputs with fresh buffers. It is the
// graph.Evaluator used for constant folding.
func Evaluate(ctx context.Context, n *graph.Node, opset int, inputs []*nn.Tensor) ([]*nn.Tensor, error) {
	op, err := compile(n, opset, nil)
	if err != nil {
		return nil, err
	}
	if valueOps[n.Op] && n.Op != "Identity" {
		// Sequences and optionals are not constants: never folded.
		return nil, fmt.Errorf("%w: %v is not evaluated at load time", nn.ErrUnsupportedOp, n)
	}
	sp := &step{node: n, op: op}
	st := &state{vals: make([]*nn.Tensor, len(n.Outputs)), bufs: make([]any, len(n.Outputs)), caches: make([]any, 1)}
	for i := range n.Outputs {
		sp.out = append(sp.out, i)
	}
	x := &exec{threads: 1, st: st, step: sp, fresh: true, maxElems: 1 << 24}
	if err := runOp(op, x, inputs); err != nil {
		return nil, fmt.Errorf("%v (opset %d): %w", n, opset, err)
	}
	return st.vals, nil
}
