//go:build cuda

package gpu

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"
	"unsafe"

	"gorgonia.org/cu"

	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/cpu"
	"github.com/sluice-ml/sluice/nn/graph"
	"github.com/sluice-ml/sluice/nn/onnx"
)

// dval is a value during a run: float32 data on the device (ptr), and for
// constants also the host tensor (host). class > 0 marks a buffer owned by
// the session's pool (returned to it after the value's last reader).
type dval struct {
	shape []int
	ptr   cu.DevicePtr
	host  *nn.Tensor
	class int64
}

func (v *dval) len() int { return nn.NumElements(v.shape) }

// Session runs a graph on one GPU. It implements nn.Session; Run is safe for
// concurrent use (runs are serialised on the device's thread).
type Session struct {
	d        *device
	g        *graph.Graph
	maxElems int64
	tf32     bool
	stats    graph.Stats
	slots    map[string]int
	nslots   int
	consts   []*dval // by slot; nil for computed values
	inputs   []inputSlot
	outputs  []int
	steps    []*step
	// constMem: device buffers of the constants, freed by Close.
	constMem []cu.DevicePtr
	pool     pool

	mu     sync.Mutex
	closed bool
}

type inputSlot struct {
	info     graph.ValueInfo
	slot     int
	override bool
}

type step struct {
	node    *graph.Node
	op      opFunc
	in, out []int
	// release: slots whose pool buffers are dead once this step ran.
	release []int
	// cache: per-step device data kept between runs (index maps), keyed
	// by the input geometry; session-owned, freed by Close.
	cache map[string]cu.DevicePtr
}

var _ nn.Session = (*Session)(nil)

// Open loads an ONNX model file and prepares a Session for it on the
// device opts.Device.
func Open(ctx context.Context, path string, opts Options) (*Session, error) {
	g, err := onnx.Load(ctx, path, opts.Load)
	if err != nil {
		return nil, err
	}
	s, err := NewSession(ctx, g, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// NewSession compiles g for the GPU (optimizing it in place unless
// opts.NoOptimize) and uploads its weights. An operator the GPU path does
// not implement fails here with nn.ErrUnsupportedOp naming the node.
func NewSession(ctx context.Context, g *graph.Graph, opts Options) (*Session, error) {
	for _, vi := range append(append([]graph.ValueInfo(nil), g.Inputs...), g.Outputs...) {
		if vi.Kind != nn.KindTensor {
			return nil, fmt.Errorf("%w: value %q is a %s; the GPU backend takes tensors only (nn/cpu runs sequences and optionals)", nn.ErrUnsupportedOp, vi.Name, vi.TypeString())
		}
	}
	for _, in := range g.Inputs {
		if in.DType != nn.Float32 && in.DType != nn.Undefined {
			return nil, fmt.Errorf("%w: input %q is %v; the GPU backend takes float32 inputs", nn.ErrUnsupportedOp, in.Name, in.DType)
		}
	}
	if _, err := graph.InferShapes(g, nil); err != nil {
		return nil, fmt.Errorf("%w: %w", nn.ErrMalformedModel, err)
	}
	s := &Session{g: g, slots: map[string]int{}, maxElems: opts.MaxTensorElements, tf32: opts.TF32}
	if s.maxElems <= 0 {
		s.maxElems = 1 << 28
	}
	if !opts.NoOptimize {
		st, err := graph.Optimize(ctx, g, cpu.Evaluate)
		if err != nil {
			return nil, err
		}
		s.stats = st
	}
	// Support is checked on the optimized graph: Constant, Shape and the
	// like are folded away, and fused nodes keep their original names.
	for _, n := range g.Nodes {
		if err := supported(n, g.Opset); err != nil {
			return nil, err
		}
	}
	d, err := getDevice(opts.Device)
	if err != nil {
		return nil, err
	}
	s.d = d
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
	}
	names := make([]string, 0, len(g.Initializers))
	for name := range g.Initializers {
		names = append(names, name)
	}
	sort.Strings(names)
	used := map[string]bool{}
	for _, n := range g.Nodes {
		for _, in := range n.Inputs {
			used[in] = true
		}
	}
	for _, o := range g.Outputs {
		used[o.Name] = true
	}
	constSlots := map[int]*nn.Tensor{}
	for _, name := range names {
		t := g.Initializers[name]
		i := slot(name)
		if used[name] {
			constSlots[i] = t
		}
		if g.Overridable[name] {
			if t.DType != nn.Float32 {
				return nil, fmt.Errorf("%w: overridable initializer %q is %v; the GPU backend takes float32 feeds", nn.ErrUnsupportedOp, name, t.DType)
			}
			s.inputs = append(s.inputs, inputSlot{info: graph.ValueInfo{Name: name, DType: t.DType, Shape: t.Shape}, slot: i, override: true})
		}
	}
	cc := &cctx{s: s, isConst: func(name string) bool { _, ok := g.Const(name); return ok }, constOf: func(name string) *nn.Tensor {
		t, _ := g.Const(name)
		return t
	}}
	for _, n := range g.Nodes {
		op, err := compile(n, g.Opset, cc)
		if err != nil {
			return nil, err
		}
		st := &step{node: n, op: op}
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
	}
	s.consts = make([]*dval, s.nslots)
	s.planRelease()
	err = d.do(func() error {
		for i, t := range constSlots {
			v := &dval{shape: append([]int(nil), t.Shape...), host: t}
			if f := t.F32(); f != nil && len(f) > 0 {
				ptr, err := cu.MemAlloc(int64(4 * len(f)))
				if err != nil {
					return fmt.Errorf("gpu: uploading weight: %w", err)
				}
				s.constMem = append(s.constMem, ptr)
				if err := cu.MemcpyHtoD(ptr, unsafe.Pointer(&f[0]), int64(4*len(f))); err != nil {
					return fmt.Errorf("gpu: uploading weight: %w", err)
				}
				v.ptr = ptr
			}
			s.consts[i] = v
		}
		return nil
	})
	if err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Graph returns the (optimized) graph the session runs. It must not be
// modified.
func (s *Session) Graph() *graph.Graph { return s.g }

// Stats reports what the load-time rewrites changed.
func (s *Session) Stats() graph.Stats { return s.stats }

// Device describes the GPU the session runs on.
func (s *Session) Device() DeviceInfo { return s.d.info }

// planRelease: for every slot a step produces, the step after which its
// buffer is dead (its last reader, views included). Graph outputs and
// constants are never released.
func (s *Session) planRelease() {
	base := make([]int, s.nslots)
	for i := range base {
		base[i] = i
	}
	for _, st := range s.steps {
		if viewOps[st.node.Op] && len(st.in) > 0 && st.in[0] >= 0 && len(st.out) > 0 && st.out[0] >= 0 {
			base[st.out[0]] = base[st.in[0]]
		}
	}
	keep := map[int]bool{}
	for _, o := range s.outputs {
		keep[base[o]] = true
	}
	last := map[int]int{}
	for i, st := range s.steps {
		for _, in := range st.in {
			if in >= 0 {
				last[base[in]] = i
			}
		}
		for _, out := range st.out {
			if out >= 0 {
				if _, ok := last[base[out]]; !ok {
					last[base[out]] = i // produced, never read
				}
			}
		}
	}
	for b, i := range last {
		if !keep[b] {
			s.steps[i].release = append(s.steps[i].release, b)
		}
	}
}

// Run executes the graph on the GPU. inputs are float32 tensors by graph
// input name; the returned tensors are the caller's.
func (s *Session) Run(ctx context.Context, inputs map[string]*nn.Tensor) (map[string]*nn.Tensor, error) {
	if s == nil {
		return nil, nn.ErrClosed
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, nn.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for name := range inputs {
		if !s.isInput(name) {
			return nil, fmt.Errorf("%w: the model has no input %q (inputs: %v)", nn.ErrInputShape, name, s.inputNames())
		}
	}
	for _, in := range s.inputs {
		t, ok := inputs[in.info.Name]
		if !ok {
			if in.override {
				continue
			}
			return nil, fmt.Errorf("%w: missing input %q", nn.ErrInputShape, in.info.Name)
		}
		if err := checkInput(in.info, t); err != nil {
			return nil, err
		}
	}
	var outs map[string]*nn.Tensor
	err := s.d.do(func() error {
		s.mu.Lock()
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return nn.ErrClosed
		}
		var err error
		outs, err = s.run(ctx, inputs)
		return err
	})
	return outs, err
}

// run is Run on the device thread.
func (s *Session) run(ctx context.Context, inputs map[string]*nn.Tensor) (map[string]*nn.Tensor, error) {
	vals := make([]*dval, s.nslots)
	defer s.recycle(vals, nil)
	if err := s.upload(vals, inputs); err != nil {
		return nil, err
	}
	if err := s.forward(ctx, vals, nil); err != nil {
		return nil, err
	}
	return s.download(vals)
}

// recycle gives the pool buffers still held by vals back, except those in
// keep.
func (s *Session) recycle(vals []*dval, keep map[*dval]bool) {
	for _, v := range vals {
		if v != nil && v.class > 0 && !keep[v] {
			s.pool.put(v.ptr, v.class)
			v.class = 0
		}
	}
}

// upload fills vals with the constants and the fed inputs (copied to pool
// buffers).
func (s *Session) upload(vals []*dval, inputs map[string]*nn.Tensor) error {
	copy(vals, s.consts)
	for _, in := range s.inputs {
		t, ok := inputs[in.info.Name]
		if !ok {
			continue
		}
		f := t.F32()
		v := &dval{shape: append([]int(nil), t.Shape...)}
		ptr, class, err := s.pool.get(int64(4 * len(f)))
		if err != nil {
			return err
		}
		v.ptr, v.class = ptr, class
		vals[in.slot] = v
		if len(f) > 0 {
			if err := cu.MemcpyHtoD(ptr, unsafe.Pointer(&f[0]), int64(4*len(f))); err != nil {
				return fmt.Errorf("gpu: uploading input %q: %w", in.info.Name, err)
			}
		}
	}
	return nil
}

// forward runs the steps over vals; buffers in keep are never given back
// to the pool (resident inputs of the benchmark).
func (s *Session) forward(ctx context.Context, vals []*dval, keep map[*dval]bool) error {
	return s.forwardProf(ctx, vals, keep, nil)
}

// forwardProf is forward; with prof non-nil it synchronises after every
// step and adds the step's time to prof under its operator's name.
func (s *Session) forwardProf(ctx context.Context, vals []*dval, keep map[*dval]bool, prof map[string]time.Duration) error {
	x := &exec{s: s, vals: vals}
	for _, st := range s.steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		x.st = st
		ins := make([]*dval, len(st.in))
		for i, slot := range st.in {
			if slot >= 0 {
				ins[i] = vals[slot]
				if ins[i] == nil {
					return fmt.Errorf("%v: input %q has no value", st.node, st.node.Inputs[i])
				}
			}
		}
		var t0 time.Time
		if prof != nil {
			t0 = time.Now()
		}
		err := st.op(x, ins)
		x.dropScratch()
		if prof != nil && err == nil {
			err = cu.Synchronize()
			prof[profName(st.node)] += time.Since(t0)
		}
		if err != nil {
			return fmt.Errorf("%v (opset %d): %w", st.node, s.g.Opset, err)
		}
		for _, b := range st.release {
			if v := vals[b]; v != nil && v.class > 0 && !keep[v] {
				s.pool.put(v.ptr, v.class)
				v.class = 0
			}
		}
	}
	return nil
}

func profName(n *graph.Node) string {
	name := n.Op
	if n.Op == "Conv" {
		switch {
		case n.Int("group", 1) > 1:
			name += " grouped"
		case len(n.Ints("kernel_shape")) == 2 && n.Ints("kernel_shape")[0] == 1 && n.Ints("kernel_shape")[1] == 1:
			name += " 1x1"
		}
	}
	return name
}

// Profile runs iters forward passes over device-resident inputs,
// synchronising after each step, and returns the mean time per pass spent
// in each operator (a diagnostic: the synchronisation adds a little to
// each step).
func (s *Session) Profile(ctx context.Context, inputs map[string]*nn.Tensor, iters int) (map[string]time.Duration, error) {
	prof := map[string]time.Duration{}
	err := s.d.do(func() error {
		base := make([]*dval, s.nslots)
		defer s.recycle(base, nil)
		if err := s.upload(base, inputs); err != nil {
			return err
		}
		keep := map[*dval]bool{}
		for _, v := range base {
			if v != nil && v.class > 0 {
				keep[v] = true
			}
		}
		vals := make([]*dval, s.nslots)
		for i := 0; i <= iters; i++ {
			p := prof
			if i == 0 {
				p = map[string]time.Duration{} // warm-up
			}
			copy(vals, base)
			err := s.forwardProf(ctx, vals, keep, p)
			s.recycle(vals, keep)
			if err != nil {
				return err
			}
		}
		return nil
	})
	for k := range prof {
		prof[k] /= time.Duration(max(1, iters))
	}
	return prof, err
}

// download copies the graph outputs to new host tensors.
func (s *Session) download(vals []*dval) (map[string]*nn.Tensor, error) {
	out := make(map[string]*nn.Tensor, len(s.outputs))
	for i, slot := range s.outputs {
		v := vals[slot]
		name := s.g.Outputs[i].Name
		if v == nil {
			return nil, fmt.Errorf("gpu: output %q was not produced", name)
		}
		if v.host != nil && v.ptr == 0 {
			out[name] = v.host.Clone()
			continue
		}
		t := nn.NewTensor(nn.Float32, v.shape...)
		if f := t.F32(); len(f) > 0 {
			if err := cu.MemcpyDtoH(unsafe.Pointer(&f[0]), v.ptr, int64(4*len(f))); err != nil {
				return nil, fmt.Errorf("gpu: downloading output %q: %w", name, err)
			}
		}
		out[name] = t
	}
	return out, nil
}

// ModelOnly times iters forward passes over inputs already on the device
// (uploaded once, outputs not downloaded): the GPU's model-only rate, the
// reference for the fraction a pipeline keeps busy. It returns the mean
// time of one pass.
func (s *Session) ModelOnly(ctx context.Context, inputs map[string]*nn.Tensor, iters int) (time.Duration, error) {
	for _, in := range s.inputs {
		if t, ok := inputs[in.info.Name]; ok {
			if err := checkInput(in.info, t); err != nil {
				return 0, err
			}
		} else if !in.override {
			return 0, fmt.Errorf("%w: missing input %q", nn.ErrInputShape, in.info.Name)
		}
	}
	iters = max(1, iters)
	var mean time.Duration
	err := s.d.do(func() error {
		base := make([]*dval, s.nslots)
		defer s.recycle(base, nil)
		if err := s.upload(base, inputs); err != nil {
			return err
		}
		keep := map[*dval]bool{}
		for _, v := range base {
			if v != nil && v.class > 0 {
				keep[v] = true
			}
		}
		vals := make([]*dval, s.nslots)
		pass := func() error {
			copy(vals, base)
			err := s.forward(ctx, vals, keep)
			s.recycle(vals, keep)
			return err
		}
		if err := pass(); err != nil { // warm-up: pool buffers, index maps
			return err
		}
		if err := cu.Synchronize(); err != nil {
			return err
		}
		t0 := time.Now()
		for i := 0; i < iters; i++ {
			if err := pass(); err != nil {
				return err
			}
		}
		if err := cu.Synchronize(); err != nil {
			return err
		}
		mean = time.Since(t0) / time.Duration(iters)
		return nil
	})
	return mean, err
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
		names = append(names, in.info.Name)
	}
	return names
}

func checkInput(info graph.ValueInfo, t *nn.Tensor) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("%w: input %q: %w", nn.ErrInputShape, info.Name, err)
	}
	if t.DType != nn.Float32 {
		return fmt.Errorf("%w: input %q is %v, the GPU backend takes float32", nn.ErrInputShape, info.Name, t.DType)
	}
	if info.Shape != nil {
		ok := len(info.Shape) == len(t.Shape)
		for i := 0; ok && i < len(info.Shape); i++ {
			ok = info.Shape[i] < 0 || info.Shape[i] == t.Shape[i]
		}
		if !ok {
			return fmt.Errorf("%w: input %q has shape %v, the model wants %v", nn.ErrInputShape, info.Name, t.Shape, info.Shape)
		}
	}
	return nil
}

// Close frees the session's device memory. It is idempotent and nil-safe;
// Run after Close returns nn.ErrClosed.
func (s *Session) Close() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	if s.d == nil {
		return nil
	}
	return s.d.do(func() error {
		s.pool.release()
		for _, p := range s.constMem {
			cu.MemFree(p)
		}
		s.constMem = nil
		for _, st := range s.steps {
			for _, p := range st.cache {
				cu.MemFree(p)
			}
			st.cache = nil
		}
		return nil
	})
}

// exec is one step's view of a run.
type exec struct {
	s       *Session
	st      *step
	vals    []*dval
	scratch []*dval
}

func (x *exec) check(shape []int) error {
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return shapeErr("negative dimension in %v", shape)
		}
		n *= int64(d)
		if n > x.s.maxElems {
			return fmt.Errorf("%w: shape %v exceeds %d elements", nn.ErrTooLarge, shape, x.s.maxElems)
		}
	}
	return nil
}

// out allocates output i of the step from the pool.
func (x *exec) out(i int, shape []int) (*dval, error) {
	if err := x.check(shape); err != nil {
		return nil, err
	}
	v := &dval{shape: append([]int(nil), shape...)}
	ptr, class, err := x.s.pool.get(int64(4 * nn.NumElements(shape)))
	if err != nil {
		return nil, err
	}
	v.ptr, v.class = ptr, class
	if slot := x.st.out[i]; slot >= 0 {
		x.vals[slot] = v
	} else {
		x.scratch = append(x.scratch, v)
	}
	return v, nil
}

// view sets output i to in's data under another shape.
func (x *exec) view(i int, in *dval, shape []int) {
	if slot := x.st.out[i]; slot >= 0 {
		x.vals[slot] = &dval{shape: append([]int(nil), shape...), ptr: in.ptr, host: nil}
	}
}

// tmp takes an n-float scratch buffer, given back after the step.
func (x *exec) tmp(n int64) (cu.DevicePtr, error) {
	ptr, class, err := x.s.pool.get(4 * n)
	if err != nil {
		return 0, err
	}
	x.scratch = append(x.scratch, &dval{ptr: ptr, class: class})
	return ptr, nil
}

func (x *exec) dropScratch() {
	for _, v := range x.scratch {
		if v.class > 0 {
			x.s.pool.put(v.ptr, v.class)
			v.class = 0
		}
	}
	x.scratch = x.scratch[:0]
}

// cached returns the step's device buffer for key, building it with
// build (4-byte host data, []int32 or []float32, uploaded once) on first
// use.
func (x *exec) cached(key string, build func() (unsafe.Pointer, int)) (cu.DevicePtr, error) {
	if p, ok := x.st.cache[key]; ok {
		return p, nil
	}
	data, n := build()
	if n == 0 {
		z := int32(0)
		data, n = unsafe.Pointer(&z), 1
	}
	p, err := cu.MemAlloc(int64(4 * n))
	if err != nil {
		return 0, err
	}
	if err := cu.MemcpyHtoD(p, data, int64(4*n)); err != nil {
		cu.MemFree(p)
		return 0, err
	}
	if x.st.cache == nil {
		x.st.cache = map[string]cu.DevicePtr{}
	}
	x.st.cache[key] = p
	return p, nil
}
