package dataflow_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluice-ml/sluice/engine/dataflow"
	"github.com/sluice-ml/sluice/engine/dataflow/ledger"
	"github.com/sluice-ml/sluice/engine/dataflow/partition"
	"github.com/sluice-ml/sluice/ops/writers"
)

func testItems(n int) []partition.Item {
	items := make([]partition.Item, n)
	for i := range items {
		p := itemPath(i)
		items[i] = partition.Item{Path: p, Size: 10, Hash: fmt.Sprintf("%x", hash64(p))}
	}
	return items
}

func badItem(p string) bool { return hash64(p)%7 == 0 }

// computeStage fails items by badItem; calls counts its calls; stopAfter > 0 makes every call
// after that many fail fatally (a crash stand-in), once gate returns.
func computeStage(calls *atomic.Int64, stopAfter int64, gate func(ctx context.Context)) dataflow.Stage {
	return dataflow.Stage{Name: "compute", Workers: 2, Op: dataflow.OperatorFunc(func(ctx context.Context, in arrow.RecordBatch) ([]arrow.RecordBatch, error) {
		if n := calls.Add(1); stopAfter > 0 && n > stopAfter {
			in.Release()
			gate(ctx)
			return nil, dataflow.Fatal(errors.New("simulated crash"))
		}
		out, err := compute(ctx, in, badItem)
		return []arrow.RecordBatch{out}, err
	})}
}

func readIPCDir(t *testing.T, dir string, mem memory.Allocator) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "part-*.arrow"))
	var rows []string
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		r, err := ipc.NewFileReader(f, ipc.WithAllocator(mem))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i := 0; i < r.NumRecords(); i++ {
			rec, err := r.RecordBatch(i)
			if err != nil {
				t.Fatal(err)
			}
			rows = append(rows, rowStrings(rec)...)
		}
		r.Close()
		f.Close()
	}
	slices.Sort(rows)
	return rows
}

func TestPartitionedResumeSkipsCommitted(t *testing.T) {
	ctx := context.Background()
	mem := checkedAlloc(t)
	parts, err := partition.ByCount(testItems(1000), 100)
	if err != nil {
		t.Fatal(err)
	}
	// Reference.
	refDir := t.TempDir()
	var calls atomic.Int64
	plan := dataflow.Plan{Stages: []dataflow.Stage{computeStage(&calls, 0, nil)}, Schema: outSchema}
	ref, err := dataflow.RunPartitioned(ctx, plan, dataflow.Partitioned{Partitions: parts, Dir: refDir, Writer: writers.IPC{}},
		dataflow.Options{Allocator: mem, Thresholds: dataflow.IgnoreFailures, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	want := readIPCDir(t, refDir, mem)
	if len(want) != 1000 || ref.MiniBatches != 10 || len(ref.Partitions) != 10 {
		t.Fatalf("reference: %d rows, %+v", len(want), ref.Counts)
	}

	dir := t.TempDir()
	led, err := ledger.Open(ctx, filepath.Join(dir, "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	in := dataflow.Partitioned{Partitions: parts, Dir: filepath.Join(dir, "out"), Writer: writers.IPC{}, Ledger: led, Key: "k"}
	calls.Store(0)
	untilCommitted := func(ctx context.Context) { // crash only once a partition is committed
		for ctx.Err() == nil {
			if ps, _ := led.Partitions(ctx, "k"); len(ps) > 0 {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	plan = dataflow.Plan{Stages: []dataflow.Stage{computeStage(&calls, 4, untilCommitted)}, Schema: outSchema}
	_, err = dataflow.RunPartitioned(ctx, plan, in, dataflow.Options{Allocator: mem, Thresholds: dataflow.IgnoreFailures, Logger: quiet})
	if !errors.Is(err, dataflow.ErrFatal) {
		t.Fatalf("first run: err = %v, want the simulated crash", err)
	}
	committed, err := led.Partitions(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	if len(committed) == 0 || len(committed) > 4 {
		t.Fatalf("%d partitions committed by the crashed run, want 1..4", len(committed))
	}
	if tmp, _ := filepath.Glob(filepath.Join(dir, "out", ".part-*")); len(tmp) != 0 {
		t.Errorf("temporary files left after a failed run: %v", tmp)
	}
	// A committed file that went missing is redone too.
	var lost string
	for id, p := range committed {
		lost = id
		os.Remove(filepath.Join(dir, "out", p.File))
		break
	}

	calls.Store(0)
	plan = dataflow.Plan{Stages: []dataflow.Stage{computeStage(&calls, 0, nil)}, Schema: outSchema}
	res, err := dataflow.RunPartitioned(ctx, plan, in, dataflow.Options{Allocator: mem, Thresholds: dataflow.IgnoreFailures, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped != len(committed)-1 || calls.Load() != int64(10-res.Skipped) {
		t.Errorf("skipped %d, operator calls %d; %d were committed (one lost)", res.Skipped, calls.Load(), len(committed))
	}
	for _, p := range res.Partitions {
		if p.ID == lost && p.Skipped {
			t.Errorf("partition %s whose file was lost was skipped", lost)
		}
	}
	if res.Items != 1000 || res.FailedItems != ref.FailedItems || res.MiniBatches != 10 {
		t.Errorf("counts %+v, want those of the reference %+v", res.Counts, ref.Counts)
	}
	if got := readIPCDir(t, in.Dir, mem); !slices.Equal(got, want) {
		t.Errorf("resumed output differs from the reference (%d rows vs %d)", len(got), len(want))
	}
	errs, err := led.Items(ctx, "k", true)
	if err != nil || int64(len(errs)) != ref.FailedItems {
		t.Errorf("errors table: %d rows (%v), want %d", len(errs), err, ref.FailedItems)
	}
	for _, e := range errs {
		if !badItem(e.Path) || !strings.Contains(e.Error, "synthetic failure") || e.Hash == "" {
			t.Errorf("error record %+v", e)
		}
	}

	// A run over another input in the same folder leaves exactly that input's files.
	parts2, _ := partition.ByCount(testItems(150), 100)
	calls.Store(0)
	res, err = dataflow.RunPartitioned(ctx, plan, dataflow.Partitioned{Partitions: parts2, Dir: in.Dir, Writer: writers.IPC{}, Ledger: led, Key: "k"},
		dataflow.Options{Allocator: mem, Thresholds: dataflow.IgnoreFailures, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped != 1 { // the first 100 items make the same partition as before
		t.Errorf("skipped %d, want 1", res.Skipped)
	}
	if got := readIPCDir(t, in.Dir, mem); len(got) != 150 {
		t.Errorf("folder holds %d rows after the second input, want 150", len(got))
	}
	if ps, _ := led.Partitions(ctx, "k"); len(ps) != 2 {
		t.Errorf("ledger holds %d partitions, want 2", len(ps))
	}
}

func TestPartitionedRowMismatch(t *testing.T) {
	ctx := context.Background()
	parts, _ := partition.ByCount(testItems(50), 10)
	for _, tc := range []struct {
		name string
		op   func(ctx context.Context, in arrow.RecordBatch) ([]arrow.RecordBatch, error)
	}{
		{"dropped row", func(ctx context.Context, in arrow.RecordBatch) ([]arrow.RecordBatch, error) {
			out, err := compute(ctx, in, nil)
			if err != nil {
				return nil, err
			}
			defer out.Release()
			return []arrow.RecordBatch{out.NewSlice(1, out.NumRows())}, nil
		}},
		{"duplicated row", func(ctx context.Context, in arrow.RecordBatch) ([]arrow.RecordBatch, error) {
			out, err := compute(ctx, in, nil)
			if err != nil {
				return nil, err
			}
			return []arrow.RecordBatch{out, out.NewSlice(0, 1)}, nil
		}},
		{"renamed row", func(ctx context.Context, in arrow.RecordBatch) ([]arrow.RecordBatch, error) {
			out, err := compute(ctx, in, nil)
			if err != nil {
				return nil, err
			}
			defer out.Release()
			pb := array.NewStringBuilder(dataflow.Allocator(ctx))
			defer pb.Release()
			for i := 0; i < int(out.NumRows()); i++ {
				pb.Append("elsewhere/" + dataflow.Paths(out).Value(i))
			}
			pc := pb.NewArray()
			defer pc.Release()
			b, err := out.SetColumn(0, pc)
			return []arrow.RecordBatch{b}, err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := checkedAlloc(t)
			dir := t.TempDir()
			plan := dataflow.Plan{Stages: []dataflow.Stage{{Name: "bad", Op: dataflow.OperatorFunc(tc.op)}}, Schema: outSchema}
			_, err := dataflow.RunPartitioned(ctx, plan, dataflow.Partitioned{Partitions: parts, Dir: dir, Writer: writers.CSV{}},
				dataflow.Options{Allocator: mem, Thresholds: dataflow.IgnoreFailures, Logger: quiet})
			if !errors.Is(err, dataflow.ErrRowMismatch) {
				t.Fatalf("err = %v, want ErrRowMismatch", err)
			}
			if files, _ := filepath.Glob(filepath.Join(dir, ".part-*")); len(files) != 0 {
				t.Errorf("temporary files left: %v", files)
			}
		})
	}
}

func TestPartitionedThresholdCountsSkippedPartitions(t *testing.T) {
	ctx := context.Background()
	mem := checkedAlloc(t)
	parts, _ := partition.ByCount(testItems(200), 20)
	dir := t.TempDir()
	led, err := ledger.Open(ctx, filepath.Join(dir, "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	in := dataflow.Partitioned{Partitions: parts, Dir: filepath.Join(dir, "out"), Writer: writers.Parquet{}, Ledger: led, Key: "k"}
	var calls atomic.Int64
	plan := dataflow.Plan{Stages: []dataflow.Stage{computeStage(&calls, 0, nil)}, Schema: outSchema}
	res, err := dataflow.RunPartitioned(ctx, plan, in, dataflow.Options{Allocator: mem, Thresholds: dataflow.IgnoreFailures, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	failed := res.FailedItems
	if failed == 0 {
		t.Fatal("no failed items to count")
	}
	// Everything is committed: a rerun with a lower error_threshold fails on the recorded figures.
	th := dataflow.Thresholds{ErrorThreshold: failed - 1, AllowedFailedCount: -1, AllowedFailedPercent: -1}
	calls.Store(0)
	res, err = dataflow.RunPartitioned(ctx, plan, in, dataflow.Options{Allocator: mem, Thresholds: th, Logger: quiet})
	var te *dataflow.ThresholdError
	if !errors.As(err, &te) || te.Name != "error_threshold" || te.Failed != failed || calls.Load() != 0 {
		t.Fatalf("err = %v (calls %d), want error_threshold with %d failed items", err, calls.Load(), failed)
	}
	th.ErrorThreshold = failed
	if _, err := dataflow.RunPartitioned(ctx, plan, in, dataflow.Options{Allocator: mem, Thresholds: th, Logger: quiet}); err != nil {
		t.Fatal(err)
	}
}

func TestPartitionedMetricsAndEmptyPartition(t *testing.T) {
	ctx := context.Background()
	mem := checkedAlloc(t)
	parts := []partition.Partition{{ID: "empty"}}
	more, _ := partition.ByCount(testItems(30), 10)
	parts = append(parts, more...)
	m := dataflow.NewMetrics()
	var calls atomic.Int64
	dir := t.TempDir()
	plan := dataflow.Plan{Stages: []dataflow.Stage{computeStage(&calls, 0, nil)}, Schema: outSchema}
	res, err := dataflow.RunPartitioned(ctx, plan, dataflow.Partitioned{Partitions: parts, Dir: dir, Writer: writers.Text{}, BatchRows: 3},
		dataflow.Options{Allocator: mem, Thresholds: dataflow.IgnoreFailures, Metrics: m, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	s := m.Snapshot()
	if s.ItemsDone != 30 || s.ItemsTotal != 30 || s.ETA != 0 || s.Stages[1].BatchesIn != 13 || s.Stages[1].ItemsIn != 30 {
		t.Errorf("snapshot %+v", s)
	}
	if len(res.Partitions) != 4 {
		t.Errorf("%d partitions committed, want 4 (one empty)", len(res.Partitions))
	}
	if data, err := os.ReadFile(filepath.Join(dir, "part-empty.txt")); err != nil || len(data) != 0 {
		t.Errorf("empty partition file: %q, %v", data, err)
	}
}

func TestPartitionedLocksOutput(t *testing.T) {
	ctx := context.Background()
	mem := checkedAlloc(t)
	parts, _ := partition.ByCount(testItems(20), 10)
	dir := t.TempDir()
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	plan := dataflow.Plan{Schema: outSchema, Stages: []dataflow.Stage{{Name: "wait", Op: dataflow.OperatorFunc(
		func(ctx context.Context, in arrow.RecordBatch) ([]arrow.RecordBatch, error) {
			once.Do(func() { close(started) })
			<-release
			out, err := compute(ctx, in, nil)
			return []arrow.RecordBatch{out}, err
		})}}}
	in := dataflow.Partitioned{Partitions: parts, Dir: dir, Writer: writers.IPC{}}
	done := make(chan error, 1)
	go func() {
		_, err := dataflow.RunPartitioned(ctx, plan, in, dataflow.Options{Allocator: mem})
		done <- err
	}()
	<-started
	if _, err := dataflow.RunPartitioned(ctx, plan, in, dataflow.Options{Allocator: mem}); !errors.Is(err, dataflow.ErrBusy) {
		t.Errorf("second run on the same folder: %v, want ErrBusy", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := readIPCDir(t, dir, mem); len(got) != 20 {
		t.Errorf("%d rows", len(got))
	}
}
