package compute

import (
	"context"
	"fmt"

	"github.com/sluice-ml/sluice/engine/spec"
	"github.com/sluice-ml/sluice/gpu"
)

// DeviceCUDA is StepContext.Device for steps on the local-gpu target.
const DeviceCUDA = "cuda"

// LocalGPU runs steps on this machine's GPU (package gpu, CUDA). It prepares the same job
// types as Local; the step sees StepContext.Device == DeviceCUDA (in-process steps open their
// models with the GPU backend) and command steps get SLUICE_DEVICE=cuda in their environment.
// Without a usable GPU — a build without the `cuda` tag, or no device — Prepare fails the step
// with the reason (gpu.ErrNotBuilt, gpu.ErrNoDevice).
type LocalGPU struct{}

// Name is "local-gpu".
func (LocalGPU) Name() string { return "local-gpu" }

// Prepare checks that a GPU can be used, then prepares job as Local does.
func (LocalGPU) Prepare(ctx context.Context, job *spec.Job) (Step, error) {
	if err := gpu.Available(); err != nil {
		return nil, fmt.Errorf("job %s: compute local-gpu: %w", job.Name, err)
	}
	step, err := Local{}.Prepare(ctx, job)
	if err != nil {
		return nil, err
	}
	if du, ok := step.(DataURIs); ok {
		return gpuDataURIStep{du}, nil
	}
	return gpuStep{step}, nil
}

type gpuStep struct{ inner Step }

func (s gpuStep) Run(ctx context.Context, sc *StepContext) error {
	c := *sc
	c.Device = DeviceCUDA
	c.Env = append(append([]string(nil), sc.Env...), "SLUICE_DEVICE="+DeviceCUDA)
	return s.inner.Run(ctx, &c)
}

type gpuDataURIStep struct{ inner DataURIs }

func (s gpuDataURIStep) Run(ctx context.Context, sc *StepContext) error {
	return gpuStep{s.inner}.Run(ctx, sc)
}

func (gpuDataURIStep) HandlesDataURIs() {}
