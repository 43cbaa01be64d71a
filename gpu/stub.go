//go:build !cuda

package gpu

import (
	"context"
	"time"

	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/graph"
)

// Built reports whether this binary has the CUDA backend.
const Built = false

// Available reports whether a CUDA device can be used: without the `cuda`
// build tag, never (ErrNotBuilt).
func Available() error { return ErrNotBuilt }

// Devices lists the CUDA devices: without the `cuda` tag, ErrNotBuilt.
func Devices() ([]DeviceInfo, error) { return nil, ErrNotBuilt }

// Session is the GPU session; without the `cuda` tag none can be made.
type Session struct{}

var _ nn.Session = (*Session)(nil)

// Open answers ErrNotBuilt without the `cuda` build tag.
func Open(ctx context.Context, path string, opts Options) (*Session, error) { return nil, ErrNotBuilt }

// NewSession answers ErrNotBuilt without the `cuda` build tag.
func NewSession(ctx context.Context, g *graph.Graph, opts Options) (*Session, error) {
	return nil, ErrNotBuilt
}

// Run answers ErrNotBuilt.
func (s *Session) Run(ctx context.Context, inputs map[string]*nn.Tensor) (map[string]*nn.Tensor, error) {
	return nil, ErrNotBuilt
}

// Close does nothing.
func (s *Session) Close() error { return nil }

// Graph returns nil: there is no session without the `cuda` tag.
func (s *Session) Graph() *graph.Graph { return nil }

// Device is the zero DeviceInfo: there is no device without the `cuda` tag.
func (s *Session) Device() DeviceInfo { return DeviceInfo{} }

// Stats is zero without the `cuda` tag.
func (s *Session) Stats() graph.Stats { return graph.Stats{} }

// ModelOnly answers ErrNotBuilt.
func (s *Session) ModelOnly(ctx context.Context, inputs map[string]*nn.Tensor, iters int) (time.Duration, error) {
	return 0, ErrNotBuilt
}

// Profile answers ErrNotBuilt.
func (s *Session) Profile(ctx context.Context, inputs map[string]*nn.Tensor, iters int) (map[string]time.Duration, error) {
	return nil, ErrNotBuilt
}
