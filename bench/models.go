package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Peer is an external runtime measured on the same model file.
type Peer struct {
	Name string
	// Command returns the argv that measures model at batch/threads for
	// seconds and prints one InferResult as JSON on its last output line.
	Command func(model string, batch, threads int, seconds float64, size int) []string
}

// Peers returns the peer runtimes with their scripts under dir
// (bench/peers): ONNX Runtime through node, PyTorch through Debian's
// /usr/bin/python3.
func Peers(dir string) map[string]Peer {
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	return map[string]Peer{
		"ort": {Name: "onnxruntime-node", Command: func(m string, b, t int, s float64, size int) []string {
			return []string{"node", filepath.Join(dir, "ort_bench.mjs"), m, strconv.Itoa(b), strconv.Itoa(t), f(s), strconv.Itoa(size)}
		}},
		"torch": {Name: "pytorch", Command: func(m string, b, t int, s float64, size int) []string {
			return []string{"/usr/bin/python3", filepath.Join(dir, "torch_bench.py"), m, strconv.Itoa(b), strconv.Itoa(t), f(s), strconv.Itoa(size)}
		}},
	}
}

// RunPeer runs a peer's command and decodes its result. The peer gets the
// thread count in OMP_NUM_THREADS too.
func RunPeer(ctx context.Context, p Peer, model string, batch, threads int, seconds float64, size int) (InferResult, error) {
	argv := p.Command(model, batch, threads, seconds, size)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "OMP_NUM_THREADS="+strconv.Itoa(threads))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return InferResult{}, fmt.Errorf("%w: %s: %w: %s", ErrBench, p.Name, err, lastLine(errb.String()))
	}
	var r InferResult
	if err := json.Unmarshal([]byte(lastLine(out.String())), &r); err != nil {
		return InferResult{}, fmt.Errorf("%w: %s: bad output %q: %w", ErrBench, p.Name, lastLine(out.String()), err)
	}
	return r, nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// ModelRow is one line of the model table: one model at one batch size.
type ModelRow struct {
	Model string
	Batch int
	By    map[string]InferResult // by runtime key: "sluice", "ort", "torch"
	Errs  map[string]error
}

func modelsCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("models", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("models", "bench/models", "folder of <model>_op13.onnx files (made by bench/gen_models.py)")
	names := fs.String("model", strings.Join(Models, ","), "models, comma-separated")
	batches := fs.String("batch", "1,8", "batch sizes, comma-separated")
	threads := fs.Int("threads", 2, "threads for every runtime")
	seconds := fs.Float64("seconds", 5, "timed seconds per measurement")
	size := fs.Int("size", 224, "image height and width")
	peers := fs.String("peers", "ort,torch", "peers to run (ort, torch), comma-separated; empty for none")
	peerDir := fs.String("peer-dir", "bench/peers", "folder of the peer scripts")
	rounds := fs.Int("rounds", 1, "repeat the whole table this many times, keeping each runtime's best")
	asJSON := fs.Bool("json", false, "print the rows as JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var bs []int
	for _, s := range strings.Split(*batches, ",") {
		b, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || b < 1 {
			fmt.Fprintf(stderr, "sluicebench models: bad batch %q\n", s)
			return 2
		}
		bs = append(bs, b)
	}
	ps := Peers(*peerDir)
	var keys []string
	for _, k := range strings.Split(*peers, ",") {
		if k = strings.TrimSpace(k); k == "" {
			continue
		}
		if _, ok := ps[k]; !ok {
			fmt.Fprintf(stderr, "sluicebench models: unknown peer %q\n", k)
			return 2
		}
		keys = append(keys, k)
	}
	ctx := context.Background()
	d := time.Duration(*seconds * float64(time.Second))
	var rows []*ModelRow
	for _, m := range strings.Split(*names, ",") {
		path := filepath.Join(*dir, m+"_op13.onnx")
		if _, err := os.Stat(path); err != nil {
			fmt.Fprintf(stderr, "sluicebench models: %v (generate with /usr/bin/python3 bench/gen_models.py)\n", err)
			return 2
		}
		for _, b := range bs {
			rows = append(rows, &ModelRow{Model: m, Batch: b, By: map[string]InferResult{}, Errs: map[string]error{}})
		}
	}
	keep := func(row *ModelRow, key string, r InferResult, err error) {
		if err != nil {
			row.Errs[key] = err
			fmt.Fprintf(stderr, "%s %s batch %d: %v\n", key, row.Model, row.Batch, err)
			return
		}
		if old, ok := row.By[key]; !ok || r.ImagesPerS > old.ImagesPerS {
			row.By[key] = r
		}
		fmt.Fprintf(stderr, "%-6s %-14s batch %d: %7.1f img/s (best run %.1f)\n", key, row.Model, row.Batch, r.ImagesPerS, r.BestPerS)
	}
	for range max(*rounds, 1) {
		for _, row := range rows {
			path := filepath.Join(*dir, row.Model+"_op13.onnx")
			r, err := BenchInfer(ctx, path, row.Batch, *threads, *size, d)
			keep(row, "sluice", r, err)
			for _, k := range keys {
				r, err := RunPeer(ctx, ps[k], path, row.Batch, *threads, *seconds, *size)
				keep(row, k, r, err)
			}
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rows); err != nil {
			return 1
		}
	} else {
		WriteModelTable(stdout, *threads, rows)
	}
	for _, row := range rows {
		if len(row.Errs) > 0 {
			return 1
		}
	}
	return 0
}

// WriteModelTable prints img/s per runtime and Sluice's ratios.
func WriteModelTable(w io.Writer, threads int, rows []*ModelRow) {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "model\tbatch\tsluice img/s\tort img/s\ttorch img/s\tsluice/ort\tsluice/torch\tsluice cpu-img/s\tort cpu-img/s\t\n")
	cell := func(r ModelRow, k string) string {
		if v, ok := r.By[k]; ok {
			return fmt.Sprintf("%.1f", v.ImagesPerS)
		}
		return "-"
	}
	ratio := func(r ModelRow, k string) string {
		s, ok1 := r.By["sluice"]
		p, ok2 := r.By[k]
		if !ok1 || !ok2 || p.ImagesPerS == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f", s.ImagesPerS/p.ImagesPerS)
	}
	cpuCell := func(r ModelRow, k string) string {
		if v, ok := r.By[k]; ok && v.CPUPerS > 0 {
			return fmt.Sprintf("%.1f", v.CPUPerS)
		}
		return "-"
	}
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Model, r.Batch, cell(*r, "sluice"), cell(*r, "ort"), cell(*r, "torch"),
			ratio(*r, "ort"), ratio(*r, "torch"), cpuCell(*r, "sluice"), cpuCell(*r, "ort"))
	}
	tw.Flush()
	fmt.Fprintf(w, "threads %d for every runtime; img/s = batch × runs / timed seconds; cpu-img/s = batch × runs / (CPU seconds / threads)\n", threads)
}
