package dataflow_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluice-ml/sluice/engine/dataflow"
)

var smallSchema = arrow.NewSchema([]arrow.Field{
	{Name: "path", Type: arrow.BinaryTypes.String},
	{Name: "x", Type: arrow.PrimitiveTypes.Int64},
	{Name: "y", Type: arrow.PrimitiveTypes.Float64},
	{Name: "error", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// repeatSource hands out the same prepared batch n times (Retained), so that the benchmark
// measures the engine, not batch building.
type repeatSource struct {
	b    arrow.RecordBatch
	n, i int
}

func (s *repeatSource) Next(context.Context) (arrow.RecordBatch, error) {
	if s.i >= s.n {
		return nil, io.EOF
	}
	s.i++
	s.b.Retain()
	return s.b, nil
}

func (s *repeatSource) Close() error { return nil }

type countSink struct{ rows int64 }

func (c *countSink) Write(_ context.Context, b arrow.RecordBatch) error {
	c.rows += b.NumRows()
	b.Release()
	return nil
}

func (c *countSink) Close(context.Context) error { return nil }

func smallBatch(mem memory.Allocator, rows int) arrow.RecordBatch {
	bld := array.NewRecordBuilder(mem, smallSchema)
	defer bld.Release()
	for i := 0; i < rows; i++ {
		bld.Field(0).(*array.StringBuilder).Append(itemPath(i))
		bld.Field(1).(*array.Int64Builder).Append(int64(i))
		bld.Field(2).(*array.Float64Builder).Append(float64(i) / 2)
		bld.Field(3).(*array.StringBuilder).AppendNull()
	}
	return bld.NewRecordBatch()
}

// BenchmarkNoopThreeStages moves batches of a small schema (path, int64, float64, error)
// through three no-op stages; one op is one batch. It reports rows/s and the engine's time per
// batch (µs/batch: wall time of the run divided by the batches, all stages overlapping).
func BenchmarkNoopThreeStages(b *testing.B) {
	for _, rows := range []int{1, 1024, 8192} {
		b.Run("rows="+itoa(rows), func(b *testing.B) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(b, 0)
			batch := smallBatch(mem, rows)
			defer batch.Release()
			noop := dataflow.OperatorFunc(func(_ context.Context, in arrow.RecordBatch) ([]arrow.RecordBatch, error) {
				return []arrow.RecordBatch{in}, nil
			})
			sink := &countSink{}
			plan := dataflow.Plan{
				Source: &repeatSource{b: batch, n: b.N},
				Stages: []dataflow.Stage{{Name: "a", Op: noop}, {Name: "b", Op: noop}, {Name: "c", Op: noop}},
				Sink:   sink,
			}
			b.ReportAllocs()
			b.ResetTimer()
			t0 := time.Now()
			if _, err := dataflow.Run(context.Background(), plan, dataflow.Options{Allocator: mem, Thresholds: dataflow.IgnoreFailures}); err != nil {
				b.Fatal(err)
			}
			el := time.Since(t0)
			b.StopTimer()
			if sink.rows != int64(b.N*rows) {
				b.Fatalf("sink got %d rows, want %d", sink.rows, b.N*rows)
			}
			b.ReportMetric(float64(sink.rows)/el.Seconds(), "rows/s")
			b.ReportMetric(float64(el.Microseconds())/float64(b.N), "µs/batch")
		})
	}
}

// freshSource builds a new batch for every Next from prepared Go slices (what a reader
// decoding into Arrow does), so the figure includes allocating and freeing the batches.
type freshSource struct {
	mem   memory.Allocator
	paths []string
	xs    []int64
	ys    []float64
	n, i  int
}

func (s *freshSource) Next(context.Context) (arrow.RecordBatch, error) {
	if s.i >= s.n {
		return nil, io.EOF
	}
	s.i++
	bld := array.NewRecordBuilder(s.mem, smallSchema)
	defer bld.Release()
	bld.Field(0).(*array.StringBuilder).AppendValues(s.paths, nil)
	bld.Field(1).(*array.Int64Builder).AppendValues(s.xs, nil)
	bld.Field(2).(*array.Float64Builder).AppendValues(s.ys, nil)
	bld.Field(3).(*array.StringBuilder).AppendNulls(len(s.paths))
	return bld.NewRecordBatch(), nil
}

func (s *freshSource) Close() error { return nil }

// BenchmarkNoopThreeStagesFresh is BenchmarkNoopThreeStages with a source that builds every
// batch (1024 rows): rows/s of the whole thing, batch building included.
func BenchmarkNoopThreeStagesFresh(b *testing.B) {
	const rows = 1024
	// Not a CheckedAllocator: it records a stack trace per allocation, which would be most
	// of what this measures. BenchmarkNoopThreeStages checks for leaks.
	mem := memory.NewGoAllocator()
	src := &freshSource{mem: mem, n: b.N}
	for i := 0; i < rows; i++ {
		src.paths = append(src.paths, itemPath(i))
		src.xs = append(src.xs, int64(i))
		src.ys = append(src.ys, float64(i)/2)
	}
	noop := dataflow.OperatorFunc(func(_ context.Context, in arrow.RecordBatch) ([]arrow.RecordBatch, error) {
		return []arrow.RecordBatch{in}, nil
	})
	sink := &countSink{}
	plan := dataflow.Plan{
		Source: src,
		Stages: []dataflow.Stage{{Name: "a", Op: noop}, {Name: "b", Op: noop}, {Name: "c", Op: noop}},
		Sink:   sink,
	}
	b.ReportAllocs()
	b.ResetTimer()
	t0 := time.Now()
	if _, err := dataflow.Run(context.Background(), plan, dataflow.Options{Allocator: mem, Thresholds: dataflow.IgnoreFailures}); err != nil {
		b.Fatal(err)
	}
	el := time.Since(t0)
	b.StopTimer()
	if sink.rows != int64(b.N*rows) {
		b.Fatalf("sink got %d rows, want %d", sink.rows, b.N*rows)
	}
	b.ReportMetric(float64(sink.rows)/el.Seconds(), "rows/s")
	b.ReportMetric(float64(el.Microseconds())/float64(b.N), "µs/batch")
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}
