package nn

import (
	"fmt"
	"math"
	"strings"
)

// DType is a tensor's element type. Values equal ONNX's
// TensorProto.DataType numbers, so they convert directly.
type DType int32

// Element types. Float16 and BFloat16 are stored as their bit patterns.
const (
	Undefined DType = 0
	Float32   DType = 1
	Uint8     DType = 2
	Int8      DType = 3
	Uint16    DType = 4
	Int16     DType = 5
	Int32     DType = 6
	Int64     DType = 7
	String    DType = 8
	Bool      DType = 9
	Float16   DType = 10
	Float64   DType = 11
	Uint32    DType = 12
	Uint64    DType = 13
	BFloat16  DType = 16
)

var dtypeNames = map[DType]string{
	Float32: "float32", Uint8: "uint8", Int8: "int8", Uint16: "uint16", Int16: "int16",
	Int32: "int32", Int64: "int64", String: "string", Bool: "bool", Float16: "float16",
	Float64: "float64", Uint32: "uint32", Uint64: "uint64", BFloat16: "bfloat16",
}

func (d DType) String() string {
	if s, ok := dtypeNames[d]; ok {
		return s
	}
	return fmt.Sprintf("dtype(%d)", int32(d))
}

// Size is the size of one element in bytes (0 for String and unknown types).
func (d DType) Size() int {
	switch d {
	case Uint8, Int8, Bool:
		return 1
	case Uint16, Int16, Float16, BFloat16:
		return 2
	case Float32, Int32, Uint32:
		return 4
	case Float64, Int64, Uint64:
		return 8
	}
	return 0
}

// Half and BHalf are the storage types of Float16 and BFloat16 elements:
// the IEEE half / bfloat16 bit patterns.
type (
	Half  uint16
	BHalf uint16
)

// Tensor is a dense row-major tensor. Data holds a slice whose Go element
// type matches DType: []float32, []float64, []Half, []BHalf, []int8, []uint8,
// []int16, []uint16, []int32, []uint32, []int64, []uint64, []bool or
// []string. len(Data) equals the product of Shape (1 for a scalar, whose
// Shape is empty).
type Tensor struct {
	DType DType
	Shape []int
	Data  any
}

// NumElements returns the product of shape (1 for a scalar).
func NumElements(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Len is the number of elements of t.
func (t *Tensor) Len() int { return NumElements(t.Shape) }

// F32 returns the float32 data of t, or nil when t is not Float32.
func (t *Tensor) F32() []float32 { s, _ := t.Data.([]float32); return s }

// I64 returns the int64 data of t, or nil when t is not Int64.
func (t *Tensor) I64() []int64 { s, _ := t.Data.([]int64); return s }

// NewTensor allocates a zeroed tensor of the given type and shape.
func NewTensor(dt DType, shape ...int) *Tensor {
	return &Tensor{DType: dt, Shape: append([]int(nil), shape...), Data: MakeData(dt, NumElements(shape))}
}

// FromFloat32 wraps data (not copied) as a Float32 tensor.
func FromFloat32(data []float32, shape ...int) *Tensor {
	return &Tensor{DType: Float32, Shape: append([]int(nil), shape...), Data: data}
}

// FromInt64 wraps data (not copied) as an Int64 tensor.
func FromInt64(data []int64, shape ...int) *Tensor {
	return &Tensor{DType: Int64, Shape: append([]int(nil), shape...), Data: data}
}

// MakeData allocates a zeroed data slice of n elements for dt; nil for an
// unknown type.
func MakeData(dt DType, n int) any {
	switch dt {
	case Float32:
		return make([]float32, n)
	case Float64:
		return make([]float64, n)
	case Float16:
		return make([]Half, n)
	case BFloat16:
		return make([]BHalf, n)
	case Int8:
		return make([]int8, n)
	case Uint8:
		return make([]uint8, n)
	case Int16:
		return make([]int16, n)
	case Uint16:
		return make([]uint16, n)
	case Int32:
		return make([]int32, n)
	case Uint32:
		return make([]uint32, n)
	case Int64:
		return make([]int64, n)
	case Uint64:
		return make([]uint64, n)
	case Bool:
		return make([]bool, n)
	case String:
		return make([]string, n)
	}
	return nil
}

// DataLen returns the length of a data slice as accepted by Tensor.Data, or
// -1 when data is not one of those slice types.
func DataLen(data any) int {
	switch s := data.(type) {
	case []float32:
		return len(s)
	case []float64:
		return len(s)
	case []Half:
		return len(s)
	case []BHalf:
		return len(s)
	case []int8:
		return len(s)
	case []uint8:
		return len(s)
	case []int16:
		return len(s)
	case []uint16:
		return len(s)
	case []int32:
		return len(s)
	case []uint32:
		return len(s)
	case []int64:
		return len(s)
	case []uint64:
		return len(s)
	case []bool:
		return len(s)
	case []string:
		return len(s)
	}
	return -1
}

// Validate checks that t is internally consistent: non-negative dims, a
// Data slice of the right Go type and length.
func (t *Tensor) Validate() error {
	if t == nil {
		return fmt.Errorf("%w: nil tensor", ErrBadTensor)
	}
	for _, d := range t.Shape {
		if d < 0 {
			return fmt.Errorf("%w: negative dimension in shape %v", ErrBadTensor, t.Shape)
		}
	}
	want := MakeData(t.DType, 0)
	if want == nil {
		return fmt.Errorf("%w: unknown dtype %v", ErrBadTensor, t.DType)
	}
	if fmt.Sprintf("%T", want) != fmt.Sprintf("%T", t.Data) {
		return fmt.Errorf("%w: dtype %v with data of type %T", ErrBadTensor, t.DType, t.Data)
	}
	if n := DataLen(t.Data); n != t.Len() {
		return fmt.Errorf("%w: shape %v needs %d elements, data has %d", ErrBadTensor, t.Shape, t.Len(), n)
	}
	return nil
}

// Clone returns a deep copy of t.
func (t *Tensor) Clone() *Tensor {
	c := &Tensor{DType: t.DType, Shape: append([]int(nil), t.Shape...)}
	c.Data = CloneData(t.Data)
	return c
}

// CloneData copies a data slice.
func CloneData(data any) any {
	switch s := data.(type) {
	case []float32:
		return append([]float32(nil), s...)
	case []float64:
		return append([]float64(nil), s...)
	case []Half:
		return append([]Half(nil), s...)
	case []BHalf:
		return append([]BHalf(nil), s...)
	case []int8:
		return append([]int8(nil), s...)
	case []uint8:
		return append([]uint8(nil), s...)
	case []int16:
		return append([]int16(nil), s...)
	case []uint16:
		return append([]uint16(nil), s...)
	case []int32:
		return append([]int32(nil), s...)
	case []uint32:
		return append([]uint32(nil), s...)
	case []int64:
		return append([]int64(nil), s...)
	case []uint64:
		return append([]uint64(nil), s...)
	case []bool:
		return append([]bool(nil), s...)
	case []string:
		return append([]string(nil), s...)
	}
	return nil
}

// String describes t's type and shape, not its data.
func (t *Tensor) String() string {
	if t == nil {
		return "<nil tensor>"
	}
	parts := make([]string, len(t.Shape))
	for i, d := range t.Shape {
		parts[i] = fmt.Sprint(d)
	}
	return fmt.Sprintf("%v[%s]", t.DType, strings.Join(parts, ","))
}

// HalfToFloat32 converts IEEE 754 binary16 bits to float32.
func HalfToFloat32(h Half) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0 && man == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal
		e := uint32(127 - 15 + 1)
		for man&0x400 == 0 {
			man <<= 1
			e--
		}
		man &= 0x3ff
		return math.Float32frombits(sign | e<<23 | man<<13)
	case exp == 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | man<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | man<<13)
}

// Float32ToHalf converts f to binary16 bits, rounding to nearest even.
func Float32ToHalf(f float32) Half {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23) & 0xff
	man := b & 0x7fffff
	if exp == 0xff {
		if man != 0 {
			return Half(sign | 0x7e00)
		}
		return Half(sign | 0x7c00)
	}
	e := exp - 127 + 15
	if e >= 0x1f {
		return Half(sign | 0x7c00)
	}
	if e <= 0 {
		if e < -10 {
			return Half(sign)
		}
		man |= 0x800000
		shift := uint32(14 - e)
		half := man >> shift
		rem := man & (1<<shift - 1)
		mid := uint32(1) << (shift - 1)
		if rem > mid || (rem == mid && half&1 == 1) {
			half++
		}
		return Half(sign | uint16(half))
	}
	half := uint32(e)<<10 | man>>13
	rem := man & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && half&1 == 1) {
		half++
	}
	return Half(uint32(sign) | half)
}

// BHalfToFloat32 converts bfloat16 bits to float32.
func BHalfToFloat32(h BHalf) float32 { return math.Float32frombits(uint32(h) << 16) }

// Float32ToBHalf converts f to bfloat16 bits, rounding to nearest even.
func Float32ToBHalf(f float32) BHalf {
	b := math.Float32bits(f)
	if f != f {
		return BHalf(b>>16 | 0x40)
	}
	r := b + 0x7fff + (b>>16)&1
	return BHalf(r >> 16)
}
