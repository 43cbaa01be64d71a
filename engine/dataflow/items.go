package dataflow

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Names of the columns every item batch carries.
const (
	PathColumn  = "path"
	ErrorColumn = "error"
)

// ItemSchema is the schema of the batches RunPartitioned feeds to the first stage: the item's
// path and its error (null).
var ItemSchema = arrow.NewSchema([]arrow.Field{
	{Name: PathColumn, Type: arrow.BinaryTypes.String},
	{Name: ErrorColumn, Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// CheckItemSchema reports whether s can carry items: a utf8 `path` column, a utf8 `error`
// column, and every column but `path` nullable (the rows of a failed mini-batch are null there).
func CheckItemSchema(s *arrow.Schema) error {
	if s == nil {
		return fmt.Errorf("%w: no schema", ErrBadPlan)
	}
	for _, f := range s.Fields() {
		if f.Name != PathColumn && !f.Nullable {
			return fmt.Errorf("%w: column %q must be nullable (error rows have no value there)", ErrBadPlan, f.Name)
		}
	}
	for _, name := range []string{PathColumn, ErrorColumn} {
		idx := s.FieldIndices(name)
		if len(idx) != 1 {
			return fmt.Errorf("%w: schema needs exactly one %q column: %s", ErrBadPlan, name, s)
		}
		if t := s.Field(idx[0]).Type; t.ID() != arrow.STRING {
			return fmt.Errorf("%w: column %q is %s, want utf8", ErrBadPlan, name, t)
		}
	}
	return nil
}

func columnIndex(s *arrow.Schema, name string) int {
	idx := s.FieldIndices(name)
	if len(idx) == 0 {
		return -1
	}
	return idx[0]
}

// Paths returns the `path` column of b as a string column, or nil when b has none.
func Paths(b arrow.RecordBatch) *array.String {
	i := columnIndex(b.Schema(), PathColumn)
	if i < 0 {
		return nil
	}
	s, _ := b.Column(i).(*array.String)
	return s
}

// Errors returns the `error` column of b, or nil when b has none.
func Errors(b arrow.RecordBatch) *array.String {
	i := columnIndex(b.Schema(), ErrorColumn)
	if i < 0 {
		return nil
	}
	s, _ := b.Column(i).(*array.String)
	return s
}

// RowFailed reports whether row i of b carries an error (so operators must pass it on as is).
func RowFailed(b arrow.RecordBatch, i int) bool {
	e := Errors(b)
	return e != nil && e.IsValid(i)
}

// FailedRows counts the rows of b whose `error` is not null.
func FailedRows(b arrow.RecordBatch) int64 {
	e := Errors(b)
	if e == nil {
		return 0
	}
	return int64(e.Len() - e.NullN())
}

// SetRowErrors returns b with the `error` of the rows in errs set to their message (rows
// already failed keep their first error). It takes ownership of b and returns a batch the
// caller owns; with no errors it returns b itself.
func SetRowErrors(mem memory.Allocator, b arrow.RecordBatch, errs map[int]error) (arrow.RecordBatch, error) {
	if len(errs) == 0 {
		return b, nil
	}
	defer b.Release()
	ei := columnIndex(b.Schema(), ErrorColumn)
	if ei < 0 {
		return nil, fmt.Errorf("%w: batch has no %q column", ErrBadPlan, ErrorColumn)
	}
	old, ok := b.Column(ei).(*array.String)
	if !ok {
		return nil, fmt.Errorf("%w: column %q is %s, want utf8", ErrBadPlan, ErrorColumn, b.Column(ei).DataType())
	}
	bld := array.NewStringBuilder(mem)
	defer bld.Release()
	n := int(b.NumRows())
	bld.Reserve(n)
	for i := 0; i < n; i++ {
		switch err, bad := errs[i]; {
		case old.IsValid(i):
			bld.Append(old.Value(i))
		case bad && err != nil:
			bld.Append(err.Error())
		default:
			bld.AppendNull()
		}
	}
	col := bld.NewArray()
	defer col.Release()
	return b.SetColumn(ei, col)
}

// ErrorRows builds a batch of schema s with one row per path: `path` set to paths[i], `error`
// to errs[i], every other column null. It is how the items of a failed mini-batch reach the
// output.
func ErrorRows(mem memory.Allocator, s *arrow.Schema, paths, errs []string) arrow.RecordBatch {
	bld := array.NewRecordBuilder(mem, s)
	defer bld.Release()
	pi, ei := columnIndex(s, PathColumn), columnIndex(s, ErrorColumn)
	for i, f := range bld.Fields() {
		f.Reserve(len(paths))
		for j, p := range paths {
			switch i {
			case pi:
				f.(*array.StringBuilder).Append(p)
			case ei:
				f.(*array.StringBuilder).Append(errs[j])
			default:
				f.AppendNull()
			}
		}
	}
	return bld.NewRecordBatch()
}

// NewItemBatch builds an ItemSchema batch for paths (errors null).
func NewItemBatch(mem memory.Allocator, paths []string) arrow.RecordBatch {
	pb := array.NewStringBuilder(mem)
	defer pb.Release()
	eb := array.NewStringBuilder(mem)
	defer eb.Release()
	pb.AppendValues(paths, nil)
	eb.AppendNulls(len(paths))
	pc, ec := pb.NewArray(), eb.NewArray()
	defer pc.Release()
	defer ec.Release()
	return array.NewRecordBatch(ItemSchema, []arrow.Array{pc, ec}, int64(len(paths)))
}

// batchBytes is the sum of the buffer sizes b references (shared buffers counted each time).
func batchBytes(b arrow.RecordBatch) int64 {
	var n int64
	for _, c := range b.Columns() {
		n += dataBytes(c.Data())
	}
	return n
}

func dataBytes(d arrow.ArrayData) int64 {
	if d == nil {
		return 0
	}
	var n int64
	for _, buf := range d.Buffers() {
		if buf != nil {
			n += int64(buf.Len())
		}
	}
	for _, c := range d.Children() {
		n += dataBytes(c)
	}
	if d.DataType().ID() == arrow.DICTIONARY {
		n += dataBytes(d.Dictionary())
	}
	return n
}
