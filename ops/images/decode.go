package images

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluice-ml/sluice/engine/dataflow"
	"github.com/sluice-ml/sluice/ops/decode"
	"github.com/sluice-ml/sluice/ops/preprocess"
	"github.com/sluice-ml/sluice/ops/tensorcol"
)

// TensorColumn is the column Decode adds: the preprocessed image, 3×H×W float32 (or H×W×3).
const TensorColumn = "tensor"

// Decode is an operator that replaces the `bytes` column by the `tensor` column: each row's
// image decoded within Limits and preprocessed by Spec, written straight into the column. Spec
// must give every image the same size (preprocess.Spec.Fixed). An image that cannot be decoded
// or preprocessed fails its row with the cause ("decode: corrupt or truncated image: ...").
type Decode struct {
	Spec   preprocess.Spec
	Limits decode.Limits
	n      int
}

// NewDecode checks spec and returns the operator.
func NewDecode(spec preprocess.Spec, lim decode.Limits) (*Decode, error) {
	if !spec.Fixed() {
		return nil, fmt.Errorf("%w: preprocessing must give one size to every image (set a crop or an exact size)", preprocess.ErrSpec)
	}
	w, h := spec.OutSize(1, 1)
	return &Decode{Spec: spec, Limits: lim, n: 3 * w * h}, nil
}

// Elements is the number of floats per row of the tensor column.
func (d *Decode) Elements() int { return d.n }

// Field is the tensor column's field.
func (d *Decode) Field() arrow.Field { return tensorcol.Field(TensorColumn, d.n) }

// Process implements dataflow.Operator.
func (d *Decode) Process(ctx context.Context, in arrow.RecordBatch) ([]arrow.RecordBatch, error) {
	defer in.Release()
	idx := in.Schema().FieldIndices(BytesColumn)
	if len(idx) == 0 {
		return nil, fmt.Errorf("%w: decode: batch has no %q column", dataflow.ErrBadPlan, BytesColumn)
	}
	data, ok := in.Column(idx[0]).(*array.Binary)
	if !ok {
		return nil, fmt.Errorf("%w: decode: %q is %s", dataflow.ErrBadPlan, BytesColumn, in.Column(idx[0]).DataType())
	}
	mem := dataflow.Allocator(ctx)
	rows := int(in.NumRows())
	tb := tensorcol.NewBuilder(mem, rows, d.n)
	errs := map[int]error{}
	for i := 0; i < rows; i++ {
		if err := ctx.Err(); err != nil {
			tb.Release()
			return nil, err
		}
		if dataflow.RowFailed(in, i) || data.IsNull(i) {
			tb.SetNull(i)
			continue
		}
		if err := d.one(data.Value(i), tb.Row(i)); err != nil {
			errs[i] = err
			tb.SetNull(i)
		}
	}
	col := tb.NewArray()
	defer col.Release()
	out := replaceColumns(in, []string{BytesColumn, TensorColumn}, []arrow.Field{d.Field()}, []arrow.Array{col})
	b, err := dataflow.SetRowErrors(mem, out, errs)
	if err != nil {
		return nil, err
	}
	return []arrow.RecordBatch{b}, nil
}

func (d *Decode) one(data []byte, dst []float32) error {
	img, err := decode.Decode(data, d.Limits)
	if err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	if err := d.Spec.Apply(img.Pix, img.Width, img.Height, dst); err != nil {
		return fmt.Errorf("preprocess: %w", err)
	}
	return nil
}

// Close implements dataflow.Operator.
func (d *Decode) Close(context.Context) error { return nil }

// OutSchema is the schema of the batches Process returns for input batches of schema in.
func (d *Decode) OutSchema(in *arrow.Schema) *arrow.Schema {
	var fields []arrow.Field
	for _, f := range in.Fields() {
		if f.Name != BytesColumn && f.Name != TensorColumn {
			fields = append(fields, f)
		}
	}
	return arrow.NewSchema(append(fields, d.Field()), nil)
}
