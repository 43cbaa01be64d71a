package dataflow_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sluice-ml/sluice/engine/dataflow"
	"github.com/sluice-ml/sluice/engine/dataflow/ledger"
	"github.com/sluice-ml/sluice/engine/dataflow/partition"
	"github.com/sluice-ml/sluice/ops/writers"
)

const (
	chaosItems     = 20000
	chaosPartition = 250
	chaosKills     = 10
	chaosRunKey    = "chaos-model@v1"
)

// chaosPermanent is an item whose mini-batch fails on every try (a panic).
var chaosPermanent = itemPath(7777)

// chaosRun is the dataflow under test: 20,000 synthetic items in partitions of 250; about 2%
// of the items fail (by content hash); about 10% of the operator calls fail at random and
// are retried; the partition holding chaosPermanent panics on every try. With slow, each
// partition takes 150 ms more (12 s for all 80 partitions, more than the 10 kill delays can
// add up to), so that every kill lands in the middle of the work.
func chaosRun(ctx context.Context, dir string, slow, withLedger bool, mem memory.Allocator) (dataflow.Result, error) {
	items := make([]partition.Item, chaosItems)
	for i := range items {
		p := itemPath(i)
		items[i] = partition.Item{Path: p, Size: 100, Hash: strconv.FormatUint(hash64("content of "+p), 16)}
	}
	parts, err := partition.ByCount(items, chaosPartition)
	if err != nil {
		return dataflow.Result{}, err
	}
	var led *ledger.Ledger
	if withLedger {
		if led, err = ledger.Open(ctx, filepath.Join(dir, "ledger.db")); err != nil {
			return dataflow.Result{}, err
		}
		defer led.Close()
	}
	plan := dataflow.Plan{
		Name: "chaos",
		Stages: []dataflow.Stage{
			{Name: "decode", Workers: 2, Op: dataflow.OperatorFunc(func(ctx context.Context, in arrow.RecordBatch) ([]arrow.RecordBatch, error) {
				defer in.Release()
				paths := dataflow.Paths(in)
				for i := 0; i < paths.Len(); i++ {
					if paths.Value(i) == chaosPermanent {
						panic("permanent failure")
					}
				}
				if rand.IntN(10) == 0 {
					return nil, errors.New("transient failure")
				}
				in.Retain()
				out, err := compute(ctx, in, func(p string) bool { return hash64("content of "+p)%50 == 0 })
				return []arrow.RecordBatch{out}, err
			})},
			{Name: "score", Op: dataflow.OperatorFunc(func(ctx context.Context, in arrow.RecordBatch) ([]arrow.RecordBatch, error) {
				if slow {
					time.Sleep(150 * time.Millisecond)
				}
				return []arrow.RecordBatch{in}, nil
			})},
		},
		Schema: outSchema,
	}
	return dataflow.RunPartitioned(ctx, plan, dataflow.Partitioned{
		Partitions: parts, Dir: filepath.Join(dir, "out"), Writer: writers.Parquet{Compression: "zstd"},
		Ledger: led, Key: chaosRunKey,
	}, dataflow.Options{Allocator: mem, Thresholds: dataflow.IgnoreFailures, MaxTries: 10, Logger: quiet})
}

func chaosChild() int {
	dir := os.Getenv("SLUICE_CHAOS_DIR")
	fmt.Println("started")
	if _, err := chaosRun(context.Background(), dir, os.Getenv("SLUICE_CHAOS_SLOW") != "", true, memory.DefaultAllocator); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// readOutput returns the rows of every committed Parquet file of dir, sorted.
func readOutput(t *testing.T, dir string, mem memory.Allocator) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "part-*.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		tbl, err := pqarrow.ReadTable(context.Background(), f, parquet.NewReaderProperties(mem), pqarrow.ArrowReadProperties{}, mem)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		tr := array.NewTableReader(tbl, 1<<20)
		for tr.Next() {
			rows = append(rows, rowStrings(tr.RecordBatch())...)
		}
		tr.Release()
		tbl.Release()
	}
	slices.Sort(rows)
	return rows
}

func TestChaosKillResume(t *testing.T) {
	ctx := context.Background()
	mem := checkedAlloc(t)

	// The reference: one uninterrupted run (no ledger needed).
	ref := t.TempDir()
	res, err := chaosRun(ctx, ref, false, false, mem)
	if err != nil {
		t.Fatal(err)
	}
	want := readOutput(t, filepath.Join(ref, "out"), mem)
	if len(want) != chaosItems || res.Items != chaosItems {
		t.Fatalf("reference run: %d rows, %+v", len(want), res.Counts)
	}
	if res.FailedMiniBatches != 1 || res.FailedItems < chaosPartition+200 {
		t.Fatalf("reference run: %+v, want 1 failed mini-batch and ~%d failed items", res.Counts, chaosPartition+400)
	}

	// The same dataflow in a child process, SIGKILLed at random moments.
	t0 := time.Now()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	for k := 0; k < chaosKills; k++ {
		filesBefore := countParts(dir)
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), childEnv+"=chaos", "SLUICE_CHAOS_DIR="+dir, "SLUICE_CHAOS_SLOW=1")
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, _ := bufio.NewReader(out).ReadString('\n')
		if line != "started\n" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("child %d did not start: %q %s", k, line, stderr.String())
		}
		// Every other kill waits for the child to commit something first (polling the output
		// folder), so that progress is made however slow the machine; the delay after that, or
		// after the start, is random.
		if k%2 == 1 {
			deadline := time.Now().Add(2 * time.Minute)
			for countParts(dir) <= filesBefore {
				if time.Now().After(deadline) {
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatalf("child %d committed nothing in 2 minutes: %s", k, stderr.String())
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		delay := 50*time.Millisecond + time.Duration(rng.Int64N(int64(950*time.Millisecond)))
		time.Sleep(delay)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatalf("kill %d: %v", k, err)
		}
		err = cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Fatalf("child %d was not killed mid-run (err %v): %s", k, err, stderr.String())
		}
		t.Logf("kill %d after %v: %d partition files", k+1, delay, countParts(dir))
	}
	led, err := ledger.Open(ctx, filepath.Join(dir, "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	before, err := led.Partitions(ctx, chaosRunKey)
	led.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(before) == 0 || len(before) == chaosItems/chaosPartition {
		t.Fatalf("%d partitions committed before the final run; the kills did not interrupt work in progress", len(before))
	}
	t.Logf("%d of %d partitions committed across %d killed runs", len(before), chaosItems/chaosPartition, chaosKills)

	t.Logf("killed runs took %v", time.Since(t0))
	// Run to completion; the committed partitions are skipped.
	t0 = time.Now()
	res, err = chaosRun(ctx, dir, false, true, mem)
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped != len(before) {
		t.Errorf("skipped %d partitions, %d were committed", res.Skipped, len(before))
	}
	t.Logf("final run took %v", time.Since(t0))
	got := readOutput(t, filepath.Join(dir, "out"), mem)
	if len(got) != chaosItems {
		t.Errorf("got %d rows, want %d", len(got), chaosItems)
	}
	for i := 1; i < len(got); i++ {
		if strings.SplitN(got[i], "|", 2)[0] == strings.SplitN(got[i-1], "|", 2)[0] {
			t.Fatalf("duplicate row for %s", strings.SplitN(got[i], "|", 2)[0])
		}
	}
	if !slices.Equal(got, want) {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("output differs from the uninterrupted run at row %d: %q vs %q", i, got[i], want[i])
			}
		}
		t.Fatal("output differs from the uninterrupted run")
	}
	if res.FailedItems != int64(countErrors(want)) || res.FailedMiniBatches != 1 {
		t.Errorf("counts after resume %+v, want %d failed items", res.Counts, countErrors(want))
	}
	// The ledger's errors table holds the same error rows.
	led, err = ledger.Open(ctx, filepath.Join(dir, "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	errs, err := led.Items(ctx, chaosRunKey, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) != countErrors(want) {
		t.Errorf("ledger has %d error items, the output %d", len(errs), countErrors(want))
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, "out", ".part-*")); len(leftovers) != 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func countParts(dir string) int {
	files, _ := filepath.Glob(filepath.Join(dir, "out", "part-*"))
	return len(files)
}

func countErrors(rows []string) int {
	n := 0
	for _, r := range rows {
		if !strings.HasSuffix(r, "|<null>") {
			n++
		}
	}
	return n
}
