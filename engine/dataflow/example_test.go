package dataflow_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluice-ml/sluice/engine/dataflow"
	"github.com/sluice-ml/sluice/engine/dataflow/ledger"
	"github.com/sluice-ml/sluice/engine/dataflow/partition"
	"github.com/sluice-ml/sluice/ops/writers"
)

// A partitioned run: 25 items in mini-batches of 10, one operator that fails some items,
// Parquet output committed per partition, a ledger for resume.
func ExampleRunPartitioned() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "sluice-example")
	defer os.RemoveAll(dir)

	var items []partition.Item
	for i := 0; i < 25; i++ {
		items = append(items, partition.Item{Path: itemPath(i), Size: 1, Hash: fmt.Sprint(i)})
	}
	parts, _ := partition.ByCount(items, 10)
	led, _ := ledger.Open(ctx, filepath.Join(dir, "ledger.db"))
	defer led.Close()

	plan := dataflow.Plan{
		Stages: []dataflow.Stage{{Name: "score", Workers: 2, Op: dataflow.OperatorFunc(
			func(ctx context.Context, in arrow.RecordBatch) ([]arrow.RecordBatch, error) {
				out, err := compute(ctx, in, func(p string) bool { return p == itemPath(7) })
				return []arrow.RecordBatch{out}, err
			})}},
		Schema: outSchema, // path, value, error
	}
	in := dataflow.Partitioned{Partitions: parts, Dir: filepath.Join(dir, "out"),
		Writer: writers.Parquet{Compression: "zstd"}, Ledger: led, Key: "model@1"}
	opts := dataflow.Options{Allocator: memory.DefaultAllocator, Thresholds: dataflow.Thresholds{
		ErrorThreshold: 5, AllowedFailedCount: 0, AllowedFailedPercent: -1}}

	res, err := dataflow.RunPartitioned(ctx, plan, in, opts)
	fmt.Println(res.Items, "items,", res.FailedItems, "failed,", len(res.Partitions), "partitions, err:", err)
	res, err = dataflow.RunPartitioned(ctx, plan, in, opts) // everything committed: nothing to do
	fmt.Println(res.Skipped, "partitions skipped, err:", err)
	// Output:
	// 25 items, 1 failed, 3 partitions, err: <nil>
	// 3 partitions skipped, err: <nil>
}
