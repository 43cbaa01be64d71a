package images

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluice-ml/sluice/engine/dataflow"
	"github.com/sluice-ml/sluice/store/datastore"
)

// BytesColumn is the column Read adds: the item's encoded bytes.
const BytesColumn = "bytes"

// ErrTooBig is the cause of a row whose file exceeds Read.MaxBytes.
var ErrTooBig = errors.New("file larger than the limit")

// Read is an operator that adds the `bytes` column: the content of each row's `path`, fetched
// with Open. A file that cannot be opened or read, or that is larger than MaxBytes, fails its
// row (the cause in `error`), not the batch. A cancelled ctx fails the batch.
type Read struct {
	// Open opens the item named by a row's path.
	Open func(ctx context.Context, path string) (io.ReadCloser, error)
	// MaxBytes bounds one file (default 256 MiB, as ops/decode's limit).
	MaxBytes int64
}

// FromLocation returns a Read over the items of a datastore location (paths relative to it).
func FromLocation(loc datastore.Location, maxBytes int64) *Read {
	return &Read{MaxBytes: maxBytes, Open: func(ctx context.Context, path string) (io.ReadCloser, error) {
		return loc.Store.Open(ctx, loc.Name(path))
	}}
}

func (r *Read) fetch(ctx context.Context, path string) ([]byte, error) {
	max := r.MaxBytes
	if max <= 0 {
		max = 256 << 20
	}
	rc, err := r.Open(ctx, path)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%w (%d bytes)", ErrTooBig, max)
	}
	return data, nil
}

// Process implements dataflow.Operator.
func (r *Read) Process(ctx context.Context, in arrow.RecordBatch) ([]arrow.RecordBatch, error) {
	defer in.Release()
	paths := dataflow.Paths(in)
	if paths == nil {
		return nil, fmt.Errorf("%w: read: batch has no %q column", dataflow.ErrBadPlan, dataflow.PathColumn)
	}
	mem := dataflow.Allocator(ctx)
	bld := array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary)
	defer bld.Release()
	errs := map[int]error{}
	for i := 0; i < int(in.NumRows()); i++ {
		if dataflow.RowFailed(in, i) {
			bld.AppendNull()
			continue
		}
		data, err := r.fetch(ctx, paths.Value(i))
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			errs[i] = fmt.Errorf("read: %w", err)
			bld.AppendNull()
			continue
		}
		bld.Append(data)
	}
	col := bld.NewArray()
	defer col.Release()
	out := replaceColumns(in, []string{BytesColumn}, []arrow.Field{{Name: BytesColumn, Type: arrow.BinaryTypes.Binary, Nullable: true}}, []arrow.Array{col})
	b, err := dataflow.SetRowErrors(mem, out, errs)
	if err != nil {
		return nil, err
	}
	return []arrow.RecordBatch{b}, nil
}

// Close implements dataflow.Operator.
func (r *Read) Close(context.Context) error { return nil }

// replaceColumns returns b without the columns named in drop and with add appended; the new
// batch shares the kept columns. The caller releases it; b is not released.
func replaceColumns(b arrow.RecordBatch, drop []string, add []arrow.Field, cols []arrow.Array) arrow.RecordBatch {
	var fields []arrow.Field
	var arrs []arrow.Array
	for i, f := range b.Schema().Fields() {
		dropped := false
		for _, d := range drop {
			dropped = dropped || f.Name == d
		}
		if !dropped {
			fields = append(fields, f)
			arrs = append(arrs, b.Column(i))
		}
	}
	fields = append(fields, add...)
	arrs = append(arrs, cols...)
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, b.NumRows())
}
