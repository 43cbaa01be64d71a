package nn

import "context"

// Session runs one loaded model.
//
// Run is safe for concurrent use by several goroutines; each call gets its
// own working buffers from a pool, so big buffers are allocated once per
// concurrent caller and input shape, not once per run. inputs maps graph
// input names to tensors; they are read, never modified or retained. The
// returned map holds every graph output, owned by the caller. When ctx is
// cancelled Run stops between operators and returns ctx.Err().
//
// Close releases the session's buffers; it is idempotent and nil-safe in
// implementations, and Run after Close returns ErrClosed.
type Session interface {
	Run(ctx context.Context, inputs map[string]*Tensor) (map[string]*Tensor, error)
	Close() error
}
