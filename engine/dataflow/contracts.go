package dataflow

import (
	"context"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Source produces the batches of a plan. Next returns the next batch, which the caller then
// owns, or io.EOF (unwrapped) at the end; any other error stops the run. Next is called from one
// goroutine at a time; ctx covers the call only. Close is called once, after the last Next,
// whether or not the run succeeded.
type Source interface {
	Next(ctx context.Context) (arrow.RecordBatch, error)
	Close() error
}

// Operator transforms batches. Process owns in (it must Release it, or hand it on by returning
// it) and returns zero or more batches that the caller then owns. Rows whose `error` is not
// null must be passed on unchanged; failing one item means setting its `error` (SetRowErrors),
// not returning an error. Returning an error (or panicking, or outliving the invocation
// timeout) fails the whole call: the engine retries it on the same input, so Process must not
// have kept side effects of a failed call. Errors wrapped with Fatal stop the run.
// When a stage has more than one worker, Process is called concurrently. ctx covers one call
// and carries the allocator (Allocator). Close is called once, after the last Process.
type Operator interface {
	Process(ctx context.Context, in arrow.RecordBatch) ([]arrow.RecordBatch, error)
	Close(ctx context.Context) error
}

// Sink consumes the batches of a plan. Write owns b (it must Release it). Write is called from
// one goroutine at a time. Close is called once after the last Write, whether or not the run
// succeeded; a Sink that commits something should commit only what Write accepted.
type Sink interface {
	Write(ctx context.Context, b arrow.RecordBatch) error
	Close(ctx context.Context) error
}

// OperatorFunc adapts a function to an Operator with a no-op Close.
type OperatorFunc func(ctx context.Context, in arrow.RecordBatch) ([]arrow.RecordBatch, error)

// Process calls f.
func (f OperatorFunc) Process(ctx context.Context, in arrow.RecordBatch) ([]arrow.RecordBatch, error) {
	return f(ctx, in)
}

// Close does nothing.
func (OperatorFunc) Close(context.Context) error { return nil }

type allocKey struct{}

// WithAllocator returns a context carrying mem, for Allocator to find.
func WithAllocator(ctx context.Context, mem memory.Allocator) context.Context {
	return context.WithValue(ctx, allocKey{}, mem)
}

// Allocator returns the allocator ctx carries, or memory.DefaultAllocator.
func Allocator(ctx context.Context) memory.Allocator {
	if mem, ok := ctx.Value(allocKey{}).(memory.Allocator); ok && mem != nil {
		return mem
	}
	return memory.DefaultAllocator
}
