package dataflow_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluice-ml/sluice/engine/dataflow"
)

func TestRunPassesEveryItemOnce(t *testing.T) {
	for _, tc := range []struct {
		name    string
		workers int
		ordered bool
	}{{"one worker", 1, false}, {"unordered", 4, false}, {"ordered", 4, true}} {
		t.Run(tc.name, func(t *testing.T) {
			mem := checkedAlloc(t)
			sink := &collectSink{}
			var order []string
			var mu sync.Mutex
			plan := dataflow.Plan{
				Source: &itemSource{mem: mem, n: 1000, rows: 7},
				Stages: []dataflow.Stage{
					{Name: "compute", Workers: tc.workers, Ordered: tc.ordered, Op: dataflow.OperatorFunc(
						func(ctx context.Context, in arrow.RecordBatch) ([]arrow.RecordBatch, error) {
							if hash64(dataflow.Paths(in).Value(0))%3 == 0 {
								time.Sleep(time.Millisecond) // shuffle completion order
							}
							out, err := compute(ctx, in, func(p string) bool { return hash64(p)%10 == 0 })
							return []arrow.RecordBatch{out}, err
						})},
					{Name: "observe", Op: dataflow.OperatorFunc(func(ctx context.Context, in arrow.RecordBatch) ([]arrow.RecordBatch, error) {
						mu.Lock()
						order = append(order, dataflow.Paths(in).Value(0))
						mu.Unlock()
						return []arrow.RecordBatch{in}, nil
					})},
				},
				Sink:   sink,
				Schema: outSchema,
			}
			m := dataflow.NewMetrics()
			res, err := dataflow.Run(context.Background(), plan, dataflow.Options{Logger: quiet, Allocator: mem, Thresholds: dataflow.IgnoreFailures, Metrics: m})
			if err != nil {
				t.Fatal(err)
			}
			rows := sink.sorted()
			if len(rows) != 1000 {
				t.Fatalf("got %d rows, want 1000", len(rows))
			}
			for i, r := range rows {
				if !strings.HasPrefix(r, itemPath(i)+"|") {
					t.Fatalf("row %d = %q, want item %s", i, r, itemPath(i))
				}
			}
			if res.Items != 1000 || res.MiniBatches != 143 || res.FailedMiniBatches != 0 {
				t.Errorf("counts = %+v", res.Counts)
			}
			var wantFailed int64
			for i := 0; i < 1000; i++ {
				if hash64(itemPath(i))%10 == 0 {
					wantFailed++
				}
			}
			if res.FailedItems != wantFailed {
				t.Errorf("failed items = %d, want %d", res.FailedItems, wantFailed)
			}
			if tc.ordered || tc.workers == 1 {
				for i := 1; i < len(order); i++ {
					if order[i] < order[i-1] {
						t.Fatalf("ordered stage delivered %s after %s", order[i], order[i-1])
					}
				}
			}
			if sink.closed != 1 {
				t.Errorf("sink closed %d times", sink.closed)
			}
			st := res.Stats
			if len(st.Stages) != 4 || st.Stages[1].Name != "compute" || st.Stages[1].ItemsIn != 1000 || st.Stages[3].ItemsIn != 1000 {
				t.Errorf("stats = %+v", st.Stages)
			}
			if !strings.HasSuffix(st.Bottleneck, "-bound") {
				t.Errorf("bottleneck = %q", st.Bottleneck)
			}
		})
	}
}

// flaky fails (by error, panic or hanging past the timeout) the first failTries calls for
// each input batch, or every call for the batches in always.
type flaky struct {
	mode      string // "error", "panic", "hang"
	failTries int
	always    map[string]bool // first path of the batch
	mu        sync.Mutex
	calls     map[string]int
	total     atomic.Int64
}

func (f *flaky) Process(ctx context.Context, in arrow.RecordBatch) ([]arrow.RecordBatch, error) {
	defer in.Release()
	f.total.Add(1)
	key := dataflow.Paths(in).Value(0)
	f.mu.Lock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[key]++
	n := f.calls[key]
	f.mu.Unlock()
	if n <= f.failTries || f.always[key] {
		switch f.mode {
		case "panic":
			panic("boom " + key)
		case "hang":
			<-ctx.Done()
			return nil, ctx.Err()
		default:
			return nil, fmt.Errorf("transient failure on %s", key)
		}
	}
	in.Retain()
	out, err := compute(ctx, in, func(p string) bool { return strings.HasSuffix(p, "3.bin") })
	return []arrow.RecordBatch{out}, err
}

func (f *flaky) Close(context.Context) error { return nil }

func TestThresholdsAndRetries(t *testing.T) {
	// 100 items in 10 mini-batches of 10; items ending in 3 fail (10 items).
	always2 := map[string]bool{itemPath(20): true, itemPath(50): true}
	type want struct {
		threshold   string // "" for success
		failedItems int64
		failedMB    int64
		calls       int64 // operator calls, when checked
		errSubstr   string
	}
	for _, tc := range []struct {
		name string
		th   dataflow.Thresholds
		op   *flaky
		opts dataflow.Options
		want want
	}{
		{"error_threshold at limit", dataflow.Thresholds{ErrorThreshold: 10, AllowedFailedCount: 0, AllowedFailedPercent: 0},
			&flaky{}, dataflow.Options{}, want{failedItems: 10, calls: 10}},
		{"error_threshold crossed", dataflow.Thresholds{ErrorThreshold: 9, AllowedFailedCount: -1, AllowedFailedPercent: -1},
			&flaky{}, dataflow.Options{}, want{threshold: "error_threshold"}},
		{"error_threshold -1", dataflow.Thresholds{ErrorThreshold: -1, AllowedFailedCount: 0, AllowedFailedPercent: 0},
			&flaky{}, dataflow.Options{}, want{failedItems: 10}},
		{"allowed_failed_count at limit", dataflow.Thresholds{ErrorThreshold: -1, AllowedFailedCount: 2, AllowedFailedPercent: -1},
			&flaky{always: always2}, dataflow.Options{MaxTries: 2}, want{failedItems: 28, failedMB: 2, calls: 12}},
		{"allowed_failed_count crossed", dataflow.Thresholds{ErrorThreshold: -1, AllowedFailedCount: 1, AllowedFailedPercent: -1},
			&flaky{always: always2}, dataflow.Options{MaxTries: 2}, want{threshold: "allowed_failed_count"}},
		{"allowed_failed_count -1", dataflow.Thresholds{ErrorThreshold: -1, AllowedFailedCount: -1, AllowedFailedPercent: 0},
			&flaky{always: always2}, dataflow.Options{MaxTries: 2}, want{threshold: "allowed_failed_percent"}},
		{"allowed_failed_percent at limit", dataflow.Thresholds{ErrorThreshold: -1, AllowedFailedCount: -1, AllowedFailedPercent: 20},
			&flaky{always: always2}, dataflow.Options{MaxTries: 2}, want{failedItems: 28, failedMB: 2}},
		{"allowed_failed_percent crossed", dataflow.Thresholds{ErrorThreshold: -1, AllowedFailedCount: -1, AllowedFailedPercent: 19.9},
			&flaky{always: always2}, dataflow.Options{MaxTries: 2}, want{threshold: "allowed_failed_percent"}},
		{"all -1", dataflow.IgnoreFailures,
			&flaky{always: always2}, dataflow.Options{MaxTries: 2}, want{failedItems: 28, failedMB: 2}},
		{"retry then success (error)", dataflow.Thresholds{ErrorThreshold: 10},
			&flaky{failTries: 2}, dataflow.Options{MaxTries: 3}, want{failedItems: 10, calls: 30}},
		{"retry then success (panic)", dataflow.Thresholds{ErrorThreshold: 10},
			&flaky{mode: "panic", failTries: 1}, dataflow.Options{MaxTries: 2}, want{failedItems: 10, calls: 20}},
		{"retry then success (run_invocation_timeout)", dataflow.Thresholds{ErrorThreshold: 10},
			&flaky{mode: "hang", failTries: 1}, dataflow.Options{MaxTries: 2, InvocationTimeout: 250 * time.Millisecond}, want{failedItems: 10, calls: 20}},
		{"retry exhaustion (error)", dataflow.IgnoreFailures,
			&flaky{failTries: 3}, dataflow.Options{MaxTries: 3}, want{failedItems: 100, failedMB: 10, calls: 30, errSubstr: "after 3 tries"}},
		{"retry exhaustion (panic)", dataflow.IgnoreFailures,
			&flaky{mode: "panic", always: always2}, dataflow.Options{MaxTries: 2}, want{failedItems: 28, failedMB: 2, calls: 12, errSubstr: "panicked: boom"}},
		{"retry exhaustion (run_invocation_timeout)", dataflow.IgnoreFailures,
			&flaky{mode: "hang", always: always2}, dataflow.Options{MaxTries: 2, InvocationTimeout: 250 * time.Millisecond}, want{failedItems: 28, failedMB: 2, calls: 12, errSubstr: "run_invocation_timeout"}},
		{"retry exhaustion crosses allowed_failed_count", dataflow.Thresholds{ErrorThreshold: -1, AllowedFailedCount: 0, AllowedFailedPercent: -1},
			&flaky{failTries: 5}, dataflow.Options{MaxTries: 1}, want{threshold: "allowed_failed_count"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			mem := checkedAlloc(t)
			sink := &collectSink{}
			plan := dataflow.Plan{
				Source: &itemSource{mem: mem, n: 100, rows: 10},
				Stages: []dataflow.Stage{{Name: "score", Op: tc.op}},
				Sink:   sink, Schema: outSchema,
			}
			opts := tc.opts
			opts.Allocator, opts.Thresholds, opts.Logger = mem, tc.th, quiet
			res, err := dataflow.Run(context.Background(), plan, opts)
			if tc.want.threshold != "" {
				var te *dataflow.ThresholdError
				if !errors.As(err, &te) || !errors.Is(err, dataflow.ErrThresholdExceeded) || te.Name != tc.want.threshold {
					t.Fatalf("err = %v, want %s exceeded", err, tc.want.threshold)
				}
				if !strings.Contains(err.Error(), tc.want.threshold) {
					t.Errorf("message %q does not name the threshold", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.FailedItems != tc.want.failedItems || res.FailedMiniBatches != tc.want.failedMB || res.Items != 100 || res.MiniBatches != 10 {
				t.Errorf("counts = %+v, want %d failed items, %d failed mini-batches", res.Counts, tc.want.failedItems, tc.want.failedMB)
			}
			if c := tc.op.total.Load(); tc.want.calls != 0 && c != tc.want.calls {
				t.Errorf("operator calls = %d, want %d", c, tc.want.calls)
			}
			rows := sink.sorted()
			if len(rows) != 100 {
				t.Fatalf("got %d rows, want every item once", len(rows))
			}
			var errRows int64
			for _, r := range rows {
				if !strings.HasSuffix(r, "|<null>") {
					errRows++
					if tc.want.errSubstr != "" && !strings.HasSuffix(r, "3.bin: synthetic failure") && !strings.Contains(r, tc.want.errSubstr) {
						t.Errorf("error row %q does not mention %q", r, tc.want.errSubstr)
					}
				}
			}
			if errRows != tc.want.failedItems {
				t.Errorf("error rows = %d, want %d", errRows, tc.want.failedItems)
			}
		})
	}
}

func TestFatalStopsRun(t *testing.T) {
	mem := checkedAlloc(t)
	var calls atomic.Int64
	plan := dataflow.Plan{
		Source: &itemSource{mem: mem, n: 100, rows: 10},
		Stages: []dataflow.Stage{{Name: "load", Op: dataflow.OperatorFunc(func(ctx context.Context, in arrow.RecordBatch) ([]arrow.RecordBatch, error) {
			in.Release()
			calls.Add(1)
			return nil, dataflow.Fatal(errors.New("model cannot load"))
		})}},
		Sink: &collectSink{},
	}
	_, err := dataflow.Run(context.Background(), plan, dataflow.Options{Logger: quiet, Allocator: mem, Thresholds: dataflow.IgnoreFailures})
	if !errors.Is(err, dataflow.ErrFatal) || !strings.Contains(err.Error(), "model cannot load") {
		t.Fatalf("err = %v", err)
	}
	if calls.Load() != 1 {
		t.Errorf("fatal error retried: %d calls", calls.Load())
	}
}

func TestCancelReleasesEverything(t *testing.T) {
	mem := checkedAlloc(t)
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int64
	plan := dataflow.Plan{
		Source: &itemSource{mem: mem, n: 1 << 30, rows: 16},
		Stages: []dataflow.Stage{
			{Name: "a", Workers: 3, Ordered: true, Op: dataflow.OperatorFunc(func(ctx context.Context, in arrow.RecordBatch) ([]arrow.RecordBatch, error) {
				if n.Add(1) == 200 {
					cancel()
				}
				in.Retain()
				return []arrow.RecordBatch{in, in}, nil // fan-out
			})},
			{Name: "b", Workers: 2, Op: dataflow.OperatorFunc(func(ctx context.Context, in arrow.RecordBatch) ([]arrow.RecordBatch, error) {
				return []arrow.RecordBatch{in}, nil
			})},
		},
		Sink: &collectSink{},
	}
	_, err := dataflow.Run(ctx, plan, dataflow.Options{Logger: quiet, Allocator: mem, Thresholds: dataflow.IgnoreFailures})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// sessionOp stands for a per-device session: it must never be used by two goroutines at once.
type sessionOp struct {
	busy   atomic.Bool
	calls  atomic.Int64
	closed atomic.Int64
}

func (s *sessionOp) Process(ctx context.Context, in arrow.RecordBatch) ([]arrow.RecordBatch, error) {
	if !s.busy.CompareAndSwap(false, true) {
		panic("operator used concurrently")
	}
	defer s.busy.Store(false)
	s.calls.Add(1)
	out, err := compute(ctx, in, nil)
	return []arrow.RecordBatch{out}, err
}

func (s *sessionOp) Close(context.Context) error { s.closed.Add(1); return nil }

func TestNewOpPerWorker(t *testing.T) {
	for _, ordered := range []bool{false, true} {
		t.Run(fmt.Sprint("ordered=", ordered), func(t *testing.T) {
			mem := checkedAlloc(t)
			var mu sync.Mutex
			var ops []*sessionOp
			sink := &collectSink{}
			plan := dataflow.Plan{
				Source: &itemSource{mem: mem, n: 500, rows: 5},
				Stages: []dataflow.Stage{{Name: "infer", Workers: 3, Ordered: ordered,
					NewOp: func(ctx context.Context, worker int) (dataflow.Operator, error) {
						mu.Lock()
						defer mu.Unlock()
						op := &sessionOp{}
						ops = append(ops, op)
						return op, nil
					}}},
				Sink: sink, Schema: outSchema,
			}
			// MaxTries 1: a concurrent use would panic and surface as failed mini-batches.
			res, err := dataflow.Run(context.Background(), plan, dataflow.Options{Allocator: mem, MaxTries: 1, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			if len(ops) != 3 || res.FailedMiniBatches != 0 || len(sink.sorted()) != 500 {
				t.Fatalf("%d operators, %+v, %d rows", len(ops), res.Counts, len(sink.sorted()))
			}
			var calls int64
			for _, op := range ops {
				calls += op.calls.Load()
				if op.closed.Load() != 1 {
					t.Errorf("operator closed %d times", op.closed.Load())
				}
			}
			if calls != 100 {
				t.Errorf("%d calls, want 100", calls)
			}
		})
	}
	t.Run("NewOp error", func(t *testing.T) {
		mem := checkedAlloc(t)
		first := &sessionOp{}
		src := &itemSource{mem: mem, n: 10, rows: 5}
		plan := dataflow.Plan{
			Source: src,
			Stages: []dataflow.Stage{{Name: "infer", Workers: 2, NewOp: func(ctx context.Context, worker int) (dataflow.Operator, error) {
				if worker == 1 {
					return nil, errors.New("no second device")
				}
				return first, nil
			}}},
			Sink: &collectSink{},
		}
		_, err := dataflow.Run(context.Background(), plan, dataflow.Options{Allocator: mem})
		if err == nil || !strings.Contains(err.Error(), "no second device") || first.closed.Load() != 1 || !src.closed {
			t.Fatalf("err = %v, first closed %d, source closed %v", err, first.closed.Load(), src.closed)
		}
	})
	t.Run("both Op and NewOp", func(t *testing.T) {
		plan := dataflow.Plan{Source: &itemSource{}, Sink: &collectSink{},
			Stages: []dataflow.Stage{{Op: &sessionOp{}, NewOp: func(context.Context, int) (dataflow.Operator, error) { return nil, nil }}}}
		if _, err := dataflow.Run(context.Background(), plan, dataflow.Options{}); !errors.Is(err, dataflow.ErrBadPlan) {
			t.Fatalf("err = %v", err)
		}
	})
}

// Without an output schema, the items of a failed mini-batch cannot become rows: they are
// counted as failed items and the sink does not see them.
func TestFailedMiniBatchWithoutSchema(t *testing.T) {
	mem := checkedAlloc(t)
	sink := &collectSink{}
	op := &flaky{always: map[string]bool{itemPath(0): true, itemPath(50): true}}
	plan := dataflow.Plan{Source: &itemSource{mem: mem, n: 100, rows: 10}, Stages: []dataflow.Stage{{Name: "score", Op: op}}, Sink: sink}
	res, err := dataflow.Run(context.Background(), plan, dataflow.Options{Allocator: mem, MaxTries: 1, Logger: quiet, Thresholds: dataflow.IgnoreFailures})
	if err != nil {
		t.Fatal(err)
	}
	if res.Items != 100 || res.FailedMiniBatches != 2 || res.FailedItems != 20+8 || len(sink.sorted()) != 80 {
		t.Errorf("counts %+v, %d rows at the sink", res.Counts, len(sink.sorted()))
	}
}
