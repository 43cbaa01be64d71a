package dataflow

import (
	"context"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"golang.org/x/sync/semaphore"
)

// envelope is a batch in flight with what the engine knows about it.
type envelope struct {
	b      arrow.RecordBatch
	part   *partState // the partition it belongs to; nil in Run
	bypass bool       // error rows already in the output schema: skip the remaining operators
	failed bool       // the rows of a mini-batch that failed as a whole
	weight int64      // bytes held in the queue's byte budget
}

// queue is a bounded FIFO between two stages, counted in batches (channel capacity) and in
// bytes (a weighted semaphore). A batch larger than the byte budget is let through alone.
type queue struct {
	ch       chan envelope
	bytes    *semaphore.Weighted
	maxBytes int64
}

func newQueue(batches int, maxBytes int64) *queue {
	return &queue{ch: make(chan envelope, batches), bytes: semaphore.NewWeighted(maxBytes), maxBytes: maxBytes}
}

// push enqueues env, blocking while the queue is full; the time blocked is added to *wait.
// On failure (ctx done) env's batch is released.
func (q *queue) push(ctx context.Context, env envelope, wait *int64Counter) error {
	w := batchBytes(env.b)
	if w > q.maxBytes {
		w = q.maxBytes
	}
	if w < 1 {
		w = 1
	}
	var t0 time.Time
	if !q.bytes.TryAcquire(w) {
		t0 = time.Now()
		if err := q.bytes.Acquire(ctx, w); err != nil {
			env.b.Release()
			return context.Cause(ctx)
		}
	}
	env.weight = w
	select {
	case q.ch <- env:
	default:
		if t0.IsZero() {
			t0 = time.Now()
		}
		select {
		case q.ch <- env:
		case <-ctx.Done():
			q.bytes.Release(w)
			env.b.Release()
			return context.Cause(ctx)
		}
	}
	if !t0.IsZero() {
		wait.add(int64(time.Since(t0)))
	}
	return nil
}

// pop dequeues the next envelope; ok is false when the queue is closed and empty. The time
// spent waiting for input is added to *wait.
func (q *queue) pop(ctx context.Context, wait *int64Counter) (envelope, bool, error) {
	select {
	case env, ok := <-q.ch:
		if ok {
			q.bytes.Release(env.weight)
		}
		return env, ok, nil
	default:
	}
	t0 := time.Now()
	select {
	case env, ok := <-q.ch:
		wait.add(int64(time.Since(t0)))
		if ok {
			q.bytes.Release(env.weight)
		}
		return env, ok, nil
	case <-ctx.Done():
		return envelope{}, false, context.Cause(ctx)
	}
}

// close marks the end of the stream; call it once, after the last push, on success only.
func (q *queue) close() { close(q.ch) }

// drain releases whatever is left in the queue; call it once nobody pushes or pops any more.
func (q *queue) drain() {
	for {
		select {
		case env, ok := <-q.ch:
			if !ok {
				return
			}
			env.b.Release()
		default:
			return
		}
	}
}
