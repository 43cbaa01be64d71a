package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluice-ml/sluice/engine/dataflow"
	"github.com/sluice-ml/sluice/engine/dataflow/parallel"
)

func init() {
	Register("read", newRead)
	Register("command", newCommand)
	Register("hash", newHash)
	Register("select", newSelect)
}

// BytesColumn is the column the read operator fills with each item's content.
const BytesColumn = "bytes"

// addColumn returns in with a nullable column appended (replacing one of the same name).
func addColumn(in *arrow.Schema, name string, t arrow.DataType) *arrow.Schema {
	fields := slices.DeleteFunc(slices.Clone(in.Fields()), func(f arrow.Field) bool { return f.Name == name })
	return arrow.NewSchema(append(fields, arrow.Field{Name: name, Type: t, Nullable: true}), nil)
}

// withColumn returns b (owned, released) with col set as the column name of schema out.
func withColumn(b arrow.RecordBatch, out *arrow.Schema, name string, col arrow.Array) arrow.RecordBatch {
	cols := make([]arrow.Array, 0, out.NumFields())
	for _, f := range out.Fields() {
		if f.Name == name {
			cols = append(cols, col)
			continue
		}
		cols = append(cols, b.Column(b.Schema().FieldIndices(f.Name)[0]))
	}
	res := array.NewRecordBatch(out, cols, b.NumRows())
	b.Release()
	return res
}

// read: path → bytes.
type readOp struct {
	root string
	max  int64
	out  *arrow.Schema
}

func newRead(env *Env, in *arrow.Schema, o *Options) (dataflow.Stage, *arrow.Schema, error) {
	op := &readOp{root: env.InputDir, max: o.Size("max_bytes", 1<<30)}
	if err := o.Err(); err != nil {
		return dataflow.Stage{}, nil, err
	}
	op.out = addColumn(in, BytesColumn, arrow.BinaryTypes.Binary)
	return dataflow.Stage{Op: op, Workers: min(runtime.NumCPU(), 4)}, op.out, nil
}

func (r *readOp) Process(ctx context.Context, in arrow.RecordBatch) ([]arrow.RecordBatch, error) {
	paths := dataflow.Paths(in)
	bld := array.NewBinaryBuilder(dataflow.Allocator(ctx), arrow.BinaryTypes.Binary)
	defer bld.Release()
	errs := map[int]error{}
	for i := 0; i < int(in.NumRows()); i++ {
		if dataflow.RowFailed(in, i) {
			bld.AppendNull()
			continue
		}
		if err := ctx.Err(); err != nil {
			in.Release()
			return nil, err
		}
		data, err := r.readFile(paths.Value(i))
		if err != nil {
			bld.AppendNull()
			errs[i] = &dataflow.ItemError{Path: paths.Value(i), Err: err}
			continue
		}
		bld.Append(data)
	}
	col := bld.NewArray()
	defer col.Release()
	out, err := dataflow.SetRowErrors(dataflow.Allocator(ctx), withColumn(in, r.out, BytesColumn, col), errs)
	if err != nil {
		return nil, err
	}
	return []arrow.RecordBatch{out}, nil
}

func (r *readOp) readFile(p string) ([]byte, error) {
	clean := filepath.FromSlash(p)
	if r.root != "" {
		if !filepath.IsLocal(clean) {
			return nil, errors.New("path leaves the input folder")
		}
		clean = filepath.Join(r.root, clean)
	}
	f, err := os.Open(clean)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, errors.New("not a regular file")
	}
	if st.Size() > r.max {
		return nil, fmt.Errorf("%d bytes, more than max_bytes %d", st.Size(), r.max)
	}
	data, err := io.ReadAll(io.LimitReader(f, r.max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > r.max {
		return nil, fmt.Errorf("more than max_bytes %d", r.max)
	}
	return data, nil
}

func (r *readOp) Close(context.Context) error { return nil }

// command: the parallel package's per-mini-batch command.
func newCommand(env *Env, in *arrow.Schema, o *Options) (dataflow.Stage, *arrow.Schema, error) {
	line := o.Required("run")
	maxOut := o.Size("max_output", 64<<20)
	if err := o.Err(); err != nil {
		return dataflow.Stage{}, nil, err
	}
	return dataflow.Stage{Op: ShellCommand(env, line, maxOut), Workers: runtime.NumCPU()}, parallel.ResultSchema, nil
}

// ShellCommand returns the parallel.Command that runs a command line with /bin/sh in env's
// code folder: `{minibatch}` in line stands for the listing file's path (quoted by the shell
// as "$1"), which is appended when line does not use it. The listing holds the items' paths
// joined to env.InputDir.
func ShellCommand(env *Env, line string, maxOutput int64) *parallel.Command {
	script := line + ` "$1"`
	if strings.Contains(line, parallel.MiniBatchArg) {
		script = strings.ReplaceAll(line, parallel.MiniBatchArg, `"$1"`)
	}
	return &parallel.Command{
		Path: "/bin/sh", Args: []string{"-c", script, "sh", parallel.MiniBatchArg},
		Dir: env.WorkDir, Env: env.Environ, Root: env.InputDir, Stderr: env.Log, TempDir: env.TempDir,
		MaxOutput: maxOutput,
	}
}

// hash: bytes → sha256.
type hashOp struct {
	col string
	out *arrow.Schema
}

func newHash(_ *Env, in *arrow.Schema, o *Options) (dataflow.Stage, *arrow.Schema, error) {
	h := &hashOp{col: o.String("column", BytesColumn)}
	if err := o.Err(); err != nil {
		return dataflow.Stage{}, nil, err
	}
	idx := in.FieldIndices(h.col)
	if len(idx) == 0 {
		return dataflow.Stage{}, nil, o.Errorf("column", "no column %q in the input (%s); put a read operator before hash", h.col, columnNames(in))
	}
	if t := in.Field(idx[0]).Type.ID(); t != arrow.BINARY && t != arrow.STRING {
		return dataflow.Stage{}, nil, o.Errorf("column", "column %q is %s, want binary or utf8", h.col, in.Field(idx[0]).Type)
	}
	h.out = addColumn(in, "sha256", arrow.BinaryTypes.String)
	return dataflow.Stage{Op: h, Workers: runtime.NumCPU()}, h.out, nil
}

func (h *hashOp) Process(ctx context.Context, in arrow.RecordBatch) ([]arrow.RecordBatch, error) {
	src := in.Column(in.Schema().FieldIndices(h.col)[0])
	bld := array.NewStringBuilder(dataflow.Allocator(ctx))
	defer bld.Release()
	for i := 0; i < int(in.NumRows()); i++ {
		if dataflow.RowFailed(in, i) || src.IsNull(i) {
			bld.AppendNull()
			continue
		}
		var data []byte
		switch c := src.(type) {
		case *array.Binary:
			data = c.Value(i)
		case *array.String:
			data = []byte(c.Value(i))
		}
		sum := sha256.Sum256(data)
		bld.Append(hex.EncodeToString(sum[:]))
	}
	col := bld.NewArray()
	defer col.Release()
	return []arrow.RecordBatch{withColumn(in, h.out, "sha256", col)}, nil
}

func (h *hashOp) Close(context.Context) error { return nil }

// select: keep columns.
func newSelect(_ *Env, in *arrow.Schema, o *Options) (dataflow.Stage, *arrow.Schema, error) {
	cols := o.Strings("columns")
	if !o.Has("columns") {
		o.Errorf("", "missing required option %q", "columns")
	}
	if err := o.Err(); err != nil {
		return dataflow.Stage{}, nil, err
	}
	keep := []string{dataflow.PathColumn}
	for _, c := range cols {
		if len(in.FieldIndices(c)) == 0 {
			return dataflow.Stage{}, nil, o.Errorf("columns", "no column %q in the input (%s)", c, columnNames(in))
		}
		if !slices.Contains(keep, c) {
			keep = append(keep, c)
		}
	}
	if !slices.Contains(keep, dataflow.ErrorColumn) {
		keep = append(keep, dataflow.ErrorColumn)
	}
	var fields []arrow.Field
	var idx []int
	for _, c := range keep {
		i := in.FieldIndices(c)[0]
		fields, idx = append(fields, in.Field(i)), append(idx, i)
	}
	out := arrow.NewSchema(fields, nil)
	op := dataflow.OperatorFunc(func(ctx context.Context, b arrow.RecordBatch) ([]arrow.RecordBatch, error) {
		defer b.Release()
		cs := make([]arrow.Array, len(idx))
		for j, i := range idx {
			cs[j] = b.Column(i)
		}
		return []arrow.RecordBatch{array.NewRecordBatch(out, cs, b.NumRows())}, nil
	})
	return dataflow.Stage{Op: op}, out, nil
}

func columnNames(s *arrow.Schema) string {
	names := make([]string, 0, s.NumFields())
	for _, f := range s.Fields() {
		names = append(names, f.Name)
	}
	return "columns: " + strings.Join(names, ", ")
}
