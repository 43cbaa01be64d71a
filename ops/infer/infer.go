package infer

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluice-ml/sluice/engine/dataflow"
	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/ops/tensorcol"
)

// ErrConfig is returned (wrapped) for an operator configured against its model.
var ErrConfig = errors.New("infer: bad configuration")

// Op runs Session over the In column and writes the Out column.
type Op struct {
	Session nn.Session
	// Input and Output name the model's input and output tensors.
	Input, Output string
	// ItemShape is one item's input shape (the model input's shape without the batch
	// dimension, e.g. [3 224 224]); OutElems is the number of output values per item.
	ItemShape []int
	OutElems  int
	// In and Out name the columns (default "tensor" and "logits").
	In, Out string
	// Batch is the largest model batch (default 8).
	Batch int
	// Keep keeps the input column in the output (default: dropped, it is big).
	Keep bool
}

func (o *Op) in() string {
	if o.In == "" {
		return "tensor"
	}
	return o.In
}

func (o *Op) out() string {
	if o.Out == "" {
		return "logits"
	}
	return o.Out
}

// Field is the output column's field.
func (o *Op) Field() arrow.Field { return tensorcol.Field(o.out(), o.OutElems) }

// Process implements dataflow.Operator.
func (o *Op) Process(ctx context.Context, in arrow.RecordBatch) ([]arrow.RecordBatch, error) {
	defer in.Release()
	idx := in.Schema().FieldIndices(o.in())
	if len(idx) == 0 {
		return nil, fmt.Errorf("%w: batch has no %q column", dataflow.ErrBadPlan, o.in())
	}
	col := in.Column(idx[0])
	vals, n, err := tensorcol.Values(col)
	if err != nil {
		return nil, fmt.Errorf("infer: column %q: %w", o.in(), err)
	}
	if want := nn.NumElements(o.ItemShape); n != want {
		return nil, fmt.Errorf("%w: column %q has %d values per row, the model's input %q takes %v (%d)", ErrConfig, o.in(), n, o.Input, o.ItemShape, want)
	}
	rows := int(in.NumRows())
	var live []int
	for i := 0; i < rows; i++ {
		if col.IsValid(i) && !dataflow.RowFailed(in, i) {
			live = append(live, i)
		}
	}
	mem := dataflow.Allocator(ctx)
	ob := tensorcol.NewBuilder(mem, rows, o.OutElems)
	ok := make([]bool, rows)
	batch := o.Batch
	if batch <= 0 {
		batch = 8
	}
	var scratch []float32
	for s := 0; s < len(live); s += batch {
		chunk := live[s:min(s+batch, len(live))]
		k := len(chunk)
		var x []float32
		if chunk[k-1]-chunk[0] == k-1 { // contiguous rows: the column's own memory
			x = vals[chunk[0]*n : (chunk[k-1]+1)*n]
		} else {
			scratch = slices.Grow(scratch[:0], k*n)[:k*n]
			for j, r := range chunk {
				copy(scratch[j*n:(j+1)*n], vals[r*n:(r+1)*n])
			}
			x = scratch
		}
		shape := append([]int{k}, o.ItemShape...)
		res, err := o.Session.Run(ctx, map[string]*nn.Tensor{o.Input: nn.FromFloat32(x, shape...)})
		if err != nil {
			ob.Release()
			return nil, fmt.Errorf("infer: items %d–%d of the batch: %w", chunk[0], chunk[k-1], err)
		}
		y := res[o.Output]
		if y == nil || y.F32() == nil || y.Len() != k*o.OutElems {
			ob.Release()
			return nil, fmt.Errorf("%w: output %q of the model is %v, want %d float32 values per item", ErrConfig, o.Output, y, o.OutElems)
		}
		out := y.F32()
		for j, r := range chunk {
			copy(ob.Row(r), out[j*o.OutElems:(j+1)*o.OutElems])
			ok[r] = true
		}
	}
	for r := 0; r < rows; r++ {
		if !ok[r] {
			ob.SetNull(r)
		}
	}
	oc := ob.NewArray()
	defer oc.Release()
	var fields []arrow.Field
	var cols []arrow.Array
	for i, f := range in.Schema().Fields() {
		if (f.Name == o.in() && !o.Keep) || f.Name == o.out() {
			continue
		}
		fields = append(fields, f)
		cols = append(cols, in.Column(i))
	}
	fields = append(fields, o.Field())
	cols = append(cols, oc)
	return []arrow.RecordBatch{array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, in.NumRows())}, nil
}

// Close implements dataflow.Operator; the session belongs to the caller.
func (o *Op) Close(context.Context) error { return nil }

// OutSchema is the schema of the batches Process returns for input batches of schema in.
func (o *Op) OutSchema(in *arrow.Schema) *arrow.Schema {
	var fields []arrow.Field
	for _, f := range in.Fields() {
		if (f.Name == o.in() && !o.Keep) || f.Name == o.out() {
			continue
		}
		fields = append(fields, f)
	}
	return arrow.NewSchema(append(fields, o.Field()), nil)
}
