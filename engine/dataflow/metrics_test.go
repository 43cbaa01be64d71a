package dataflow_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluice-ml/sluice/engine/dataflow"
)

// The bottleneck is the stage whose workers are busiest: a stage that sleeps on every batch
// against no-op neighbours (the sleep sets a floor on its busy time, not a timing assertion).
func TestBottleneck(t *testing.T) {
	noop := dataflow.OperatorFunc(func(_ context.Context, in arrow.RecordBatch) ([]arrow.RecordBatch, error) {
		return []arrow.RecordBatch{in}, nil
	})
	slow := dataflow.OperatorFunc(func(_ context.Context, in arrow.RecordBatch) ([]arrow.RecordBatch, error) {
		time.Sleep(2 * time.Millisecond)
		return []arrow.RecordBatch{in}, nil
	})
	for _, tc := range []struct {
		name string
		sink dataflow.Sink
		ops  [2]dataflow.Operator
		want string
	}{
		{"decode", &collectSink{}, [2]dataflow.Operator{slow, noop}, "decode-bound"},
		{"infer", &collectSink{}, [2]dataflow.Operator{noop, slow}, "infer-bound"},
		{"write", &slowSink{delay: 2 * time.Millisecond}, [2]dataflow.Operator{noop, noop}, "write-bound"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := checkedAlloc(t)
			m := dataflow.NewMetrics()
			plan := dataflow.Plan{
				Source: &itemSource{mem: mem, n: 400, rows: 10},
				Stages: []dataflow.Stage{{Name: "decode", Op: tc.ops[0]}, {Name: "infer", Op: tc.ops[1]}},
				Sink:   tc.sink,
			}
			res, err := dataflow.Run(context.Background(), plan, dataflow.Options{Allocator: mem, Metrics: m, TotalItems: 400, Thresholds: dataflow.IgnoreFailures})
			if err != nil {
				t.Fatal(err)
			}
			s := m.Snapshot()
			if s.Bottleneck != tc.want || res.Stats.Bottleneck != tc.want {
				t.Errorf("bottleneck %q, want %q; stages %+v", s.Bottleneck, tc.want, s.Stages)
			}
			if s.ItemsDone != 400 || s.ItemsTotal != 400 || s.ETA != 0 || s.ItemsPerSec <= 0 {
				t.Errorf("snapshot %+v", s)
			}
			line := s.String()
			if !strings.HasPrefix(line, "400/400 items") || !strings.HasSuffix(line, tc.want) {
				t.Errorf("progress line %q", line)
			}
			for _, st := range s.Stages {
				if st.ItemsIn != 400 && st.Name != "read" || st.ItemsOut != 400 {
					t.Errorf("stage %+v", st)
				}
			}
		})
	}
}
