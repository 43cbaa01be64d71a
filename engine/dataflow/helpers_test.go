package dataflow_test

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluice-ml/sluice/engine/dataflow"
)

// outSchema is the schema the test operators produce: path, a computed value, error.
var outSchema = arrow.NewSchema([]arrow.Field{
	{Name: "path", Type: arrow.BinaryTypes.String},
	{Name: "value", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "error", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

func itemPath(i int) string { return fmt.Sprintf("items/%06d.bin", i) }

func hash64(s string) uint64 {
	h := fnv.New64a()
	io.WriteString(h, s)
	return h.Sum64()
}

// itemSource yields ItemSchema batches of rows items each, n items in all.
type itemSource struct {
	mem     memory.Allocator
	n, rows int
	next    int
	closed  bool
}

func (s *itemSource) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if s.next >= s.n {
		return nil, io.EOF
	}
	end := min(s.next+s.rows, s.n)
	paths := make([]string, 0, end-s.next)
	for i := s.next; i < end; i++ {
		paths = append(paths, itemPath(i))
	}
	s.next = end
	return dataflow.NewItemBatch(s.mem, paths), nil
}

func (s *itemSource) Close() error { s.closed = true; return nil }

// compute turns item batches into outSchema batches: value = hash of the path; items for
// which bad reports true get an item error.
func compute(ctx context.Context, in arrow.RecordBatch, bad func(path string) bool) (arrow.RecordBatch, error) {
	defer in.Release()
	mem := dataflow.Allocator(ctx)
	paths, errs := dataflow.Paths(in), dataflow.Errors(in)
	vb := array.NewInt64Builder(mem)
	defer vb.Release()
	eb := array.NewStringBuilder(mem)
	defer eb.Release()
	for i := 0; i < int(in.NumRows()); i++ {
		p := paths.Value(i)
		switch {
		case errs.IsValid(i):
			vb.AppendNull()
			eb.Append(errs.Value(i))
		case bad != nil && bad(p):
			vb.AppendNull()
			eb.Append((&dataflow.ItemError{Path: p, Err: fmt.Errorf("synthetic failure")}).Error())
		default:
			vb.Append(int64(hash64(p) >> 1))
			eb.AppendNull()
		}
	}
	pc := paths
	vc, ec := vb.NewArray(), eb.NewArray()
	defer vc.Release()
	defer ec.Release()
	return array.NewRecordBatch(outSchema, []arrow.Array{pc, vc, ec}, in.NumRows()), nil
}

// collectSink keeps "path|value|error" per row.
type collectSink struct {
	mu     sync.Mutex
	rows   []string
	closed int
}

func (c *collectSink) Write(ctx context.Context, b arrow.RecordBatch) error {
	defer b.Release()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rows = append(c.rows, rowStrings(b)...)
	return nil
}

func (c *collectSink) Close(context.Context) error { c.closed++; return nil }

func (c *collectSink) sorted() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Sorted(slices.Values(c.rows))
}

func rowStrings(b arrow.RecordBatch) []string {
	out := make([]string, 0, b.NumRows())
	for i := 0; i < int(b.NumRows()); i++ {
		s := ""
		for j, col := range b.Columns() {
			if j > 0 {
				s += "|"
			}
			if col.IsNull(i) {
				s += "<null>"
			} else {
				s += col.ValueStr(i)
			}
		}
		out = append(out, s)
	}
	return out
}

var quiet = slog.New(slog.DiscardHandler)

func checkedAlloc(t testing.TB) *memory.CheckedAllocator {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}
