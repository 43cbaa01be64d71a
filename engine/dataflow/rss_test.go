package dataflow_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluice-ml/sluice/engine/dataflow"
)

var payloadSchema = arrow.NewSchema([]arrow.Field{
	{Name: "path", Type: arrow.BinaryTypes.String},
	{Name: "payload", Type: arrow.BinaryTypes.Binary, Nullable: true},
	{Name: "error", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// payloadSource yields n items of 1 KiB payload each, rows per batch, made on demand.
type payloadSource struct {
	mem     memory.Allocator
	n, rows int
	next    int
	payload []byte
}

func (s *payloadSource) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if s.next >= s.n {
		return nil, io.EOF
	}
	if s.payload == nil {
		s.payload = make([]byte, 1024)
		for i := range s.payload {
			s.payload[i] = byte(i * 7)
		}
	}
	b := array.NewRecordBuilder(s.mem, payloadSchema)
	defer b.Release()
	end := min(s.next+s.rows, s.n)
	pb := b.Field(0).(*array.StringBuilder)
	bb := b.Field(1).(*array.BinaryBuilder)
	eb := b.Field(2).(*array.StringBuilder)
	bb.ReserveData((end - s.next) * len(s.payload))
	for i := s.next; i < end; i++ {
		pb.Append(itemPath(i))
		s.payload[0] = byte(i)
		bb.Append(s.payload)
		eb.AppendNull()
	}
	s.next = end
	return b.NewRecordBatch(), nil
}

func (s *payloadSource) Close() error { return nil }

// slowSink takes its time with every batch.
type slowSink struct {
	delay time.Duration
	items int64
}

func (s *slowSink) Write(ctx context.Context, b arrow.RecordBatch) error {
	defer b.Release()
	s.items += b.NumRows()
	time.Sleep(s.delay)
	return nil
}

func (s *slowSink) Close(context.Context) error { return nil }

// rssChild runs a slow-sink dataflow over SLUICE_RSS_ITEMS items and prints its peak RSS.
func rssChild() int {
	n, err := strconv.Atoi(os.Getenv("SLUICE_RSS_ITEMS"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	sink := &slowSink{delay: 2 * time.Millisecond}
	noop := dataflow.OperatorFunc(func(ctx context.Context, in arrow.RecordBatch) ([]arrow.RecordBatch, error) {
		return []arrow.RecordBatch{in}, nil
	})
	plan := dataflow.Plan{
		Source: &payloadSource{mem: memory.DefaultAllocator, n: n, rows: 256},
		Stages: []dataflow.Stage{
			{Name: "decode", Op: noop, Workers: 2, QueueBatches: 8, QueueBytes: 1 << 20},
			{Name: "score", Op: noop, QueueBatches: 8, QueueBytes: 1 << 20},
		},
		Sink: sink, SinkQueueBatches: 4, SinkQueueBytes: 1 << 20,
		Schema: payloadSchema,
	}
	res, err := dataflow.Run(context.Background(), plan, dataflow.Options{Thresholds: dataflow.IgnoreFailures})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if sink.items != int64(n) {
		fmt.Fprintf(os.Stderr, "sink got %d items of %d\n", sink.items, n)
		return 1
	}
	hwm, err := peakRSS()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Printf("peak_rss_kb=%d source_blocked=%v elapsed=%v bottleneck=%s\n",
		hwm, res.Stats.Stages[0].WaitOut.Round(time.Millisecond), res.Stats.Elapsed.Round(time.Millisecond), res.Stats.Bottleneck)
	return 0
}

func peakRSS() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/self/status")
}

// TestBackpressurePeakRSS runs the same slow-sink dataflow over 20,000 and 200,000 items of
// 1 KiB (20 MB and 200 MB in all), each in a fresh child process, and compares their peak RSS:
// with bounded queues the peak is set by the queues, not by the data.
func TestBackpressurePeakRSS(t *testing.T) {
	if _, err := peakRSS(); err != nil {
		t.Skip("no /proc/self/status:", err)
	}
	if raceEnabled {
		// The race detector's own bookkeeping grows with the number of allocations, and it
		// slows the source below the sink: the figure would not be the engine's.
		t.Skip("peak RSS is measured without -race: go test -run BackpressurePeakRSS ./engine/dataflow")
	}
	run := func(n int) (int64, string) {
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), childEnv+"=rss", "SLUICE_RSS_ITEMS="+strconv.Itoa(n), "GOMAXPROCS=2")
		out, err := cmd.Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("child with %d items: %v %s", n, err, stderr)
		}
		line := strings.TrimSpace(string(out))
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], "peak_rss_kb=") {
			t.Fatalf("child output %q", line)
		}
		kb, err := strconv.ParseInt(strings.TrimPrefix(f[0], "peak_rss_kb="), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return kb, line
	}
	// Median of three runs each: a single peak depends on when the GC happened to run.
	median := func(n int) (int64, string) {
		var kbs []int64
		var lines []string
		for range 3 {
			kb, line := run(n)
			kbs = append(kbs, kb)
			lines = append(lines, line)
		}
		i := 0
		for j := range kbs {
			lt, gt := 0, 0
			for k := range kbs {
				if kbs[k] < kbs[j] {
					lt++
				} else if kbs[k] > kbs[j] {
					gt++
				}
			}
			if lt <= 1 && gt <= 1 {
				i = j
			}
		}
		return kbs[i], lines[i]
	}
	small, l1 := median(20000)
	big, l2 := median(200000)
	ratio := float64(big) / float64(small)
	t.Logf("20,000 items (median of 3):  %s", l1)
	t.Logf("200,000 items (median of 3): %s", l2)
	t.Logf("peak RSS ratio 200k/20k = %.3f", ratio)
	if ratio > 1.10 || ratio < 1/1.10 {
		t.Errorf("peak RSS differs by more than 10%%: %d kB vs %d kB", small, big)
	}
}
