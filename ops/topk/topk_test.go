package topk

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluice-ml/sluice/engine/dataflow"
	"github.com/sluice-ml/sluice/ops/tensorcol"
)

func TestReadLabels(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		text string
		want []string
		err  bool
	}{
		"plain":   {"cat\ndog\n\n", []string{"cat", "dog"}, false},
		"indexed": {"0 tench, Tinca tinca\n1: goldfish\n", []string{"tench, Tinca tinca", "goldfish"}, false},
		"numbers": {"0\n1\n2\n", []string{"0", "1", "2"}, false},
		"empty":   {"\n\n", nil, true},
		"hole":    {"a\n\nb\n", nil, true},
	} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(tc.text), 0o644)
		got, err := ReadLabels(p)
		if tc.err {
			if !errors.Is(err, ErrLabels) {
				t.Errorf("%s: err %v, want ErrLabels", name, err)
			}
			continue
		}
		if err != nil || len(got) != len(tc.want) {
			t.Errorf("%s: %q, %v", name, got, err)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: %q, want %q", name, got, tc.want)
			}
		}
	}
}

func TestProcess(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := dataflow.WithAllocator(context.Background(), mem)
	items := dataflow.NewItemBatch(mem, []string{"a.jpg", "b.jpg", "c.jpg"})
	tb := tensorcol.NewBuilder(mem, 3, 3)
	copy(tb.Row(0), []float32{1, 3, 2})       // logits: softmax applied
	copy(tb.Row(1), []float32{0.2, 0.1, 0.7}) // already probabilities
	tb.SetNull(2)                             // a failed item
	col := tb.NewArray()
	schema := arrow.NewSchema(append(items.Schema().Fields(), tensorcol.Field("logits", 3)), nil)
	in := array.NewRecordBatch(schema, append(items.Columns(), col), 3)
	items.Release()
	col.Release()
	op := &Op{Labels: []string{"x", "y", "z"}, K: 2}
	outs, err := op.Process(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	b := outs[0]
	defer b.Release()
	if !b.Schema().Equal(op.OutSchema(in.Schema())) {
		t.Fatalf("schema %s, OutSchema says %s", b.Schema(), op.OutSchema(in.Schema()))
	}
	labels := b.Column(b.Schema().FieldIndices(LabelColumn)[0]).(*array.String)
	scores := b.Column(b.Schema().FieldIndices(ScoreColumn)[0]).(*array.Float32)
	top := b.Column(b.Schema().FieldIndices(TopLabelsColumn)[0]).(*array.List)
	if labels.Value(0) != "y" || labels.Value(1) != "z" || labels.IsValid(2) {
		t.Fatalf("labels %v", labels)
	}
	e := math.Exp(1) + math.Exp(3) + math.Exp(2)
	if math.Abs(float64(scores.Value(0))-math.Exp(3)/e) > 1e-6 || scores.Value(1) != 0.7 {
		t.Fatalf("scores %v", scores)
	}
	if s, e := top.ValueOffsets(0); e-s != 2 || top.ListValues().(*array.String).Value(int(s+1)) != "z" {
		t.Fatalf("top-k %v", top)
	}
	if err := op.Check(4); !errors.Is(err, ErrLabels) {
		t.Fatalf("3 labels for 4 classes: %v", err)
	}
}

func FuzzReadLabels(f *testing.F) {
	f.Add("cat\ndog\n")
	f.Add("0 tench\n1: goldfish\n")
	f.Add("\n\n")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, text string) {
		p := filepath.Join(dir, "labels.txt")
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		labels, err := ReadLabels(p)
		if err != nil {
			return
		}
		if len(labels) == 0 {
			t.Fatal("no labels and no error")
		}
		for _, l := range labels {
			if l == "" {
				t.Fatalf("empty label from %q", text)
			}
		}
	})
}
