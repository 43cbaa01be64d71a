//go:build cuda

package gpu

import (
	_ "embed"
	"fmt"
	"math"
	"runtime"
	"sync"
	"unsafe"

	"gonum.org/v1/gonum/blas"
	"gorgonia.org/cu"
	cublas "gorgonia.org/cu/blas"
)

// Built reports whether this binary has the CUDA backend.
const Built = true

//go:embed kernels.ptx
var ptx string

// kernelNames are the entry points of kernels.ptx.
var kernelNames = []string{
	"im2col", "conv_epilogue", "conv_epilogue_wide", "conv_direct", "pool2d", "plane_reduce", "in_partial", "in_final", "in_apply", "channel_affine",
	"unary", "binary", "add_same", "copy_block", "gather4", "gemm_bias", "fill",
}

// device is one GPU: a worker goroutine locked to an OS thread owns its
// context, module and cuBLAS handle, and runs every call on it.
type device struct {
	ordinal int
	info    DeviceInfo
	work    chan func()
	ctx     cu.CUContext
	mod     cu.Module
	fns     map[string]cu.Function
	blas    *cublas.Standard
	tf32    bool // the handle's current math mode
}

var devices struct {
	sync.Mutex
	m    map[int]*device
	errs map[int]error
}

// getDevice returns the device of ordinal, starting its worker on first use.
func getDevice(ordinal int) (*device, error) {
	devices.Lock()
	defer devices.Unlock()
	if d, ok := devices.m[ordinal]; ok {
		return d, nil
	}
	if err, ok := devices.errs[ordinal]; ok {
		return nil, err
	}
	if devices.m == nil {
		devices.m, devices.errs = map[int]*device{}, map[int]error{}
	}
	d := &device{ordinal: ordinal, work: make(chan func()), fns: map[string]cu.Function{}}
	ready := make(chan error)
	go d.loop(ready)
	if err := <-ready; err != nil {
		devices.errs[ordinal] = err
		return nil, err
	}
	devices.m[ordinal] = d
	return d, nil
}

func (d *device) loop(ready chan<- error) {
	runtime.LockOSThread()
	if err := d.init(); err != nil {
		ready <- err
		return
	}
	ready <- nil
	for f := range d.work {
		f()
	}
}

func (d *device) init() (err error) {
	n, err := cu.NumDevices()
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoDevice, err)
	}
	if n == 0 {
		return ErrNoDevice
	}
	if d.ordinal < 0 || d.ordinal >= n {
		return fmt.Errorf("%w: device %d asked for, %d present", ErrNoDevice, d.ordinal, n)
	}
	info, err := describe(d.ordinal)
	if err != nil {
		return err
	}
	d.info = info
	dev, err := cu.GetDevice(d.ordinal)
	if err != nil {
		return fmt.Errorf("gpu: device %d: %w", d.ordinal, err)
	}
	if d.ctx, err = dev.MakeContext(cu.SchedAuto); err != nil {
		return fmt.Errorf("gpu: device %d: creating a context: %w", d.ordinal, err)
	}
	if d.mod, err = cu.LoadData(ptx); err != nil {
		return fmt.Errorf("gpu: device %d: loading the kernels' PTX: %w", d.ordinal, err)
	}
	for _, name := range kernelNames {
		f, err := d.mod.Function(name)
		if err != nil {
			return fmt.Errorf("gpu: kernel %s: %w", name, err)
		}
		d.fns[name] = f
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("gpu: device %d: creating the cuBLAS handle: %v", d.ordinal, r)
		}
	}()
	d.blas = cublas.New()
	return nil
}

func describe(ordinal int) (DeviceInfo, error) {
	dev, err := cu.GetDevice(ordinal)
	if err != nil {
		return DeviceInfo{}, fmt.Errorf("gpu: device %d: %w", ordinal, err)
	}
	name, err := dev.Name()
	if err != nil {
		return DeviceInfo{}, fmt.Errorf("gpu: device %d: %w", ordinal, err)
	}
	mem, err := dev.TotalMem()
	if err != nil {
		return DeviceInfo{}, fmt.Errorf("gpu: device %d: %w", ordinal, err)
	}
	maj, err := dev.Attribute(cu.ComputeCapabilityMajor)
	if err != nil {
		return DeviceInfo{}, fmt.Errorf("gpu: device %d: %w", ordinal, err)
	}
	minor, err := dev.Attribute(cu.ComputeCapabilityMinor)
	if err != nil {
		return DeviceInfo{}, fmt.Errorf("gpu: device %d: %w", ordinal, err)
	}
	return DeviceInfo{Ordinal: ordinal, Name: name, MemBytes: mem, Major: maj, Minor: minor}, nil
}

// Available reports whether device 0 can be used (nil), or why not.
func Available() error {
	_, err := getDevice(0)
	return err
}

// Devices lists the CUDA devices the driver reports.
func Devices() ([]DeviceInfo, error) {
	n, err := cu.NumDevices()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoDevice, err)
	}
	out := make([]DeviceInfo, 0, n)
	for i := 0; i < n; i++ {
		info, err := describe(i)
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// do runs f on the device's thread and returns its error; a panic in f
// becomes an error.
func (d *device) do(f func() error) error {
	done := make(chan error, 1)
	d.work <- func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("gpu: device %d: %v", d.ordinal, r)
			}
		}()
		done <- f()
	}
	return <-done
}

// Kernel arguments are passed as 8-byte slots: pointers, int64 values, and
// ints/floats in the low bytes (the slot is read little-endian by the
// driver for a 4-byte parameter).
func pArg(p cu.DevicePtr) uint64 { return uint64(p) }
func iArg(v int) uint64          { return uint64(int64(v)) }
func fArg(v float32) uint64      { return uint64(math.Float32bits(v)) }

const blockSize = 256

// launch runs a grid-stride kernel over n elements.
func (d *device) launch(name string, n int64, args ...uint64) error {
	if n <= 0 {
		return nil
	}
	grid := (n + blockSize - 1) / blockSize
	if grid > 1<<20 {
		grid = 1 << 20
	}
	return d.launchGrid(name, int(grid), blockSize, args...)
}

// launchGrid runs a kernel with an explicit grid (1-D) and block.
func (d *device) launchGrid(name string, grid, block int, args ...uint64) error {
	f, ok := d.fns[name]
	if !ok {
		return fmt.Errorf("gpu: no kernel %q", name)
	}
	params := make([]unsafe.Pointer, len(args))
	for i := range args {
		params[i] = unsafe.Pointer(&args[i])
	}
	if err := f.Launch(grid, 1, 1, block, 1, 1, 0, cu.Stream{}, params); err != nil {
		return fmt.Errorf("gpu: launching %s: %w", name, err)
	}
	return nil
}

// devSlice presents n float32 of device memory as a slice for the cuBLAS
// binding, which takes slices and passes &s[0] to C. The slice must never
// be read or written by Go code.
func devSlice(p cu.DevicePtr, n int) []float32 {
	u := uintptr(p)
	return unsafe.Slice(*(**float32)(unsafe.Pointer(&u)), n)
}

// sgemm computes, in cuBLAS's column-major terms,
// C[m×n] = alpha·op(A)·op(B) + beta·C.
func (d *device) sgemm(tf32, tA, tB bool, m, n, k int, alpha float32, a cu.DevicePtr, lda int, b cu.DevicePtr, ldb int,
	beta float32, c cu.DevicePtr, ldc int) error {
	if m == 0 || n == 0 {
		return nil
	}
	if tf32 != d.tf32 {
		if err := setTF32(d.blas, tf32); err != nil {
			return err
		}
		d.tf32 = tf32
	}
	ta, tb := blas.NoTrans, blas.NoTrans
	if tA {
		ta = blas.Trans
	}
	if tB {
		tb = blas.Trans
	}
	d.blas.Sgemm(ta, tb, m, n, k, alpha, devSlice(a, 1), lda, devSlice(b, 1), ldb, beta, devSlice(c, 1), ldc)
	if err := d.blas.Err(); err != nil {
		// The binding keeps the first error and ignores later calls: a
		// failed handle is replaced.
		d.blas.Close()
		d.blas = cublas.New()
		d.tf32 = false
		return fmt.Errorf("gpu: cuBLAS Sgemm(%d×%d×%d): %w", m, n, k, err)
	}
	return nil
}

// sgemmBatched is sgemmStridedBatched on the device's handle, in the
// handle's math mode for tf32.
func (d *device) sgemmBatched(tf32 bool, m, n, k int, a cu.DevicePtr, lda int, strideA int64, b cu.DevicePtr, ldb int,
	strideB int64, c cu.DevicePtr, ldc int, strideC int64, count int) error {
	if m == 0 || n == 0 || count == 0 {
		return nil
	}
	if tf32 != d.tf32 {
		if err := setTF32(d.blas, tf32); err != nil {
			return err
		}
		d.tf32 = tf32
	}
	return sgemmStridedBatched(d.blas, false, false, m, n, k, 1, a, lda, strideA, b, ldb, strideB, 0, c, ldc, strideC, count)
}

// memory pool -----------------------------------------------------------

// sizeClass rounds a byte count up to 2^k or 1.5·2^k (at least 256 bytes),
// so buffers of similar sizes are shared with at most 50% slack.
func sizeClass(b int64) int64 {
	if b <= 256 {
		return 256
	}
	p := int64(256)
	for p < b {
		if p+p/2 >= b {
			return p + p/2
		}
		p *= 2
	}
	return p
}

// pool keeps device buffers by size class for reuse across runs. Used on
// the device thread only.
type pool struct {
	free  map[int64][]cu.DevicePtr
	all   []cu.DevicePtr
	bytes int64
}

func (p *pool) get(bytes int64) (cu.DevicePtr, int64, error) {
	c := sizeClass(bytes)
	if l := p.free[c]; len(l) > 0 {
		ptr := l[len(l)-1]
		p.free[c] = l[:len(l)-1]
		return ptr, c, nil
	}
	ptr, err := cu.MemAlloc(c)
	if err != nil {
		// Drop the cached buffers and try once more.
		p.trim()
		if ptr, err = cu.MemAlloc(c); err != nil {
			return 0, 0, fmt.Errorf("gpu: allocating %d bytes (%d held by this session): %w", c, p.bytes, err)
		}
	}
	p.all = append(p.all, ptr)
	p.bytes += c
	return ptr, c, nil
}

func (p *pool) put(ptr cu.DevicePtr, class int64) {
	if p.free == nil {
		p.free = map[int64][]cu.DevicePtr{}
	}
	p.free[class] = append(p.free[class], ptr)
}

// trim frees the buffers not in use.
func (p *pool) trim() {
	inUse := map[cu.DevicePtr]bool{}
	for _, ptr := range p.all {
		inUse[ptr] = true
	}
	for c, l := range p.free {
		for _, ptr := range l {
			cu.MemFree(ptr)
			delete(inUse, ptr)
			p.bytes -= c
		}
	}
	p.free = map[int64][]cu.DevicePtr{}
	p.all = p.all[:0]
	for ptr := range inUse {
		p.all = append(p.all, ptr)
	}
}

// release frees every buffer of the pool.
func (p *pool) release() {
	for _, ptr := range p.all {
		cu.MemFree(ptr)
	}
	p.all, p.free, p.bytes = nil, nil, 0
}
