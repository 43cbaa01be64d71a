package dataflow

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"golang.org/x/sync/errgroup"
)

// Stage is one step of a plan: an operator run by Workers goroutines.
type Stage struct {
	Name string // for metrics and the bottleneck ("decode" gives "decode-bound")
	// Op is the stage's operator, shared by its workers. Set either Op or NewOp.
	Op Operator
	// NewOp, instead of Op, makes one operator per worker (worker counts from 0) when the run
	// starts — one inference session per device, say; each is closed at the end. An error
	// stops the run before any batch moves.
	NewOp func(ctx context.Context, worker int) (Operator, error)
	// Workers is the number of concurrent Process calls (default 1): decode on every core,
	// inference on one worker per device. With more than one, Op must be safe for concurrent use.
	Workers int
	// Ordered keeps the stage's output in the order of its input (with one worker it always is).
	Ordered bool
	// QueueBatches and QueueBytes bound the queue in front of the stage (defaults
	// 2×Workers+2 batches and 64 MiB). A batch larger than QueueBytes passes alone.
	QueueBatches int
	QueueBytes   int64
}

// Plan is a chain of stages between a source and a sink (room for a DAG later).
type Plan struct {
	Name   string
	Source Source // Run only
	Stages []Stage
	Sink   Sink // Run only
	// SinkQueueBatches and SinkQueueBytes bound the queue in front of the sink (defaults 4, 64 MiB).
	SinkQueueBatches int
	SinkQueueBytes   int64
	// Schema is the schema of the batches reaching the sink. RunPartitioned requires it (with
	// `path` and `error` columns, every other column nullable); in Run it is optional, and
	// when nil the items of a failed mini-batch are counted but do not reach the sink.
	Schema *arrow.Schema
}

// Options tune a run. The zero value is usable: default allocator, three tries, no timeout,
// thresholds that tolerate no failure (see Thresholds).
type Options struct {
	Allocator  memory.Allocator // default memory.DefaultAllocator
	Thresholds Thresholds
	// MaxTries is run_max_try: how often an operator call that fails as a whole is tried
	// (default 3; 1 means no retry).
	MaxTries int
	// InvocationTimeout is run_invocation_timeout: the limit of one operator call (0: none).
	// On timeout the call's context is cancelled; an operator that ignores it is abandoned after
	// a grace period (still holding its input) and the call counts as failed.
	InvocationTimeout time.Duration
	Metrics           *Metrics     // optional: poll it for progress
	Logger            *slog.Logger // default slog.Default()
	TotalItems        int64        // Run only, for the ETA; 0 when unknown
}

// Result sums up a finished (or stopped) run.
type Result struct {
	Counts
	Partitions []CommittedPartition // RunPartitioned: every partition of the output, skipped ones included
	Skipped    int                  // RunPartitioned: partitions skipped because already committed
	Stats      Snapshot
}

// Run executes plan: batches from plan.Source go through the stages to plan.Sink. Each source
// batch is a mini-batch for retries and thresholds. Run returns when the source is exhausted
// and everything is written, or on the first error (a threshold crossed, ctx cancelled, a
// Fatal operator error, a source or sink error). Source, operators and sink are closed in
// every case.
func Run(ctx context.Context, plan Plan, opts Options) (Result, error) {
	if plan.Source == nil || plan.Sink == nil {
		return Result{}, fmt.Errorf("%w: Run needs a Source and a Sink", ErrBadPlan)
	}
	if plan.Schema != nil {
		if err := CheckItemSchema(plan.Schema); err != nil {
			return Result{}, err
		}
	}
	e, err := newEngine(plan, opts)
	if err != nil {
		return Result{}, err
	}
	r := &streamRunner{e: e, src: plan.Source, sink: plan.Sink}
	e.opts.Metrics.begin(e.metrics(), opts.TotalItems, 0)
	err = e.run(ctx, r)
	return e.result(), err
}

// runner is what differs between Run and RunPartitioned.
type runner interface {
	produce(ctx context.Context, emit func(envelope) error) error
	consume(ctx context.Context, env envelope) error
	// exhausted is told that a stage gave up on env (rows items) after every try.
	exhausted(env envelope, rows int64) error
	finish(ctx context.Context) error // success path, after the last consume
	abort(ctx context.Context)        // failure path
}

type engine struct {
	plan     Plan
	opts     Options
	mem      memory.Allocator
	log      *slog.Logger
	maxTries int
	tally    *tally
	src, snk *stageMetrics
	stages   []*stageRun
	cur      runner
	result   func() Result
}

type stageRun struct {
	Stage
	m   *stageMetrics
	in  *queue
	ops []Operator // one per worker with NewOp; else the shared Op
	// ordered-stage leftovers, released after a failed run
	jobs  chan orderedJob
	order chan chan orderedResult
	held  chan orderedResult // the slot the emitter waited on when the run stopped
}

type orderedJob struct {
	env envelope
	res chan orderedResult
}

type orderedResult struct {
	outs []envelope
	err  error
}

func newEngine(plan Plan, opts Options) (*engine, error) {
	e := &engine{plan: plan, opts: opts, mem: opts.Allocator, log: opts.Logger, maxTries: opts.MaxTries}
	if e.mem == nil {
		e.mem = memory.DefaultAllocator
	}
	if e.log == nil {
		e.log = slog.Default()
	}
	if e.maxTries <= 0 {
		e.maxTries = 3
	}
	if e.opts.Metrics == nil {
		e.opts.Metrics = NewMetrics()
	}
	e.tally = &tally{th: opts.Thresholds}
	e.src = &stageMetrics{name: "read", workers: 1}
	e.snk = &stageMetrics{name: "write", workers: 1}
	for i, st := range plan.Stages {
		if (st.Op == nil) == (st.NewOp == nil) {
			return nil, fmt.Errorf("%w: stage %d (%q) needs exactly one of Op and NewOp", ErrBadPlan, i, st.Name)
		}
		if st.Name == "" {
			st.Name = fmt.Sprintf("stage%d", i)
		}
		if st.Workers <= 0 {
			st.Workers = 1
		}
		if st.QueueBatches <= 0 {
			st.QueueBatches = 2*st.Workers + 2
		}
		if st.QueueBytes <= 0 {
			st.QueueBytes = 64 << 20
		}
		e.stages = append(e.stages, &stageRun{Stage: st, m: &stageMetrics{name: st.Name, workers: st.Workers}})
	}
	e.result = func() Result { return Result{Counts: e.tally.counts(), Stats: e.opts.Metrics.Snapshot()} }
	return e, nil
}

func (e *engine) metrics() []*stageMetrics {
	ms := []*stageMetrics{e.src}
	for _, s := range e.stages {
		ms = append(ms, s.m)
	}
	return append(ms, e.snk)
}

// run wires the queues and goroutines and waits for them.
func (e *engine) run(ctx context.Context, r runner) error {
	ctx = WithAllocator(ctx, e.mem)
	e.cur = r
	defer e.opts.Metrics.finish()
	g, gctx := errgroup.WithContext(ctx)

	sinkBatches, sinkBytes := e.plan.SinkQueueBatches, e.plan.SinkQueueBytes
	if sinkBatches <= 0 {
		sinkBatches = 4
	}
	if sinkBytes <= 0 {
		sinkBytes = 64 << 20
	}
	for _, s := range e.stages {
		s.in = newQueue(s.QueueBatches, s.QueueBytes)
	}
	if err := e.makeOps(ctx); err != nil {
		r.abort(context.WithoutCancel(ctx))
		return err
	}
	sinkQ := newQueue(sinkBatches, sinkBytes)
	queueAfter := func(i int) *queue { // the queue stage i (-1: the source) pushes to
		if i+1 < len(e.stages) {
			return e.stages[i+1].in
		}
		return sinkQ
	}

	// Source.
	g.Go(func() error {
		q := queueAfter(-1)
		err := r.produce(gctx, func(env envelope) error {
			e.src.batchesOut.add(1)
			e.src.itemsOut.add(env.b.NumRows())
			return q.push(gctx, env, &e.src.waitOut)
		})
		if err != nil {
			return err
		}
		q.close()
		return nil
	})
	// Stages.
	for i, s := range e.stages {
		out := queueAfter(i)
		if s.Ordered && s.Workers > 1 {
			e.startOrdered(gctx, g, s, out)
		} else {
			e.startUnordered(gctx, g, s, out)
		}
	}
	// Sink.
	g.Go(func() error {
		for {
			env, ok, err := sinkQ.pop(gctx, &e.snk.waitIn)
			if err != nil {
				return err
			}
			if !ok {
				return nil
			}
			n := env.b.NumRows()
			e.snk.batchesIn.add(1)
			e.snk.itemsIn.add(n)
			t0 := time.Now()
			err = r.consume(gctx, env)
			e.snk.busy.add(int64(time.Since(t0)))
			if err != nil {
				return err
			}
			e.snk.batchesOut.add(1)
			e.snk.itemsOut.add(n)
		}
	})

	err := g.Wait()
	// Everything has stopped: release what is still queued.
	for _, s := range e.stages {
		s.in.drain()
		if s.jobs != nil {
			for j := range s.jobs {
				j.env.b.Release()
			}
			if s.held != nil {
				select {
				case r := <-s.held:
					releaseEnvs(r.outs)
				default:
				}
			}
			for res := range s.order {
				select {
				case r := <-res:
					releaseEnvs(r.outs)
				default:
				}
			}
		}
	}
	sinkQ.drain()
	cctx := context.WithoutCancel(ctx)
	if cerr := e.closeOps(cctx); cerr != nil && err == nil {
		err = cerr
	}
	if err == nil {
		err = r.finish(cctx)
	}
	if err != nil {
		r.abort(cctx)
		if ctx.Err() != nil && !errors.Is(err, ErrThresholdExceeded) {
			return context.Cause(ctx)
		}
	}
	return err
}

// makeOps gives every worker its operator.
func (e *engine) makeOps(ctx context.Context) error {
	for _, s := range e.stages {
		if s.NewOp == nil {
			s.ops = []Operator{s.Op}
			continue
		}
		for w := 0; w < s.Workers; w++ {
			op, err := s.NewOp(ctx, w)
			if err == nil && op == nil {
				err = errors.New("NewOp returned no operator")
			}
			if err != nil {
				_ = e.closeOps(context.WithoutCancel(ctx))
				return fmt.Errorf("stage %q: worker %d: %w", s.Name, w, err)
			}
			s.ops = append(s.ops, op)
		}
	}
	return nil
}

// closeOps closes every operator made so far, once; it returns the first error.
func (e *engine) closeOps(ctx context.Context) error {
	var first error
	for _, s := range e.stages {
		for _, op := range s.ops {
			if err := op.Close(ctx); err != nil && first == nil {
				first = fmt.Errorf("stage %q: close: %w", s.Name, err)
			}
		}
		s.ops = nil
	}
	return first
}

func (s *stageRun) op(worker int) Operator {
	if len(s.ops) == 1 {
		return s.ops[0]
	}
	return s.ops[worker]
}

func releaseEnvs(envs []envelope) {
	for _, env := range envs {
		env.b.Release()
	}
}

func (e *engine) startUnordered(ctx context.Context, g *errgroup.Group, s *stageRun, out *queue) {
	var wg sync.WaitGroup
	var failed atomic.Bool
	for w := 0; w < s.Workers; w++ {
		wg.Add(1)
		op := s.op(w)
		g.Go(func() error {
			defer wg.Done()
			err := func() error {
				for {
					env, ok, err := s.in.pop(ctx, &s.m.waitIn)
					if err != nil {
						return err
					}
					if !ok {
						return nil
					}
					outs, err := e.handle(ctx, s, op, env)
					if err != nil {
						return err
					}
					if err := pushAll(ctx, out, outs, &s.m.waitOut); err != nil {
						return err
					}
				}
			}()
			if err != nil {
				failed.Store(true)
			}
			return err
		})
	}
	g.Go(func() error {
		wg.Wait()
		if !failed.Load() {
			out.close()
		}
		return nil
	})
}

func pushAll(ctx context.Context, q *queue, outs []envelope, wait *int64Counter) error {
	for i, o := range outs {
		if err := q.push(ctx, o, wait); err != nil {
			releaseEnvs(outs[i+1:])
			return err
		}
	}
	return nil
}

// startOrdered runs a stage with several workers whose output keeps the input's order: a
// dispatcher hands inputs to the workers and their result slots, in order, to an emitter.
func (e *engine) startOrdered(ctx context.Context, g *errgroup.Group, s *stageRun, out *queue) {
	s.jobs = make(chan orderedJob, s.Workers)
	s.order = make(chan chan orderedResult, 2*s.Workers)
	var dispatched atomic.Bool
	g.Go(func() error {
		defer close(s.jobs)
		defer close(s.order)
		for {
			env, ok, err := s.in.pop(ctx, &s.m.waitIn)
			if err != nil {
				return err
			}
			if !ok {
				dispatched.Store(true)
				return nil
			}
			res := make(chan orderedResult, 1)
			select {
			case s.order <- res:
			case <-ctx.Done():
				env.b.Release()
				return context.Cause(ctx)
			}
			select {
			case s.jobs <- orderedJob{env: env, res: res}:
			case <-ctx.Done():
				env.b.Release()
				return context.Cause(ctx)
			}
		}
	})
	for w := 0; w < s.Workers; w++ {
		op := s.op(w)
		g.Go(func() error {
			for {
				var j orderedJob
				var ok bool
				select {
				case j, ok = <-s.jobs:
				case <-ctx.Done():
					return context.Cause(ctx)
				}
				if !ok {
					return nil
				}
				outs, err := e.handle(ctx, s, op, j.env)
				j.res <- orderedResult{outs: outs, err: err}
				if err != nil {
					return err
				}
			}
		})
	}
	g.Go(func() error {
		for {
			var res chan orderedResult
			var ok bool
			select {
			case res, ok = <-s.order:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
			if !ok {
				if dispatched.Load() {
					out.close()
					return nil
				}
				return context.Cause(ctx)
			}
			var r orderedResult
			select {
			case r = <-res:
			case <-ctx.Done():
				s.held = res
				return context.Cause(ctx)
			}
			if r.err != nil {
				return r.err
			}
			if err := pushAll(ctx, out, r.outs, &s.m.waitOut); err != nil {
				return err
			}
		}
	})
}

// handle runs one input through a stage, with retries; it returns the outputs, or an error
// only when the run must stop.
func (e *engine) handle(ctx context.Context, s *stageRun, op Operator, env envelope) ([]envelope, error) {
	in := env.b
	rows := in.NumRows()
	s.m.batchesIn.add(1)
	s.m.itemsIn.add(rows)
	if env.bypass {
		s.m.batchesOut.add(1)
		s.m.itemsOut.add(rows)
		return []envelope{env}, nil
	}
	var last error
	for try := 1; try <= e.maxTries; try++ {
		if try > 1 {
			s.m.retries.add(1)
		}
		in.Retain()
		t0 := time.Now()
		outs, err := e.attempt(ctx, s, op, in)
		s.m.busy.add(int64(time.Since(t0)))
		if err == nil {
			in.Release()
			envs := make([]envelope, 0, len(outs))
			for _, o := range outs {
				if o == nil {
					continue
				}
				s.m.batchesOut.add(1)
				s.m.itemsOut.add(o.NumRows())
				envs = append(envs, envelope{b: o, part: env.part})
			}
			return envs, nil
		}
		if ctx.Err() != nil {
			in.Release()
			return nil, context.Cause(ctx)
		}
		if errors.Is(err, ErrFatal) {
			in.Release()
			return nil, fmt.Errorf("stage %q: %w", s.Name, err)
		}
		last = err
		attrs := []any{"stage", s.Name, "try", try, "of", e.maxTries, "rows", rows, "err", err}
		var pe *PanicError
		if errors.As(err, &pe) {
			attrs = append(attrs, "stack", string(pe.Stack))
		}
		e.log.Warn("dataflow: operator call failed", attrs...)
	}
	s.m.failed.add(1)
	mbErr := &MiniBatchError{Stage: s.Name, Tries: e.maxTries, Err: last}
	if err := e.exhausted(env, rows); err != nil {
		in.Release()
		return nil, err
	}
	if e.plan.Schema == nil {
		in.Release()
		return nil, nil
	}
	paths, errs := make([]string, rows), make([]string, rows)
	pc, ec := Paths(in), Errors(in)
	for i := range paths {
		if pc != nil {
			paths[i] = pc.Value(i)
		}
		errs[i] = mbErr.Error()
		if ec != nil && ec.IsValid(i) {
			errs[i] = ec.Value(i)
		}
	}
	in.Release()
	eb := ErrorRows(e.mem, e.plan.Schema, paths, errs)
	s.m.batchesOut.add(1)
	s.m.itemsOut.add(rows)
	return []envelope{{b: eb, part: env.part, bypass: true, failed: true}}, nil
}

func (e *engine) exhausted(env envelope, rows int64) error { return e.cur.exhausted(env, rows) }

// attempt makes one operator call, recovering panics and enforcing the invocation timeout.
// in is the call's own reference (Process owns it).
func (e *engine) attempt(ctx context.Context, s *stageRun, op Operator, in arrow.RecordBatch) ([]arrow.RecordBatch, error) {
	if e.opts.InvocationTimeout <= 0 {
		return safeProcess(ctx, s.Name, op, in)
	}
	actx, cancel := context.WithTimeoutCause(ctx, e.opts.InvocationTimeout, ErrInvocationTimeout)
	defer cancel()
	type result struct {
		outs []arrow.RecordBatch
		err  error
	}
	ch := make(chan result, 1)
	var mu sync.Mutex
	abandoned := false
	go func() {
		outs, err := safeProcess(actx, s.Name, op, in)
		mu.Lock()
		defer mu.Unlock()
		if abandoned {
			releaseBatches(outs)
			return
		}
		ch <- result{outs, err}
	}()
	timeoutErr := func() error {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return fmt.Errorf("stage %q: %w (%s)", s.Name, ErrInvocationTimeout, e.opts.InvocationTimeout)
	}
	select {
	case r := <-ch:
		if actx.Err() != nil && r.err != nil {
			releaseBatches(r.outs)
			return nil, timeoutErr()
		}
		return r.outs, r.err
	case <-actx.Done():
	}
	// Timed out (or the run was cancelled): give the call a moment to notice, then abandon it.
	grace := min(e.opts.InvocationTimeout, time.Second)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case r := <-ch:
		releaseBatches(r.outs)
	case <-t.C:
		mu.Lock()
		abandoned = true
		select {
		case r := <-ch:
			releaseBatches(r.outs)
		default:
		}
		mu.Unlock()
		e.log.Warn("dataflow: abandoned an operator call that ignored its context", "stage", s.Name)
	}
	return nil, timeoutErr()
}

func releaseBatches(bs []arrow.RecordBatch) {
	for _, b := range bs {
		if b != nil {
			b.Release()
		}
	}
}

// safeProcess calls the operator, turning a panic into a *PanicError. On error any outputs
// are released.
func safeProcess(ctx context.Context, stage string, op Operator, in arrow.RecordBatch) (outs []arrow.RecordBatch, err error) {
	defer func() {
		if v := recover(); v != nil {
			releaseBatches(outs)
			outs, err = nil, &PanicError{Stage: stage, Value: v, Stack: debug.Stack()}
		}
	}()
	outs, err = op.Process(ctx, in)
	if err != nil {
		releaseBatches(outs)
		return nil, err
	}
	return outs, nil
}

// streamRunner is Run's runner: a plain Source and Sink.
type streamRunner struct {
	e      *engine
	src    Source
	sink   Sink
	closed bool
}

func (r *streamRunner) produce(ctx context.Context, emit func(envelope) error) error {
	for {
		t0 := time.Now()
		b, err := r.src.Next(ctx)
		r.e.src.busy.add(int64(time.Since(t0)))
		if err == io.EOF {
			return nil
		}
		if err != nil {
			if b != nil {
				b.Release()
			}
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			return fmt.Errorf("source: %w", err)
		}
		if b == nil {
			continue
		}
		r.e.src.batchesIn.add(1)
		r.e.src.itemsIn.add(b.NumRows())
		if err := r.e.tally.add(Counts{MiniBatches: 1}); err != nil {
			b.Release()
			return err
		}
		if err := emit(envelope{b: b}); err != nil {
			return err
		}
	}
}

func (r *streamRunner) consume(ctx context.Context, env envelope) error {
	n, failed := env.b.NumRows(), FailedRows(env.b)
	if err := r.sink.Write(ctx, env.b); err != nil {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return fmt.Errorf("sink: %w", err)
	}
	return r.e.tally.add(Counts{Items: n, FailedItems: failed})
}

func (r *streamRunner) exhausted(env envelope, rows int64) error {
	d := Counts{FailedMiniBatches: 1}
	if r.e.plan.Schema == nil { // the rows will not reach the sink: count them here
		d.Items, d.FailedItems = rows, rows
	}
	return r.e.tally.add(d)
}

func (r *streamRunner) finish(ctx context.Context) error {
	err := r.e.tally.final()
	r.closed = true
	if cerr := r.src.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("source: close: %w", cerr)
	}
	if cerr := r.sink.Close(ctx); cerr != nil && err == nil {
		err = fmt.Errorf("sink: close: %w", cerr)
	}
	return err
}

func (r *streamRunner) abort(ctx context.Context) {
	if r.closed {
		return
	}
	r.closed = true
	_ = r.src.Close()
	_ = r.sink.Close(ctx)
}
