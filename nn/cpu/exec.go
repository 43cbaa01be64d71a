package cpu

import (
	"fmt"
	"sync"

	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/graph"
)

// opFunc runs one compiled node: it reads ins (nil for omitted optional
// inputs) and sets every output through x.out or x.set.
type opFunc func(x *exec, ins []*nn.Tensor) error

// compileFunc checks a node's attributes once and returns its opFunc, or an
// error wrapping nn.ErrUnsupportedOp.
type compileFunc func(n *graph.Node, opset int, isConst func(name string) bool) (opFunc, error)

var registry = map[string]compileFunc{}

func register(op string, f compileFunc) { registry[op] = f }

// SupportedOps lists the implemented default-domain operators.
func SupportedOps() []string {
	ops := make([]string, 0, len(registry))
	for op := range registry {
		ops = append(ops, op)
	}
	return ops
}

// compile checks n and returns its opFunc. isConst reports whether a
// value is a constant of the graph (never changes between runs); nil means
// nothing is.
func compile(n *graph.Node, opset int, isConst func(string) bool) (opFunc, error) {
	if isConst == nil {
		isConst = func(string) bool { return false }
	}
	f, ok := registry[n.Op]
	if !ok || n.Domain != graph.DefaultDomain {
		dom := n.Domain
		if dom == "" {
			dom = "ai.onnx"
		}
		return nil, fmt.Errorf("%w: %s (domain %s, opset %d) used by node %q", nn.ErrUnsupportedOp, n.Op, dom, opset, n.Name)
	}
	op, err := f(n, opset, isConst)
	if err != nil {
		return nil, fmt.Errorf("%s (opset %d) node %q: %w", n.Op, opset, n.Name, err)
	}
	return op, nil
}

func unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{nn.ErrUnsupportedOp}, args...)...)
}

func shapeErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{nn.ErrShape}, args...)...)
}

// exec is the per-run context an operator sees.
type exec struct {
	threads int
	st      *state
	step    *step
	idx     int
	insBuf  []*nn.Tensor
	fresh   bool // allocate outputs instead of reusing state buffers
	// maxElems bounds any tensor an operator creates (0: no bound).
	maxElems int64
}

// errTooLarge is raised (as a panic, turned into an error by runOp) when
// an operator asks for a tensor past Options.MaxTensorElements.
type errTooLarge struct{ err error }

// out returns output i with the given type and shape, its storage reused
// from the previous run of this state when large enough. Its contents are
// undefined: the operator must write every element (or clear it).
func (x *exec) out(i int, dt nn.DType, shape []int) *nn.Tensor {
	n := 1
	for _, d := range shape {
		if d < 0 || (d > 0 && x.maxElems > 0 && int64(n)*int64(d) > x.maxElems) {
			panic(errTooLarge{fmt.Errorf("%w: output of shape %v exceeds %d elements (Options.MaxTensorElements)", nn.ErrTooLarge, shape, x.maxElems)})
		}
		n *= d
	}
	t := &nn.Tensor{DType: dt, Shape: append([]int(nil), shape...)}
	slot := -1
	if i < len(x.step.out) {
		slot = x.step.out[i]
	}
	if slot < 0 || x.fresh {
		t.Data = nn.MakeData(dt, n)
		if slot >= 0 {
			x.st.vals[slot] = t
		}
		return t
	}
	if dt == nn.Float32 && x.st.owned != nil {
		t.Data = x.st.takeF32(slot, n)
		x.st.vals[slot] = t
		return t
	}
	if d := reuse(x.st.bufs[slot], dt, n); d != nil {
		t.Data = d
	} else {
		t.Data = nn.MakeData(dt, n)
		x.st.bufs[slot] = t.Data
	}
	x.st.vals[slot] = t
	return t
}

// reuse reslices buf when it has type dt and capacity for n elements.
func reuse(buf any, dt nn.DType, n int) any {
	switch b := buf.(type) {
	case []float32:
		if dt == nn.Float32 && cap(b) >= n {
			return b[:n]
		}
	case []int64:
		if dt == nn.Int64 && cap(b) >= n {
			return b[:n]
		}
	}
	return nil
}

// set makes t (which may share data with an input) output i.
func (x *exec) set(i int, t *nn.Tensor) {
	if i < len(x.step.out) && x.step.out[i] >= 0 {
		x.st.vals[x.step.out[i]] = t
	}
}

// cache returns the operator's per-state scratch slot.
func (x *exec) cache() *any { return &x.st.caches[x.idx] }

// scratch returns a float32 scratch buffer of n elements kept in the
// operator's cache slot.
func (x *exec) scratch(n int) []float32 {
	c := x.cache()
	if b, ok := (*c).([]float32); ok && cap(b) >= n {
		return b[:n]
	}
	b := make([]float32, n)
	*c = b
	return b
}

// parallel runs fn(i) for i in [0, n) on up to x.threads goroutines. A
// panic in a worker is re-raised in the caller.
func (x *exec) parallel(n int, fn func(i int)) {
	parallelFor(x.threads, n, fn)
}

func parallelFor(threads, n int, fn func(i int)) {
	w := min(threads, n)
	if w <= 1 {
		for i := 0; i < n; i++ {
			fn(i)
		}
		return
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var perr any
	next := 0
	take := func() int {
		mu.Lock()
		defer mu.Unlock()
		if perr != nil || next >= n {
			return -1
		}
		next++
		return next - 1
	}
	work := func() {
		defer wg.Done()
		defer func() {
			if r := recover(); r != nil {
				mu.Lock()
				if perr == nil {
					perr = r
				}
				mu.Unlock()
			}
		}()
		for i := take(); i >= 0; i = take() {
			fn(i)
		}
	}
	wg.Add(w)
	for k := 1; k < w; k++ {
		go work()
	}
	work()
	wg.Wait()
	if perr != nil {
		panic(perr)
	}
}

// --- helpers over shapes -------------------------------------------------

func strides(shape []int) []int {
	s := make([]int, len(shape))
	acc := 1
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= shape[i]
	}
	return s
}

// normAxis maps a possibly negative axis into [0, rank).
func normAxis(axis int64, rank int) (int, error) {
	a := int(axis)
	if a < 0 {
		a += rank
	}
	if a < 0 || a >= rank {
		return 0, shapeErr("axis %d out of range for rank %d", axis, rank)
	}
	return a, nil
}

// ints reads an integer tensor (int64 or int32) as ints.
func ints(t *nn.Tensor) ([]int64, error) {
	switch d := t.Data.(type) {
	case []int64:
		return d, nil
	case []int32:
		r := make([]int64, len(d))
		for i, v := range d {
			r[i] = int64(v)
		}
		return r, nil
	}
	return nil, shapeErr("expected an integer tensor, got %v", t.DType)
}

// floats reads a float tensor as float32.
func floats(t *nn.Tensor) ([]float32, error) {
	switch d := t.Data.(type) {
	case []float32:
		return d, nil
	case []float64:
		r := make([]float32, len(d))
		for i, v := range d {
			r[i] = float32(v)
		}
		return r, nil
	}
	return nil, shapeErr("expected a float tensor, got %v", t.DType)
}

func f32in(t *nn.Tensor, what string) ([]float32, error) {
	if t == nil {
		return nil, shapeErr("missing input %s", what)
	}
	d, ok := t.Data.([]float32)
	if !ok {
		return nil, unsupported("%s of type %v (only float32)", what, t.DType)
	}
	return d, nil
}

// broadcastShape computes the numpy broadcast of shapes.
func broadcastShape(shapes ...[]int) ([]int, error) {
	rank := 0
	for _, s := range shapes {
		rank = max(rank, len(s))
	}
	out := make([]int, rank)
	for i := range out {
		out[i] = 1
	}
	for _, s := range shapes {
		off := rank - len(s)
		for i, d := range s {
			o := out[off+i]
			switch {
			case o == d || d == 1:
			case o == 1:
				out[off+i] = d
			default:
				return nil, shapeErr("shapes %v do not broadcast", shapes)
			}
		}
	}
	return out, nil
}

// bstrides returns strides of shape aligned to out (0 where broadcast).
func bstrides(shape, out []int) []int {
	st := make([]int, len(out))
	s := strides(shape)
	off := len(out) - len(shape)
	for i, d := range shape {
		if d != 1 {
			st[off+i] = s[i]
		}
	}
	return st
}

// indexMap fills idx[i] with the source offset of output element i for a
// strided view (shape out, source strides st, base offset).
func indexMap(idx []int32, out []int, st []int, base int) {
	rank := len(out)
	if rank == 0 {
		if len(idx) > 0 {
			idx[0] = int32(base)
		}
		return
	}
	n := len(idx)
	if n == 0 {
		return
	}
	pos := make([]int, rank)
	off := base
	inner := out[rank-1]
	is := st[rank-1]
	for i := 0; i < n; i += inner {
		o := off
		for j := 0; j < inner; j++ {
			idx[i+j] = int32(o)
			o += is
		}
		// advance the outer index
		for d := rank - 2; d >= 0; d-- {
			pos[d]++
			off += st[d]
			if pos[d] < out[d] {
				break
			}
			off -= st[d] * pos[d]
			pos[d] = 0
		}
	}
}

// indexCache is an operator's cached gather index map, valid while the
// shapes (and parameters) it was built for stay the same.
type indexCache struct {
	key []int
	idx []int32
}

// indexMapFor returns an index map of n entries for key, building it with
// build only when key differs from the cached one: data-movement operators
// (Transpose, Slice, Expand, Pad) then allocate nothing per run.
func (x *exec) indexMapFor(key []int, n int, build func(idx []int32)) []int32 {
	c := x.cache()
	if ic, ok := (*c).(*indexCache); ok && slicesEqual(ic.key, key) && len(ic.idx) == n {
		return ic.idx
	}
	ic := &indexCache{key: append([]int(nil), key...), idx: make([]int32, n)}
	build(ic.idx)
	if !x.fresh {
		*c = ic
	}
	return ic.idx
}

func slicesEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// takeF32 gives slot a float32 buffer of n elements: the smallest free one
// large enough, else a new one.
func (st *state) takeF32(slot, n int) []float32 {
	if b := st.owned[slot]; b != nil { // a slot written twice in one run
		st.free = append(st.free, b)
		st.owned[slot] = nil
	}
	best := -1
	for i, b := range st.free {
		if cap(b) >= n && (best < 0 || cap(b) < cap(st.free[best])) {
			best = i
		}
	}
	var b []float32
	if best >= 0 {
		b = st.free[best][:n]
		last := len(st.free) - 1
		st.free[best] = st.free[last]
		st.free = st.free[:last]
	} else {
		b = make([]float32, n)
	}
	st.owned[slot] = b
	return b
}
