package pth

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"path"
	"regexp"
	"strings"
)

// Tensor is one named tensor of a checkpoint, converted to float32 and laid out contiguously
// (row-major) whatever its strides in the file.
type Tensor struct {
	Name  string
	DType string // the dtype stored in the file: float32, float64, float16, bfloat16, int64, ...
	Shape []int
	Data  []float32
}

// StateDict is the tensors of a checkpoint, in file order.
type StateDict struct {
	Names   []string
	Tensors map[string]*Tensor
}

// MaxElements bounds one tensor's element count (1 GiB of float32).
const MaxElements = 1 << 28

// LoadFile reads a checkpoint file in either serialization.
func LoadFile(name string) (*StateDict, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("pth: %w", err)
	}
	sd, err := Read(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return sd, nil
}

// Read parses a checkpoint held in memory.
func Read(b []byte) (*StateDict, error) {
	if len(b) >= 4 && string(b[:4]) == "PK\x03\x04" {
		return readZip(b)
	}
	return readLegacy(b)
}

// dtypes of the torch storage classes.
var storageTypes = map[string]struct {
	dtype string
	size  int
}{
	"FloatStorage": {"float32", 4}, "DoubleStorage": {"float64", 8}, "HalfStorage": {"float16", 2},
	"BFloat16Storage": {"bfloat16", 2}, "LongStorage": {"int64", 8}, "IntStorage": {"int32", 4},
	"ShortStorage": {"int16", 2}, "CharStorage": {"int8", 1}, "ByteStorage": {"uint8", 1},
	"BoolStorage": {"bool", 1},
}

type storage struct {
	key   string
	dtype string
	esize int
	numel int64
	data  []byte // numel*esize bytes once loaded
}

type storageView struct {
	root   *storage
	offset int64 // elements
	numel  int64
}

type tensorRef struct {
	st     storageView
	offset int64
	size   []int64
	stride []int64
}

type loader struct {
	storages map[string]*storage
	// zip: where storage bytes live
	files map[string]*zip.File
	dir   string
}

func (l *loader) storageOf(pid any, legacy bool) (any, error) {
	t, ok := pid.(tuple)
	if !ok || len(t) < 5 {
		return nil, fmt.Errorf("%w: persistent id %v", ErrFormat, pid)
	}
	if kind, _ := t[0].(string); kind != "storage" {
		return nil, fmt.Errorf("%w: persistent id of kind %v", ErrUnsupported, t[0])
	}
	g, ok := t[1].(global)
	if !ok {
		return nil, fmt.Errorf("%w: storage type %v", ErrFormat, t[1])
	}
	info, ok := storageTypes[g.name]
	if !ok || !strings.HasPrefix(g.module, "torch") {
		return nil, fmt.Errorf("%w: storage type %s.%s", ErrUnsupported, g.module, g.name)
	}
	key, ok := t[2].(string)
	if !ok {
		return nil, fmt.Errorf("%w: storage key %v", ErrFormat, t[2])
	}
	numel, ok := t[4].(int64)
	if !ok || numel < 0 {
		return nil, fmt.Errorf("%w: storage size %v", ErrFormat, t[4])
	}
	st, seen := l.storages[key]
	if !seen {
		st = &storage{key: key, dtype: info.dtype, esize: info.size, numel: numel}
		l.storages[key] = st
	} else if st.dtype != info.dtype {
		return nil, fmt.Errorf("%w: storage %s used as %s and %s", ErrFormat, key, st.dtype, info.dtype)
	}
	v := storageView{root: st, numel: numel}
	if legacy && len(t) >= 6 && t[5] != nil {
		vm, ok := t[5].(tuple)
		if !ok || len(vm) < 2 {
			return nil, fmt.Errorf("%w: view metadata %v", ErrFormat, t[5])
		}
		off, ok1 := vm[0].(int64)
		n, ok2 := vm[1].(int64)
		if !ok1 || !ok2 || off < 0 || n < 0 {
			return nil, fmt.Errorf("%w: view metadata %v", ErrFormat, t[5])
		}
		v.offset, v.numel = off, n
	}
	return v, nil
}

func ints(v any) ([]int64, bool) {
	t, ok := v.(tuple)
	if !ok {
		return nil, false
	}
	out := make([]int64, len(t))
	for i, x := range t {
		n, ok := x.(int64)
		if !ok {
			return nil, false
		}
		out[i] = n
	}
	return out, true
}

// call builds the few objects a checkpoint may construct.
func call(g global, args tuple) (any, error) {
	switch g.module + "." + g.name {
	case "collections.OrderedDict", "builtins.dict", "__builtin__.dict":
		return newDict(), nil
	case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
		if len(args) < 4 {
			return nil, fmt.Errorf("%w: %s with %d arguments", ErrFormat, g.name, len(args))
		}
		st, ok := args[0].(storageView)
		if !ok {
			return nil, fmt.Errorf("%w: tensor without storage", ErrFormat)
		}
		off, ok := args[1].(int64)
		size, ok2 := ints(args[2])
		stride, ok3 := ints(args[3])
		if !ok || !ok2 || !ok3 || len(size) != len(stride) || off < 0 {
			return nil, fmt.Errorf("%w: tensor geometry %v %v %v", ErrFormat, args[1], args[2], args[3])
		}
		return &tensorRef{st: st, offset: off, size: size, stride: stride}, nil
	case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
		if len(args) < 1 {
			return nil, fmt.Errorf("%w: parameter without data", ErrFormat)
		}
		return args[0], nil
	}
	return nil, fmt.Errorf("%w: the checkpoint calls %s.%s", ErrUnsupported, g.module, g.name)
}

func readZip(b []byte) (*StateDict, error) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	l := &loader{storages: map[string]*storage{}, files: map[string]*zip.File{}}
	var pkl *zip.File
	for _, f := range zr.File {
		l.files[f.Name] = f
		if path.Base(f.Name) == "data.pkl" && strings.Count(f.Name, "/") == 1 {
			pkl = f
			l.dir = path.Dir(f.Name)
		}
	}
	if pkl == nil {
		return nil, fmt.Errorf("%w: zip archive without data.pkl", ErrFormat)
	}
	if bo, ok := l.files[l.dir+"/byteorder"]; ok {
		if s, err := readZipFile(bo, 16); err != nil || strings.TrimSpace(string(s)) != "little" {
			return nil, fmt.Errorf("%w: byte order %q", ErrUnsupported, s)
		}
	}
	data, err := readZipFile(pkl, int64(len(b))*64)
	if err != nil {
		return nil, err
	}
	u := &unpickler{data: data, call: call, persist: func(pid any) (any, error) { return l.storageOf(pid, false) }}
	obj, err := u.run()
	if err != nil {
		return nil, err
	}
	for key, st := range l.storages {
		f, ok := l.files[l.dir+"/data/"+key]
		if !ok {
			return nil, fmt.Errorf("%w: storage %s missing from the archive", ErrFormat, key)
		}
		want := st.numel * int64(st.esize)
		if int64(f.UncompressedSize64) != want || want < 0 {
			return nil, fmt.Errorf("%w: storage %s has %d bytes, want %d", ErrFormat, key, f.UncompressedSize64, want)
		}
		if st.data, err = readZipFile(f, want); err != nil {
			return nil, err
		}
	}
	return collect(obj)
}

func readZipFile(f *zip.File, limit int64) ([]byte, error) {
	if int64(f.UncompressedSize64) > limit {
		return nil, fmt.Errorf("%w: %s claims %d bytes", ErrFormat, f.Name, f.UncompressedSize64)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrFormat, f.Name, err)
	}
	defer rc.Close()
	buf := make([]byte, f.UncompressedSize64)
	n, err := io.ReadFull(rc, buf)
	if err != nil || n != len(buf) {
		return nil, fmt.Errorf("%w: %s: %v", ErrFormat, f.Name, err)
	}
	return buf, nil
}

var legacyMagic, _ = new(big.Int).SetString("1950a86a20f9469cfc6c", 16)

func readLegacy(b []byte) (*StateDict, error) {
	l := &loader{storages: map[string]*storage{}}
	pos := 0
	next := func(persist bool) (any, error) {
		u := &unpickler{data: b[pos:], call: call}
		if persist {
			u.persist = func(pid any) (any, error) { return l.storageOf(pid, true) }
		}
		v, err := u.run()
		pos += u.pos
		return v, err
	}
	magic, err := next(false)
	if err != nil {
		return nil, fmt.Errorf("%w (neither a zip archive nor a legacy stream): %v", ErrFormat, err)
	}
	if m, ok := magic.(*big.Int); !ok || m.Cmp(legacyMagic) != 0 {
		return nil, fmt.Errorf("%w: no PyTorch magic number", ErrFormat)
	}
	if proto, err := next(false); err != nil {
		return nil, err
	} else if p, ok := proto.(int64); !ok || p != 1001 {
		return nil, fmt.Errorf("%w: legacy protocol %v", ErrUnsupported, proto)
	}
	if _, err := next(false); err != nil { // sys_info
		return nil, err
	}
	obj, err := next(true)
	if err != nil {
		return nil, err
	}
	keysV, err := next(false)
	if err != nil {
		return nil, err
	}
	keys, ok := keysV.(*list)
	if !ok {
		return nil, fmt.Errorf("%w: storage key list is a %T", ErrFormat, keysV)
	}
	for _, k := range keys.items {
		key, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("%w: storage key %v", ErrFormat, k)
		}
		st, ok := l.storages[key]
		if !ok {
			return nil, fmt.Errorf("%w: storage %s listed but never used", ErrFormat, key)
		}
		if pos+8 > len(b) {
			return nil, fmt.Errorf("%w: truncated before storage %s", ErrFormat, key)
		}
		n := int64(binary.LittleEndian.Uint64(b[pos:]))
		pos += 8
		if n != st.numel {
			return nil, fmt.Errorf("%w: storage %s has %d elements, the pickle says %d", ErrFormat, key, n, st.numel)
		}
		size := n * int64(st.esize)
		if n < 0 || size/int64(st.esize) != n || size > int64(len(b)-pos) {
			return nil, fmt.Errorf("%w: storage %s (%d elements) is truncated", ErrFormat, key, n)
		}
		st.data = b[pos : pos+int(size)]
		pos += int(size)
	}
	return collect(obj)
}

// collect finds the state dict in the unpickled object and materialises its tensors.
func collect(obj any) (*StateDict, error) {
	d, ok := obj.(*dict)
	if !ok {
		return nil, fmt.Errorf("%w: the checkpoint holds a %T, not a state dict", ErrUnsupported, obj)
	}
	sd := &StateDict{Tensors: map[string]*Tensor{}}
	for _, k := range d.keys {
		name, _ := k.(string)
		ref, ok := d.vals[k].(*tensorRef)
		if !ok || name == "" {
			continue
		}
		t, err := materialise(name, ref)
		if err != nil {
			return nil, err
		}
		sd.Names = append(sd.Names, name)
		sd.Tensors[name] = t
	}
	if len(sd.Names) == 0 {
		for _, k := range []string{"state_dict", "model", "model_state_dict"} {
			if inner, ok := d.vals[k].(*dict); ok {
				return collect(inner)
			}
		}
		return nil, fmt.Errorf("%w: no tensors found", ErrFormat)
	}
	return sd, nil
}

func materialise(name string, r *tensorRef) (*Tensor, error) {
	st := r.st.root
	if st.data == nil {
		return nil, fmt.Errorf("%w: tensor %s: storage %s has no data", ErrFormat, name, st.key)
	}
	if r.st.offset+r.st.numel > st.numel {
		return nil, fmt.Errorf("%w: tensor %s: view beyond its storage", ErrFormat, name)
	}
	shape := make([]int, len(r.size))
	count := int64(1)
	maxIdx := r.offset
	for i, s := range r.size {
		if s < 0 || r.stride[i] < 0 {
			return nil, fmt.Errorf("%w: tensor %s: negative size or stride", ErrFormat, name)
		}
		shape[i] = int(s)
		if s == 0 {
			count = 0
		} else if count != 0 {
			if count > MaxElements/s {
				return nil, fmt.Errorf("%w: tensor %s has more than %d elements", ErrFormat, name, MaxElements)
			}
			count *= s
			maxIdx += (s - 1) * r.stride[i]
		}
	}
	// Broadcast (stride 0) tensors may be larger than their storage, but not without bound: a
	// small file must not make a large allocation.
	if count > 64*r.st.numel+1<<16 {
		return nil, fmt.Errorf("%w: tensor %s has %d elements over a %d-element storage", ErrFormat, name, count, r.st.numel)
	}
	if count > 0 && maxIdx >= r.st.numel {
		return nil, fmt.Errorf("%w: tensor %s reaches element %d of a %d-element storage", ErrFormat, name, maxIdx, r.st.numel)
	}
	t := &Tensor{Name: name, DType: st.dtype, Shape: shape, Data: make([]float32, count)}
	idx := make([]int64, len(shape))
	for n := int64(0); n < count; n++ {
		e := r.st.offset + r.offset
		for i := range idx {
			e += idx[i] * r.stride[i]
		}
		t.Data[n] = element(st, e)
		for i := len(idx) - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < r.size[i] {
				break
			}
			idx[i] = 0
		}
	}
	return t, nil
}

func element(st *storage, e int64) float32 {
	b := st.data[e*int64(st.esize):]
	switch st.dtype {
	case "float32":
		return math.Float32frombits(binary.LittleEndian.Uint32(b))
	case "float64":
		return float32(math.Float64frombits(binary.LittleEndian.Uint64(b)))
	case "float16":
		return halfToFloat(binary.LittleEndian.Uint16(b))
	case "bfloat16":
		return math.Float32frombits(uint32(binary.LittleEndian.Uint16(b)) << 16)
	case "int64":
		return float32(int64(binary.LittleEndian.Uint64(b)))
	case "int32":
		return float32(int32(binary.LittleEndian.Uint32(b)))
	case "int16":
		return float32(int16(binary.LittleEndian.Uint16(b)))
	case "int8":
		return float32(int8(b[0]))
	default: // uint8, bool
		return float32(b[0])
	}
}

func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	frac := uint32(h) & 0x3ff
	switch {
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal
		f := float32(frac) / 1024 * float32(math.Pow(2, -14))
		if sign != 0 {
			return -f
		}
		return f
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	}
	return math.Float32frombits(sign | (exp+112)<<23 | frac<<13)
}

var staleInstanceNorm = regexp.MustCompile(`in\d+\.running_(mean|var)$`)

// DropStaleInstanceNormStats removes the running_mean / running_var entries of InstanceNorm layers
// (in1, in2, ...) that checkpoints saved before PyTorch 0.4 carry, as fast-neural-style's
// neural_style.py does before loading them. It returns the names removed.
func (sd *StateDict) DropStaleInstanceNormStats() []string {
	var dropped []string
	kept := sd.Names[:0]
	for _, n := range sd.Names {
		if staleInstanceNorm.MatchString(n) {
			dropped = append(dropped, n)
			delete(sd.Tensors, n)
			continue
		}
		kept = append(kept, n)
	}
	sd.Names = kept
	return dropped
}
