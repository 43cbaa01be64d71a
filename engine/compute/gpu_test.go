package compute

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sluice-ml/sluice/engine/spec"
	"github.com/sluice-ml/sluice/gpu"
)

// A build without the cuda tag (CI, this machine) fails a local-gpu step at
// Prepare with the reason; a cuda build on a GPU host prepares it as Local
// does, with the device set.
func TestLocalGPUPrepare(t *testing.T) {
	t.Parallel()
	job := &spec.Job{Name: "score", Type: "command"}
	step, err := LocalGPU{}.Prepare(context.Background(), job)
	if !gpu.Built {
		if step != nil || !errors.Is(err, gpu.ErrNotBuilt) {
			t.Fatalf("Prepare = %v, %v; want gpu.ErrNotBuilt", step, err)
		}
		for _, want := range []string{"job score", "compute local-gpu", "built without CUDA"} {
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("%q lacks %q", err, want)
			}
		}
		return
	}
	if gpu.Available() != nil {
		if !errors.Is(err, gpu.ErrNoDevice) {
			t.Fatalf("Prepare without a device = %v", err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	var seen *StepContext
	gs := gpuStep{stepFunc(func(ctx context.Context, sc *StepContext) error { seen = sc; return nil })}
	sc := &StepContext{Env: []string{"A=1"}}
	if err := gs.Run(context.Background(), sc); err != nil {
		t.Fatal(err)
	}
	if seen.Device != DeviceCUDA || seen.Env[len(seen.Env)-1] != "SLUICE_DEVICE=cuda" || sc.Device != "" {
		t.Fatalf("step saw %+v; caller's context became %+v", seen, sc)
	}
}

// The wrapper keeps the device and environment of the step without
// touching the caller's StepContext, in every build.
func TestGPUStepSetsDevice(t *testing.T) {
	t.Parallel()
	var seen *StepContext
	gs := gpuStep{stepFunc(func(ctx context.Context, sc *StepContext) error { seen = sc; return nil })}
	sc := &StepContext{Env: []string{"A=1"}}
	if err := gs.Run(context.Background(), sc); err != nil {
		t.Fatal(err)
	}
	if seen.Device != DeviceCUDA || len(seen.Env) != 2 || seen.Env[1] != "SLUICE_DEVICE=cuda" {
		t.Fatalf("step saw Device %q, Env %v", seen.Device, seen.Env)
	}
	if sc.Device != "" || len(sc.Env) != 1 {
		t.Fatalf("caller's context changed: %+v", sc)
	}
	var du DataURIs = gpuDataURIStep{}
	_ = du
}

type stepFunc func(ctx context.Context, sc *StepContext) error

func (f stepFunc) Run(ctx context.Context, sc *StepContext) error { return f(ctx, sc) }
