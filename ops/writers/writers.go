package writers

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/csv"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sluice-ml/sluice/engine/dataflow"
)

// Parquet writes Parquet files, one row group per batch (split at MaxRowGroupRows).
type Parquet struct {
	// Compression is "snappy" (the default when empty), "zstd", "gzip" or "none".
	Compression     string
	MaxRowGroupRows int64 // default 64Ki
}

// Ext returns ".parquet".
func (Parquet) Ext() string { return ".parquet" }

func codec(name string) (compress.Compression, error) {
	switch strings.ToLower(name) {
	case "", "snappy":
		return compress.Codecs.Snappy, nil
	case "zstd":
		return compress.Codecs.Zstd, nil
	case "gzip":
		return compress.Codecs.Gzip, nil
	case "none", "uncompressed":
		return compress.Codecs.Uncompressed, nil
	}
	return 0, fmt.Errorf("%w: %q (want snappy, zstd, gzip or none)", ErrCompression, name)
}

// NewWriter returns a Sink writing a Parquet file of schema s to w.
func (p Parquet) NewWriter(ctx context.Context, w io.Writer, s *arrow.Schema, mem memory.Allocator) (dataflow.Sink, error) {
	c, err := codec(p.Compression)
	if err != nil {
		return nil, err
	}
	rg := p.MaxRowGroupRows
	if rg <= 0 {
		rg = 64 << 10
	}
	props := parquet.NewWriterProperties(parquet.WithCompression(c), parquet.WithAllocator(mem),
		parquet.WithMaxRowGroupLength(rg))
	fw, err := pqarrow.NewFileWriter(s, noClose{w}, props,
		pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(mem), pqarrow.WithStoreSchema()))
	if err != nil {
		return nil, fmt.Errorf("writers: parquet: %w", err)
	}
	return &parquetSink{fw: fw}, nil
}

type parquetSink struct{ fw *pqarrow.FileWriter }

func (p *parquetSink) Write(ctx context.Context, b arrow.RecordBatch) error {
	defer b.Release()
	if p.fw == nil {
		return ErrClosed
	}
	if err := p.fw.Write(b); err != nil {
		return fmt.Errorf("writers: parquet: %w", err)
	}
	return nil
}

func (p *parquetSink) Close(ctx context.Context) error {
	if p.fw == nil {
		return nil
	}
	err := p.fw.Close()
	p.fw = nil
	if err != nil {
		return fmt.Errorf("writers: parquet: %w", err)
	}
	return nil
}

// noClose hides the destination's Close from writers that close what they write to.
type noClose struct{ w io.Writer }

func (n noClose) Write(p []byte) (int, error) { return n.w.Write(p) }

// IPC writes Arrow IPC files (the random-access file format, ".arrow").
type IPC struct {
	// Compression is "" (none), "zstd" or "lz4" (buffer compression of the IPC format).
	Compression string
}

// Ext returns ".arrow".
func (IPC) Ext() string { return ".arrow" }

// NewWriter returns a Sink writing an Arrow IPC file of schema s to w.
func (c IPC) NewWriter(ctx context.Context, w io.Writer, s *arrow.Schema, mem memory.Allocator) (dataflow.Sink, error) {
	opts := []ipc.Option{ipc.WithSchema(s), ipc.WithAllocator(mem)}
	switch strings.ToLower(c.Compression) {
	case "", "none":
	case "zstd":
		opts = append(opts, ipc.WithZstd())
	case "lz4":
		opts = append(opts, ipc.WithLZ4())
	default:
		return nil, fmt.Errorf("%w: %q (want zstd, lz4 or none)", ErrCompression, c.Compression)
	}
	fw, err := ipc.NewFileWriter(noClose{w}, opts...)
	if err != nil {
		return nil, fmt.Errorf("writers: ipc: %w", err)
	}
	return &ipcSink{fw: fw}, nil
}

type ipcSink struct{ fw *ipc.FileWriter }

func (s *ipcSink) Write(ctx context.Context, b arrow.RecordBatch) error {
	defer b.Release()
	if s.fw == nil {
		return ErrClosed
	}
	if err := s.fw.Write(b); err != nil {
		return fmt.Errorf("writers: ipc: %w", err)
	}
	return nil
}

func (s *ipcSink) Close(ctx context.Context) error {
	if s.fw == nil {
		return nil
	}
	err := s.fw.Close()
	s.fw = nil
	if err != nil {
		return fmt.Errorf("writers: ipc: %w", err)
	}
	return nil
}

// CSV writes CSV with a header line; nulls are empty fields.
type CSV struct {
	Comma rune // default ','
}

// Ext returns ".csv".
func (CSV) Ext() string { return ".csv" }

// NewWriter returns a Sink writing CSV of schema s to w.
func (c CSV) NewWriter(ctx context.Context, w io.Writer, s *arrow.Schema, mem memory.Allocator) (dataflow.Sink, error) {
	comma := c.Comma
	if comma == 0 {
		comma = ','
	}
	cw := csv.NewWriter(w, s, csv.WithHeader(true), csv.WithComma(comma), csv.WithNullWriter(""))
	return &csvSink{w: cw}, nil
}

type csvSink struct {
	w      *csv.Writer
	closed bool
}

func (s *csvSink) Write(ctx context.Context, b arrow.RecordBatch) error {
	defer b.Release()
	if s.closed {
		return ErrClosed
	}
	if err := s.w.Write(b); err != nil {
		return fmt.Errorf("writers: csv: %w", err)
	}
	return nil
}

func (s *csvSink) Close(ctx context.Context) error {
	if s.closed {
		return nil
	}
	s.closed = true
	s.w.Flush()
	if err := s.w.Error(); err != nil {
		return fmt.Errorf("writers: csv: %w", err)
	}
	return nil
}

// Text is ParallelRunStep's append_row output: one line per row, the values of Columns
// (default: every column but `error`) joined by Separator (default " "); nulls print as
// nothing. A row whose `error` is set prints instead its path (when the schema has one),
// Separator and "ERROR: <error>". Newlines inside values become spaces, so a row is always
// one line.
type Text struct {
	Columns   []string
	Separator string
	Extension string // default ".txt"
}

// Ext returns the file extension (".txt" by default).
func (t Text) Ext() string {
	if t.Extension != "" {
		return t.Extension
	}
	return ".txt"
}

// NewWriter returns a Sink writing text lines to w.
func (t Text) NewWriter(ctx context.Context, w io.Writer, s *arrow.Schema, mem memory.Allocator) (dataflow.Sink, error) {
	sep := t.Separator
	if sep == "" {
		sep = " "
	}
	var cols []int
	if len(t.Columns) == 0 {
		for i := range s.Fields() {
			cols = append(cols, i)
		}
	} else {
		for _, name := range t.Columns {
			idx := s.FieldIndices(name)
			if len(idx) == 0 {
				return nil, fmt.Errorf("%w: %q in %s", ErrColumn, name, s)
			}
			cols = append(cols, idx[0])
		}
	}
	pi, ei := -1, -1
	if idx := s.FieldIndices(dataflow.PathColumn); len(idx) > 0 {
		pi = idx[0]
	}
	if idx := s.FieldIndices(dataflow.ErrorColumn); len(idx) > 0 {
		ei = idx[0]
	}
	return &textSink{bw: bufio.NewWriterSize(w, 64<<10), cols: cols, sep: sep, pathCol: pi, errCol: ei}, nil
}

type textSink struct {
	bw              *bufio.Writer
	cols            []int
	sep             string
	pathCol, errCol int
	closed          bool
}

var oneLine = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ")

func (s *textSink) Write(ctx context.Context, b arrow.RecordBatch) error {
	defer b.Release()
	if s.closed {
		return ErrClosed
	}
	for i := 0; i < int(b.NumRows()); i++ {
		if s.errCol >= 0 && b.Column(s.errCol).IsValid(i) {
			if s.pathCol >= 0 {
				s.bw.WriteString(oneLine.Replace(valueString(b.Column(s.pathCol), i)))
				s.bw.WriteString(s.sep)
			}
			s.bw.WriteString("ERROR: ")
			s.bw.WriteString(oneLine.Replace(valueString(b.Column(s.errCol), i)))
			s.bw.WriteByte('\n')
			continue
		}
		first := true
		for _, c := range s.cols {
			if c == s.errCol {
				continue // null here
			}
			if !first {
				s.bw.WriteString(s.sep)
			}
			first = false
			s.bw.WriteString(oneLine.Replace(valueString(b.Column(c), i)))
		}
		if err := s.bw.WriteByte('\n'); err != nil {
			return fmt.Errorf("writers: text: %w", err)
		}
	}
	return nil
}

func valueString(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return ""
	}
	switch c := a.(type) {
	case *array.String:
		return c.Value(i)
	case *array.LargeString:
		return c.Value(i)
	case *array.Float32:
		return strconv.FormatFloat(float64(c.Value(i)), 'g', -1, 32)
	case *array.Float64:
		return strconv.FormatFloat(c.Value(i), 'g', -1, 64)
	case *array.Int64:
		return strconv.FormatInt(c.Value(i), 10)
	}
	return a.ValueStr(i)
}

func (s *textSink) Close(ctx context.Context) error {
	if s.closed {
		return nil
	}
	s.closed = true
	if err := s.bw.Flush(); err != nil {
		return fmt.Errorf("writers: text: %w", err)
	}
	return nil
}

// Compile-time checks.
var (
	_ dataflow.WriterFactory = Parquet{}
	_ dataflow.WriterFactory = IPC{}
	_ dataflow.WriterFactory = CSV{}
	_ dataflow.WriterFactory = Text{}
)
