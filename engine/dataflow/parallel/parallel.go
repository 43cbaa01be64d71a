package parallel

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluice-ml/sluice/engine/dataflow"
	"github.com/sluice-ml/sluice/engine/dataflow/ledger"
	"github.com/sluice-ml/sluice/engine/dataflow/partition"
)

// ResultSchema is the schema of the rows a Command produces: the item's path, its result
// line, and its error.
var ResultSchema = arrow.NewSchema([]arrow.Field{
	{Name: dataflow.PathColumn, Type: arrow.BinaryTypes.String},
	{Name: "result", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: dataflow.ErrorColumn, Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

// MiniBatchArg in Command.Args is replaced by the path of the mini-batch's listing file;
// when no argument holds it, that path is appended to the arguments.
const MiniBatchArg = "{minibatch}"

// Command is a dataflow.Operator that runs a program per batch with the package's protocol.
// It is safe for concurrent use.
type Command struct {
	Path string   // the program
	Args []string // its arguments (see MiniBatchArg)
	Dir  string   // working folder; "" for the current one
	// Root, when set, is the folder item paths are relative to: the listing then holds
	// Root-joined paths (what the command can open), while rows keep the items' own paths.
	Root string
	Env  []string // environment; nil inherits this process's
	// Stderr receives the commands' standard error (nil: discarded); writes to it are
	// serialised, so concurrent calls may share it. The last 2 KiB of each call's standard
	// error are also kept for the error of a failed call.
	Stderr io.Writer
	// TempDir holds the listing files (default os.TempDir()).
	TempDir string
	// MaxOutput caps the stdout read from one call (default 64 MiB); more fails the call.
	MaxOutput int64
}

// Process runs the command over the pending items of in (rows without an error) and returns
// ResultSchema rows, one per row of in.
func (c *Command) Process(ctx context.Context, in arrow.RecordBatch) ([]arrow.RecordBatch, error) {
	defer in.Release()
	paths, errs := dataflow.Paths(in), dataflow.Errors(in)
	if paths == nil {
		return nil, dataflow.Fatal(fmt.Errorf("%w: input has no %q column", ErrConfig, dataflow.PathColumn))
	}
	n := int(in.NumRows())
	var listed []int
	var listing strings.Builder
	pre := make(map[int]string) // row → error before the command
	for i := 0; i < n; i++ {
		switch p := paths.Value(i); {
		case errs != nil && errs.IsValid(i):
			pre[i] = errs.Value(i)
		case strings.ContainsAny(p, "\n\r"):
			pre[i] = (&dataflow.ItemError{Path: p, Err: errors.New("path contains a line break")}).Error()
		default:
			listed = append(listed, i)
			if c.Root != "" {
				p = filepath.Join(c.Root, filepath.FromSlash(p))
			}
			listing.WriteString(p)
			listing.WriteByte('\n')
		}
	}
	var lines []Line
	if len(listed) > 0 {
		out, err := c.run(ctx, listing.String())
		if err != nil {
			return nil, err
		}
		if lines, err = ParseResults(out, len(listed)); err != nil {
			return nil, err
		}
	}
	mem := dataflow.Allocator(ctx)
	rb := array.NewStringBuilder(mem)
	defer rb.Release()
	eb := array.NewStringBuilder(mem)
	defer eb.Release()
	next := 0
	for i := 0; i < n; i++ {
		if msg, bad := pre[i]; bad {
			rb.AppendNull()
			eb.Append(msg)
			continue
		}
		l := lines[next]
		next++
		if l.Err != "" {
			rb.AppendNull()
			eb.Append(l.Err)
		} else {
			rb.Append(l.Result)
			eb.AppendNull()
		}
	}
	rc, ec := rb.NewArray(), eb.NewArray()
	defer rc.Release()
	defer ec.Release()
	return []arrow.RecordBatch{array.NewRecordBatch(ResultSchema, []arrow.Array{paths, rc, ec}, int64(n))}, nil
}

// Close does nothing.
func (c *Command) Close(context.Context) error { return nil }

func (c *Command) run(ctx context.Context, listing string) ([]byte, error) {
	f, err := os.CreateTemp(c.TempDir, "sluice-minibatch-*.txt")
	if err != nil {
		return nil, fmt.Errorf("parallel: listing file: %w", err)
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(listing); err != nil {
		f.Close()
		return nil, fmt.Errorf("parallel: listing file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("parallel: listing file: %w", err)
	}
	args := make([]string, 0, len(c.Args)+1)
	placed := false
	for _, a := range c.Args {
		if strings.Contains(a, MiniBatchArg) {
			a = strings.ReplaceAll(a, MiniBatchArg, f.Name())
			placed = true
		}
		args = append(args, a)
	}
	if !placed {
		args = append(args, f.Name())
	}
	cmd := exec.CommandContext(ctx, c.Path, args...)
	cmd.Dir, cmd.Env = c.Dir, c.Env
	ownGroup(cmd)
	cmd.WaitDelay = 2 * time.Second
	limit := c.MaxOutput
	if limit <= 0 {
		limit = 64 << 20
	}
	stdout := &capped{limit: limit}
	tail := &tailBuffer{max: 2048}
	cmd.Stdout = stdout
	if c.Stderr != nil {
		cmd.Stderr = io.MultiWriter(tail, lockedWriter{c.Stderr})
	} else {
		cmd.Stderr = tail
	}
	err = cmd.Run()
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v: %s", ErrCommand, c.Path, err, strings.TrimSpace(tail.String()))
	}
	if stdout.over {
		return nil, fmt.Errorf("%w: more than %d bytes of output", ErrProtocol, limit)
	}
	return stdout.buf.Bytes(), nil
}

// stderrMu serialises writes to Command.Stderr writers.
var stderrMu sync.Mutex

type lockedWriter struct{ w io.Writer }

func (l lockedWriter) Write(p []byte) (int, error) {
	stderrMu.Lock()
	defer stderrMu.Unlock()
	return l.w.Write(p)
}

type capped struct {
	buf   bytes.Buffer
	limit int64
	over  bool
}

func (c *capped) Write(p []byte) (int, error) {
	if int64(c.buf.Len()+len(p)) > c.limit {
		c.over = true
		return len(p), nil
	}
	return c.buf.Write(p)
}

type tailBuffer struct {
	b   []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = append(t.b[:0], t.b[len(t.b)-t.max:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }

// Config is a parallel run: ParallelRunStep's settings.
type Config struct {
	Items []partition.Item
	// How items make mini-batches: MiniBatchSize items (default 10), or MiniBatchBytes bytes
	// when set, or one mini-batch per distinct value of the PartitionKeys format
	// ("{store}/{date}/*", see partition.ParseFormat) when set.
	MiniBatchSize  int
	MiniBatchBytes int64
	PartitionKeys  string
	Command        Command
	// Workers is how many commands run at once (process_count_per_node; default the CPU count).
	Workers int
	// OutputDir gets one committed file per mini-batch, made by Writer (for append_row
	// output, ops/writers.Text).
	OutputDir string
	Writer    dataflow.WriterFactory
	// AppendRowFile, when set, is the name of a file in OutputDir that receives, once every
	// mini-batch is committed, the concatenation of their files in mini-batch order (written
	// atomically). Meant for line formats (text, CSV without header).
	AppendRowFile string
	Ledger        *ledger.Ledger
	Key           string
	Options       dataflow.Options // thresholds, run_max_try, run_invocation_timeout, metrics
}

// Run runs cfg.Command over the mini-batches of cfg.Items; see the package documentation.
func Run(ctx context.Context, cfg Config) (dataflow.Result, error) {
	if cfg.Command.Path == "" || cfg.OutputDir == "" || cfg.Writer == nil {
		return dataflow.Result{}, fmt.Errorf("%w: need Command.Path, OutputDir and Writer", ErrConfig)
	}
	var parts []partition.Partition
	var err error
	switch {
	case cfg.PartitionKeys != "":
		parts, err = partition.ByKeys(cfg.Items, cfg.PartitionKeys)
	case cfg.MiniBatchBytes > 0:
		parts, err = partition.ByBytes(cfg.Items, cfg.MiniBatchBytes)
	default:
		size := cfg.MiniBatchSize
		if size <= 0 {
			size = 10
		}
		parts, err = partition.ByCount(cfg.Items, size)
	}
	if err != nil {
		return dataflow.Result{}, fmt.Errorf("parallel: %w", err)
	}
	workers := cfg.Workers
	if workers <= 0 {
		workers = runtime.NumCPU()
	}
	cmd := cfg.Command
	plan := dataflow.Plan{
		Name:   "parallel",
		Stages: []dataflow.Stage{{Name: "command", Op: &cmd, Workers: workers, QueueBatches: 2 * workers}},
		Schema: ResultSchema,
	}
	res, err := dataflow.RunPartitioned(ctx, plan, dataflow.Partitioned{
		Partitions: parts, Dir: cfg.OutputDir, Writer: cfg.Writer, Ledger: cfg.Ledger, Key: cfg.Key,
	}, cfg.Options)
	if err != nil || cfg.AppendRowFile == "" {
		return res, err
	}
	return res, AppendRows(cfg.OutputDir, cfg.AppendRowFile, parts, res.Partitions)
}

// AppendRows writes the committed files of a run (done, from dataflow.Result.Partitions), in
// the order of parts, into dir/name atomically: the append_row file.
func AppendRows(dir, name string, parts []partition.Partition, done []dataflow.CommittedPartition) (err error) {
	files := make(map[string]string, len(done))
	for _, c := range done {
		files[c.ID] = c.File
	}
	final := filepath.Join(dir, name)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(name)+".*.tmp")
	if err != nil {
		return fmt.Errorf("parallel: append_row: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("parallel: append_row: %w", err)
		}
	}()
	for _, p := range parts {
		f, err := os.Open(files[p.ID])
		if err != nil {
			return err
		}
		_, err = io.Copy(tmp, f)
		f.Close()
		if err != nil {
			return err
		}
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), final)
}
