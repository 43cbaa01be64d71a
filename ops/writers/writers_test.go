package writers_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sluice-ml/sluice/engine/dataflow"
	"github.com/sluice-ml/sluice/ops/writers"
)

var schema = arrow.NewSchema([]arrow.Field{
	{Name: "path", Type: arrow.BinaryTypes.String},
	{Name: "label", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "score", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
	{Name: "error", Type: arrow.BinaryTypes.String, Nullable: true},
}, nil)

func batch(mem memory.Allocator) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"a.jpg", "b.jpg", "c d.jpg"}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"tabby cat", "", "goldfish"}, []bool{true, false, true})
	b.Field(2).(*array.Float32Builder).AppendValues([]float32{0.5, 0, 0.25}, []bool{true, false, true})
	b.Field(3).(*array.StringBuilder).AppendValues([]string{"", "b.jpg: not an image\nreally", ""}, []bool{false, true, false})
	return b.NewRecordBatch()
}

func write(t *testing.T, f dataflow.WriterFactory, mem memory.Allocator, batches int) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := f.NewWriter(context.Background(), &buf, schema, mem)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < batches; i++ {
		if err := w.Write(context.Background(), batch(mem)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := w.Write(context.Background(), batch(mem)); !errors.Is(err, writers.ErrClosed) {
		t.Errorf("Write after Close: %v", err)
	}
	return buf.Bytes()
}

func checked(t *testing.T) *memory.CheckedAllocator {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

func TestParquet(t *testing.T) {
	for _, tc := range []struct {
		name string
		want compress.Compression
	}{{"", compress.Codecs.Snappy}, {"snappy", compress.Codecs.Snappy}, {"zstd", compress.Codecs.Zstd}, {"none", compress.Codecs.Uncompressed}} {
		t.Run(tc.name, func(t *testing.T) {
			mem := checked(t)
			data := write(t, writers.Parquet{Compression: tc.name}, mem, 2)
			rdr, err := file.NewParquetReader(bytes.NewReader(data), file.WithReadProps(parquet.NewReaderProperties(mem)))
			if err != nil {
				t.Fatal(err)
			}
			defer rdr.Close()
			if rdr.NumRows() != 6 || rdr.NumRowGroups() != 2 {
				t.Errorf("rows %d, row groups %d", rdr.NumRows(), rdr.NumRowGroups())
			}
			if cc, err := rdr.MetaData().RowGroup(0).ColumnChunk(0); err != nil {
				t.Fatal(err)
			} else if cc.Compression() != tc.want {
				t.Errorf("compression %v, want %v", cc.Compression(), tc.want)
			}
			fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, mem)
			if err != nil {
				t.Fatal(err)
			}
			tbl, err := fr.ReadTable(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			defer tbl.Release()
			for i, f := range tbl.Schema().Fields() {
				if w := schema.Field(i); f.Name != w.Name || !arrow.TypeEqual(f.Type, w.Type) || f.Nullable != w.Nullable {
					t.Errorf("field %d = %s, want %s", i, f, w)
				}
			}
			lbl := tbl.Column(1).Data().Chunk(0).(*array.String)
			if lbl.Value(0) != "tabby cat" || lbl.IsValid(1) {
				t.Errorf("labels %v", lbl)
			}
		})
	}
	if _, err := (writers.Parquet{Compression: "lzma"}).NewWriter(context.Background(), &bytes.Buffer{}, schema, memory.DefaultAllocator); !errors.Is(err, writers.ErrCompression) {
		t.Errorf("unknown codec: %v", err)
	}
}

func TestIPC(t *testing.T) {
	for _, c := range []string{"", "zstd", "lz4"} {
		t.Run(c, func(t *testing.T) {
			mem := checked(t)
			data := write(t, writers.IPC{Compression: c}, mem, 3)
			r, err := ipc.NewFileReader(bytes.NewReader(data), ipc.WithAllocator(mem))
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if r.NumRecords() != 3 || !r.Schema().Equal(schema) {
				t.Fatalf("records %d schema %s", r.NumRecords(), r.Schema())
			}
			rec, err := r.RecordBatch(2)
			if err != nil {
				t.Fatal(err)
			}
			if rec.NumRows() != 3 || rec.Column(2).(*array.Float32).Value(2) != 0.25 {
				t.Errorf("record %v", rec)
			}
		})
	}
}

func TestCSV(t *testing.T) {
	mem := checked(t)
	got := string(write(t, writers.CSV{}, mem, 1))
	want := "path,label,score,error\na.jpg,tabby cat,0.5,\nb.jpg,,,\"b.jpg: not an image\nreally\"\nc d.jpg,goldfish,0.25,\n"
	if got != want {
		t.Errorf("csv:\n%s\nwant:\n%s", got, want)
	}
}

func TestTextAppendRow(t *testing.T) {
	mem := checked(t)
	got := string(write(t, writers.Text{}, mem, 2))
	want := strings.Repeat("a.jpg tabby cat 0.5\nb.jpg ERROR: b.jpg: not an image really\nc d.jpg goldfish 0.25\n", 2)
	if got != want {
		t.Errorf("text:\n%q\nwant:\n%q", got, want)
	}
	// The original sample's "file: label" lines.
	got = string(write(t, writers.Text{Columns: []string{"path", "label"}, Separator: ": "}, mem, 1))
	if want := "a.jpg: tabby cat\nb.jpg: ERROR: b.jpg: not an image really\nc d.jpg: goldfish\n"; got != want {
		t.Errorf("text with columns:\n%q\nwant:\n%q", got, want)
	}
	if _, err := (writers.Text{Columns: []string{"nope"}}).NewWriter(context.Background(), &bytes.Buffer{}, schema, mem); !errors.Is(err, writers.ErrColumn) {
		t.Errorf("unknown column: %v", err)
	}
	if (writers.Text{}).Ext() != ".txt" || (writers.Text{Extension: ".out"}).Ext() != ".out" {
		t.Error("Ext")
	}
}
