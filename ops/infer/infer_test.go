package infer

import (
	"context"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluice-ml/sluice/engine/dataflow"
	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/ops/tensorcol"
)

// sumSession outputs, per item, the sum of its values and the batch size it was run in.
type sumSession struct {
	mu      sync.Mutex
	batches []int
}

func (s *sumSession) Run(_ context.Context, in map[string]*nn.Tensor) (map[string]*nn.Tensor, error) {
	x := in["x"]
	k, n := x.Shape[0], x.Len()/x.Shape[0]
	s.mu.Lock()
	s.batches = append(s.batches, k)
	s.mu.Unlock()
	out := make([]float32, 2*k)
	for i := 0; i < k; i++ {
		for _, v := range x.F32()[i*n : (i+1)*n] {
			out[2*i] += v
		}
		out[2*i+1] = float32(k)
	}
	return map[string]*nn.Tensor{"y": nn.FromFloat32(out, k, 2)}, nil
}

func (s *sumSession) Close() error { return nil }

func TestBatchesAndGaps(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := dataflow.WithAllocator(context.Background(), mem)
	paths := []string{"a", "b", "c", "d", "e", "f", "g"}
	items := dataflow.NewItemBatch(mem, paths)
	tb := tensorcol.NewBuilder(mem, len(paths), 2)
	for r := range paths {
		tb.Row(r)[0], tb.Row(r)[1] = float32(r), 1
	}
	tb.SetNull(2) // a failed item in the middle: the rest is gathered around it
	col := tb.NewArray()
	in := array.NewRecordBatch(arrow.NewSchema(append(items.Schema().Fields(), tensorcol.Field("tensor", 2)), nil),
		append(items.Columns(), col), int64(len(paths)))
	items.Release()
	col.Release()
	s := &sumSession{}
	op := &Op{Session: s, Input: "x", Output: "y", ItemShape: []int{2}, OutElems: 2, Batch: 4}
	schema := in.Schema()
	outs, err := op.Process(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	b := outs[0]
	defer b.Release()
	if !b.Schema().Equal(op.OutSchema(schema)) {
		t.Fatalf("schema %s", b.Schema())
	}
	if len(s.batches) != 2 || s.batches[0] != 4 || s.batches[1] != 2 {
		t.Fatalf("model batches %v, want [4 2]", s.batches)
	}
	logits := b.Column(b.Schema().FieldIndices("logits")[0])
	vals, _, _ := tensorcol.Values(logits)
	for r := range paths {
		if r == 2 {
			if logits.IsValid(2) {
				t.Fatal("the item without a tensor got an output")
			}
			continue
		}
		if vals[2*r] != float32(r)+1 {
			t.Fatalf("row %d: sum %v, want %v (rows mixed up)", r, vals[2*r], r+1)
		}
	}
	// A tensor that does not fit the model is a configuration error, not a crash.
	bad := &Op{Session: s, Input: "x", Output: "y", ItemShape: []int{3}, OutElems: 2}
	items = dataflow.NewItemBatch(mem, []string{"a"})
	tb = tensorcol.NewBuilder(mem, 1, 2)
	col = tb.NewArray()
	in = array.NewRecordBatch(arrow.NewSchema(append(items.Schema().Fields(), tensorcol.Field("tensor", 2)), nil),
		append(items.Columns(), col), 1)
	items.Release()
	col.Release()
	if _, err := bad.Process(ctx, in); err == nil {
		t.Fatal("a 2-value tensor was fed to a 3-value input")
	}
}
