package registry_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluice-ml/sluice/engine/dataflow"
	"github.com/sluice-ml/sluice/engine/dataflow/partition"
	"github.com/sluice-ml/sluice/engine/dataflow/registry"
	"github.com/sluice-ml/sluice/engine/spec"
	"github.com/sluice-ml/sluice/internal/testenv"
	"github.com/sluice-ml/sluice/ops/writers"
)

func chain(t *testing.T, src string) *spec.Node {
	t.Helper()
	n, err := spec.ParseNode("ops.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// run builds the chain and runs it over every file of dir, returning the CSV output's lines
// (header first, then the rows sorted).
func run(t *testing.T, env *registry.Env, src string) []string {
	t.Helper()
	ctx := context.Background()
	stages, schema, err := registry.Build(env, chain(t, src))
	if err != nil {
		t.Fatal(err)
	}
	items, err := partition.ListDir(ctx, env.InputDir, 0)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := partition.ByCount(items, 2)
	if err != nil {
		t.Fatal(err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	out := t.TempDir()
	res, err := dataflow.RunPartitioned(ctx, dataflow.Plan{Name: "t", Stages: stages, Schema: schema},
		dataflow.Partitioned{Partitions: parts, Dir: out, Writer: writers.CSV{}},
		dataflow.Options{Allocator: mem, Thresholds: dataflow.IgnoreFailures})
	if err != nil {
		t.Fatal(err)
	}
	if res.Items != int64(len(items)) {
		t.Errorf("%d items, want %d", res.Items, len(items))
	}
	var header string
	var rows []string
	files, _ := filepath.Glob(filepath.Join(out, "part-*.csv"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
		header = lines[0]
		rows = append(rows, lines[1:]...)
	}
	sort.Strings(rows)
	return append([]string{header}, rows...)
}

func inputDir(t *testing.T) string {
	dir := t.TempDir()
	for name, data := range map[string]string{"a.txt": "alpha", "b.txt": "beta", "sub/c.txt": "gamma"} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestReadHashSelect(t *testing.T) {
	dir := inputDir(t)
	got := run(t, &registry.Env{InputDir: dir}, "- {op: read, max_bytes: 4}\n- {op: hash, workers: 2}\n- {op: select, columns: [sha256]}\n")
	want := []string{
		"path,sha256,error",
		`a.txt,,"a.txt: 5 bytes, more than max_bytes 4"`,
		"b.txt," + sha("beta") + ",",
		`sub/c.txt,,"sub/c.txt: 5 bytes, more than max_bytes 4"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestCommandOperator(t *testing.T) {
	if _, err := os.Stat("/bin/sh"); err != nil {
		testenv.Missing(t, "/bin/sh")
	}
	dir := inputDir(t)
	code := t.TempDir()
	// The script runs in the code folder, reads the listed (absolute) files and fails "beta".
	script := "while IFS= read -r f; do c=$(cat \"$f\"); if [ \"$c\" = beta ]; then echo \"ERROR: no beta\"; else echo \"$c:$(basename \"$f\")\"; fi; done < \"$1\"\n"
	if err := os.WriteFile(filepath.Join(code, "x.sh"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	got := run(t, &registry.Env{InputDir: dir, WorkDir: code, Log: &log}, "- op: command\n  run: ./x.sh {minibatch}\n  name: infer\n")
	want := []string{"path,result,error", "a.txt,alpha:a.txt,", "b.txt,,no beta", "sub/c.txt,gamma:c.txt,"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	stages, _, err := registry.Build(&registry.Env{}, chain(t, "- {op: command, run: 'true', name: infer, workers: 3}\n"))
	if err != nil || stages[0].Name != "infer" || stages[0].Workers != 3 {
		t.Errorf("stage %+v, %v", stages, err)
	}
}

func TestBuildErrors(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"[]", "ops.yaml:1:1: operators: want a non-empty list of operators"},
		{"{op: read}", "ops.yaml:1:1: operators: want a non-empty list"},
		{"- read", `ops.yaml:1:3: operator 1: want a mapping {op: NAME, ...}, not the value "read"`},
		{"- {nop: 1}", `ops.yaml:1:3: operator 1: missing required key "op" (known operators: `},
		{"- {op: read}\n- {op: decodez}", `ops.yaml:2:8: operator 2: unknown operator "decodez" (known: `},
		{"- {op: read, max_bytes: lots}", `ops.yaml:1:25: operator 1 (read): max_bytes: "lots" is not a size (want e.g. 1000, 64KB, 10MB, 1.5GB)`},
		{"- {op: read, maxbytes: 1}", `ops.yaml:1:14: operator 1 (read): unknown option "maxbytes" (allowed: max_bytes, name, op, ordered, queue_batches, queue_bytes, workers)`},
		{"- {op: read, workers: 0}", `ops.yaml:1:23: operator 1 (read): workers: workers must be at least 1, not 0`},
		{"- {op: read, workers: [1]}", `ops.yaml:1:23: operator 1 (read): workers: want a single value, not a list`},
		{"- {op: command}", `ops.yaml:1:3: operator 1 (command): missing required option "run"`},
		{"- {op: hash}", `ops.yaml:1:3: operator 1 (hash): column: no column "bytes" in the input (columns: path, error); put a read operator before hash`},
		{"- {op: read}\n- {op: select, columns: [nope]}", `ops.yaml:2:25: operator 2 (select): columns: no column "nope" in the input (columns: path, error, bytes)`},
		{"- {op: read, ordered: maybe}", `ops.yaml:1:23: operator 1 (read): ordered: "maybe" is not a boolean`},
	} {
		_, _, err := registry.Build(&registry.Env{}, chain(t, tc.src))
		if err == nil || !errors.Is(err, spec.ErrInvalid) || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q:\n got %v\nwant %s", tc.src, err, tc.want)
		}
	}
}

func TestParseSize(t *testing.T) {
	for s, want := range map[string]int64{"10": 10, "10MB": 10 << 20, "10 mb": 10 << 20, "1.5GB": 3 << 29, "64KiB": 64 << 10, "2k": 2048, "7B": 7} {
		if got, err := registry.ParseSize(s); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "0", "-1", "1.5", "MB", "10XB", "1e3", "0.1B", "99999999999TB", "1..2MB"} {
		if got, err := registry.ParseSize(s); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", s, got)
		}
	}
}

func FuzzBuild(f *testing.F) {
	for _, s := range []string{"- {op: read}\n- {op: hash}\n", "- {op: command, run: x, max_output: 1MB}", "- {op: select, columns: [a, [b]]}", "x: 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		n, err := spec.ParseNode("f.yaml", []byte(src))
		if err != nil {
			return
		}
		if _, _, err := registry.Build(&registry.Env{}, n); err != nil {
			var list spec.ErrorList
			if errors.As(err, &list) {
				for _, e := range list {
					if e.Pos.Line < 1 {
						t.Fatalf("error without a position: %v", e)
					}
				}
			}
		}
	})
}

// inputSeen is what the test operator "model_path" read with Options.Input.
var inputSeen string

func init() {
	registry.Register("model_path", func(_ *registry.Env, in *arrow.Schema, o *registry.Options) (dataflow.Stage, *arrow.Schema, error) {
		inputSeen = o.Input("model")
		if err := o.Err(); err != nil {
			return dataflow.Stage{}, nil, err
		}
		return dataflow.Stage{Op: dataflow.OperatorFunc(func(_ context.Context, b arrow.RecordBatch) ([]arrow.RecordBatch, error) {
			return []arrow.RecordBatch{b}, nil
		})}, in, nil
	})
}

func TestOptionNamingAnInput(t *testing.T) {
	env := &registry.Env{Inputs: map[string]string{"weights": "/abs/m.onnx", "n": "3"}}
	if _, _, err := registry.Build(env, chain(t, "- {op: model_path, model: weights}\n")); err != nil || inputSeen != "/abs/m.onnx" {
		t.Errorf("Input = %q, %v", inputSeen, err)
	}
	_, _, err := registry.Build(env, chain(t, "- {op: model_path, model: wieghts}\n"))
	if err == nil || err.Error() != `ops.yaml:1:27: operator 1 (model_path): model: "wieghts" is not an input of the job (inputs: n, weights)` {
		t.Errorf("err = %v", err)
	}
	_, _, err = registry.Build(env, chain(t, "- {op: model_path}\n"))
	if err == nil || err.Error() != `ops.yaml:1:3: operator 1 (model_path): missing required option "model"` {
		t.Errorf("err = %v", err)
	}
}
