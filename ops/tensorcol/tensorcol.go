package tensorcol

import (
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// ErrType is returned (wrapped) for a column that is not a fixed-size list of float32.
var ErrType = errors.New("not a tensor column")

// Type is the Arrow type of a column of n floats per row.
func Type(n int) arrow.DataType { return arrow.FixedSizeListOf(int32(n), arrow.PrimitiveTypes.Float32) }

// Field is a nullable tensor column of n floats per row.
func Field(name string, n int) arrow.Field {
	return arrow.Field{Name: name, Type: Type(n), Nullable: true}
}

// Builder fills a column of rows×n float32 in place. Every row starts valid and zeroed.
type Builder struct {
	mem      memory.Allocator
	n, rows  int
	values   *memory.Buffer
	floats   []float32
	validity *memory.Buffer
	nulls    int
}

// NewBuilder allocates a column of rows tensors of n floats from mem.
func NewBuilder(mem memory.Allocator, rows, n int) *Builder {
	values := memory.NewResizableBuffer(mem)
	values.Resize(rows * n * arrow.Float32SizeBytes)
	return &Builder{mem: mem, n: n, rows: rows, values: values, floats: arrow.Float32Traits.CastFromBytes(values.Bytes())}
}

// Row is the storage of row r, to write in place.
func (b *Builder) Row(r int) []float32 { return b.floats[r*b.n : (r+1)*b.n] }

// Rows is the storage of rows [from, to).
func (b *Builder) Rows(from, to int) []float32 { return b.floats[from*b.n : to*b.n] }

// SetNull marks row r as having no tensor.
func (b *Builder) SetNull(r int) {
	if b.validity == nil {
		b.validity = memory.NewResizableBuffer(b.mem)
		b.validity.Resize(int(bitutil.BytesForBits(int64(b.rows))))
		bitutil.SetBitsTo(b.validity.Bytes(), 0, int64(b.rows), true)
	}
	if bitutil.BitIsSet(b.validity.Bytes(), r) {
		bitutil.ClearBit(b.validity.Bytes(), r)
		b.nulls++
	}
	clear(b.Row(r))
}

// NewArray returns the column; the Builder must not be used afterwards.
func (b *Builder) NewArray() arrow.Array {
	vd := array.NewData(arrow.PrimitiveTypes.Float32, b.rows*b.n, []*memory.Buffer{nil, b.values}, nil, 0, 0)
	defer vd.Release()
	var bufs []*memory.Buffer
	bufs = append(bufs, b.validity)
	ld := array.NewData(Type(b.n), b.rows, bufs, []arrow.ArrayData{vd}, b.nulls, 0)
	defer ld.Release()
	b.values.Release()
	if b.validity != nil {
		b.validity.Release()
	}
	b.values, b.validity, b.floats = nil, nil, nil
	return array.MakeFromData(ld)
}

// Release frees a Builder whose NewArray was not called.
func (b *Builder) Release() {
	if b.values != nil {
		b.values.Release()
		b.values, b.floats = nil, nil
	}
	if b.validity != nil {
		b.validity.Release()
		b.validity = nil
	}
}

// Values returns the float32 values of a tensor column (row r is vals[r*n:(r+1)*n], whatever
// its validity) and n. It does not copy.
func Values(col arrow.Array) (vals []float32, n int, err error) {
	l, ok := col.(*array.FixedSizeList)
	if !ok {
		return nil, 0, fmt.Errorf("%w: %s", ErrType, col.DataType())
	}
	n = int(l.DataType().(*arrow.FixedSizeListType).Len())
	f, ok := l.ListValues().(*array.Float32)
	if !ok {
		return nil, 0, fmt.Errorf("%w: a list of %s", ErrType, l.ListValues().DataType())
	}
	off := l.Data().Offset()
	all := f.Float32Values()
	return all[off*n : (off+l.Len())*n], n, nil
}
