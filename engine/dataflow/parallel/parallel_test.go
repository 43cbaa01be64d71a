package parallel_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluice-ml/sluice/engine/dataflow"
	"github.com/sluice-ml/sluice/engine/dataflow/ledger"
	"github.com/sluice-ml/sluice/engine/dataflow/parallel"
	"github.com/sluice-ml/sluice/engine/dataflow/partition"
	"github.com/sluice-ml/sluice/ops/writers"
)

func TestParseResults(t *testing.T) {
	for _, tc := range []struct {
		out     string
		n       int
		want    []parallel.Line
		wantErr bool
	}{
		{"", 0, nil, false},
		{"a\nb\n", 2, []parallel.Line{{Result: "a"}, {Result: "b"}}, false},
		{"a\r\nb", 2, []parallel.Line{{Result: "a"}, {Result: "b"}}, false},
		{"\n", 1, []parallel.Line{{Result: ""}}, false},
		{"ERROR: not an image\nok\n", 2, []parallel.Line{{Err: "not an image"}, {Result: "ok"}}, false},
		{"ERROR:\n", 1, []parallel.Line{{Err: "failed"}}, false},
		{"a\n", 2, nil, true},
		{"a\nb\nc\n", 2, nil, true},
		{"", 1, nil, true},
		{"a\n\n", 1, nil, true},
	} {
		got, err := parallel.ParseResults([]byte(tc.out), tc.n)
		if tc.wantErr {
			if !errors.Is(err, parallel.ErrProtocol) {
				t.Errorf("ParseResults(%q, %d): err = %v, want ErrProtocol", tc.out, tc.n, err)
			}
			continue
		}
		if err != nil || fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("ParseResults(%q, %d) = %v, %v; want %v", tc.out, tc.n, got, err, tc.want)
		}
	}
}

func FuzzParseResults(f *testing.F) {
	f.Add([]byte("a\nb\n"), 2)
	f.Add([]byte("ERROR: x\r\n\n"), 2)
	f.Add([]byte(""), 0)
	f.Fuzz(func(t *testing.T, out []byte, n int) {
		if n < 0 || n > 1<<16 {
			return
		}
		lines, err := parallel.ParseResults(out, n)
		if err != nil {
			if !errors.Is(err, parallel.ErrProtocol) {
				t.Fatalf("error %v is not ErrProtocol", err)
			}
			return
		}
		if len(lines) != n {
			t.Fatalf("%d lines for n=%d", len(lines), n)
		}
		for _, l := range lines {
			if strings.ContainsRune(l.Result, '\n') || strings.ContainsRune(l.Err, '\n') || (l.Err != "" && l.Result != "") {
				t.Fatalf("bad line %+v", l)
			}
		}
	})
}

// script writes an executable shell script.
func script(t *testing.T, body string) string {
	t.Helper()
	if _, err := os.Stat("/bin/sh"); err != nil {
		t.Skip("no /bin/sh")
	}
	p := filepath.Join(t.TempDir(), "step.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// score prints "label-of <path>" per listed item, or an error for paths containing "bad".
const score = `while IFS= read -r p; do
  case "$p" in
    *bad*) echo "ERROR: cannot read $p" ;;
    *) echo "label-of $p" ;;
  esac
done < "$1"
`

func items(n int) []partition.Item {
	out := make([]partition.Item, n)
	for i := range out {
		p := fmt.Sprintf("img/%03d.jpg", i)
		if i%10 == 3 {
			p = fmt.Sprintf("img/%03d-bad.jpg", i)
		}
		out[i] = partition.Item{Path: p, Size: 1, Hash: fmt.Sprint("h", i)}
	}
	return out
}

var quiet = slog.New(slog.DiscardHandler)

func TestRunAppendRow(t *testing.T) {
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dir := t.TempDir()
	led, err := ledger.Open(ctx, filepath.Join(dir, "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer led.Close()
	cfg := parallel.Config{
		Items: items(95), MiniBatchSize: 10, Workers: 2,
		Command:   parallel.Command{Path: script(t, score), TempDir: t.TempDir()},
		OutputDir: filepath.Join(dir, "out"), Writer: writers.Text{}, AppendRowFile: "parallel_run_step.txt",
		Ledger: led, Key: "score.sh@1",
		Options: dataflow.Options{Allocator: mem, Logger: quiet,
			Thresholds: dataflow.Thresholds{ErrorThreshold: 10, AllowedFailedCount: 0, AllowedFailedPercent: 0}},
	}
	res, err := parallel.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Items != 95 || res.FailedItems != 10 || res.MiniBatches != 10 {
		t.Errorf("counts %+v", res.Counts)
	}
	data, err := os.ReadFile(filepath.Join(dir, "out", "parallel_run_step.txt"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 95 {
		t.Fatalf("%d append_row lines, want 95", len(lines))
	}
	for i, it := range cfg.Items {
		want := it.Path + " label-of " + it.Path
		if strings.Contains(it.Path, "bad") {
			want = it.Path + " ERROR: cannot read " + it.Path
		}
		if lines[i] != want {
			t.Errorf("line %d = %q, want %q", i, lines[i], want)
		}
	}
	// Rerun: everything is committed, the command does not run again.
	cfg.Command.Path = "/nonexistent"
	res, err = parallel.Run(ctx, cfg)
	if err != nil || res.Skipped != 10 {
		t.Errorf("rerun: skipped %d, %v", res.Skipped, err)
	}
	// One more failed item crosses error_threshold.
	cfg.Options.Thresholds.ErrorThreshold = 9
	_, err = parallel.Run(ctx, cfg)
	var te *dataflow.ThresholdError
	if !errors.As(err, &te) || te.Name != "error_threshold" || !strings.Contains(err.Error(), "10 failed items > 9") {
		t.Errorf("err = %v", err)
	}
}

func TestCommandFailures(t *testing.T) {
	marker := t.TempDir()
	for _, tc := range []struct {
		name      string
		body      string
		opts      dataflow.Options
		failedMB  int64
		errSubstr string
	}{
		{"retry then success", `m="` + marker + `/$(head -n1 "$1" | tr / _)"
if [ ! -e "$m" ]; then touch "$m"; echo "first try fails" >&2; exit 3; fi
` + score, dataflow.Options{MaxTries: 2}, 0, ""},
		{"exit status, retries exhausted", "echo broken >&2; exit 1\n", dataflow.Options{MaxTries: 2}, 3, "broken"},
		{"wrong line count", "echo one\n", dataflow.Options{MaxTries: 1}, 3, "result lines"},
		{"run_invocation_timeout kills the command", "sleep 60 &\nwait\n", dataflow.Options{MaxTries: 2, InvocationTimeout: 300 * time.Millisecond}, 3, "run_invocation_timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			var stderr bytes.Buffer
			opts := tc.opts
			opts.Allocator, opts.Logger, opts.Thresholds = mem, quiet, dataflow.IgnoreFailures
			t0 := time.Now()
			res, err := parallel.Run(context.Background(), parallel.Config{
				Items: items(25), MiniBatchSize: 10, Workers: 3,
				Command:   parallel.Command{Path: script(t, tc.body), Stderr: &stderr, TempDir: t.TempDir()},
				OutputDir: t.TempDir(), Writer: writers.CSV{}, Options: opts,
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.FailedMiniBatches != tc.failedMB || res.Items != 25 {
				t.Errorf("counts %+v, want %d failed mini-batches", res.Counts, tc.failedMB)
			}
			if tc.failedMB > 0 {
				if res.FailedItems != 25 {
					t.Errorf("failed items %d, want 25", res.FailedItems)
				}
			} else if res.FailedItems != 3 {
				t.Errorf("failed items %d, want 3", res.FailedItems)
			}
			if tc.errSubstr != "" {
				found := false
				for _, p := range res.Partitions {
					data, _ := os.ReadFile(p.File)
					found = found || strings.Contains(string(data), tc.errSubstr)
				}
				if !found {
					t.Errorf("no error row mentions %q", tc.errSubstr)
				}
			}
			if strings.Contains(tc.name, "timeout") && time.Since(t0) > 30*time.Second {
				t.Errorf("the timed-out command was not killed (took %v)", time.Since(t0))
			}
		})
	}
}
