package executor

import (
	"context"
	"errors"
	"time"

	"github.com/sluice-ml/sluice/engine/spec"
	"github.com/sluice-ml/sluice/store/state"
)

// QueueOptions say how Enqueue records a run.
type QueueOptions struct {
	// ID is the run's id; "" makes a new one. Giving one makes a submit idempotent: an id that
	// is already recorded is state.ErrExists and records nothing.
	ID string
	// Owner names the queue that holds the run (a server); it must not be empty. The workspace
	// then leaves the Queued run for its owner instead of marking it Interrupted, and requeues
	// it when its owner dies while executing it (see state.Open).
	Owner   string
	NoReuse bool
}

// Enqueue validates the parameter overrides against p, like Submit, and records a new Queued
// run owned by o.Owner without taking its lock: the run is durable as soon as Enqueue returns,
// and whoever executes it later takes the lock (state.Workspace.LockRun) and calls Execute.
func Enqueue(ctx context.Context, ws *state.Workspace, p *spec.Pipeline, source []byte,
	overrides map[string]string, o QueueOptions) (*state.Run, error) {
	values, err := p.Resolve(overrides)
	if err != nil {
		return nil, err
	}
	if err := preflight(p, values); err != nil {
		return nil, err
	}
	params := make(map[string]string, len(values))
	for k, v := range values {
		params[k] = v.String()
	}
	fresh := o.ID == ""
	for attempt := 0; ; attempt++ {
		if fresh {
			o.ID = state.NewRunID(time.Now())
		}
		r, err := record(ctx, ws, p, source, params, o)
		// A fresh id collides with another one of the same second now and then: draw again.
		if fresh && attempt < 8 && errors.Is(err, state.ErrExists) {
			continue
		}
		return r, err
	}
}

func record(ctx context.Context, ws *state.Workspace, p *spec.Pipeline, source []byte, params map[string]string,
	o QueueOptions) (*state.Run, error) {
	r := &state.Run{
		ID:           o.ID,
		Pipeline:     p.Name,
		PipelineFile: absFile(p.File),
		Spec:         string(source),
		Parameters:   params,
		Status:       state.Queued,
		NoReuse:      o.NoReuse || p.Settings.ForceRerun,
		Owner:        o.Owner,
	}
	if err := ws.CreateRun(ctx, r, p.TopoOrder()); err != nil {
		return nil, err
	}
	return r, nil
}
