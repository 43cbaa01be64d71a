package images

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/sluice-ml/sluice/engine/dataflow"
	"github.com/sluice-ml/sluice/ops/decode"
	"github.com/sluice-ml/sluice/ops/preprocess"
	"github.com/sluice-ml/sluice/ops/tensorcol"
	"github.com/sluice-ml/sluice/store/datastore"
)

func TestReadThenDecode(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ctx := dataflow.WithAllocator(context.Background(), mem)
	dir := t.TempDir()
	img := image.NewRGBA(image.Rect(0, 0, 8, 4))
	for x := 0; x < 8; x++ {
		for y := 0; y < 4; y++ {
			img.Set(x, y, color.RGBA{R: 255, G: uint8(x * 30), B: 0, A: 255})
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	os.WriteFile(filepath.Join(dir, "good.png"), buf.Bytes(), 0o644)
	os.WriteFile(filepath.Join(dir, "text.jpg"), []byte("hello"), 0o644)
	os.WriteFile(filepath.Join(dir, "big.png"), bytes.Repeat([]byte{1}, 2000), 0o644)

	read := FromLocation(datastore.Location{Store: datastore.NewLocal(dir)}, 1000)
	in := dataflow.NewItemBatch(mem, []string{"good.png", "missing.png", "text.jpg", "big.png"})
	outs, err := read.Process(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := preprocess.Parse("size=4x2")
	dec, err := NewDecode(spec, decode.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	readSchema := outs[0].Schema()
	outs, err = dec.Process(ctx, outs[0])
	if err != nil {
		t.Fatal(err)
	}
	b := outs[0]
	defer b.Release()
	if !b.Schema().Equal(dec.OutSchema(readSchema)) {
		t.Fatalf("schema %s, OutSchema %s", b.Schema(), dec.OutSchema(readSchema))
	}
	errs := dataflow.Errors(b)
	wantErr := []string{"", "read: ", "decode: not a supported image", "read: file larger than the limit"}
	for i, w := range wantErr {
		if w == "" {
			if errs.IsValid(i) {
				t.Errorf("row %d failed: %s", i, errs.Value(i))
			}
			continue
		}
		if !errs.IsValid(i) || !strings.HasPrefix(errs.Value(i), w) {
			t.Errorf("row %d: error %q, want %q…", i, errs.Value(i), w)
		}
	}
	col := b.Column(b.Schema().FieldIndices(TensorColumn)[0])
	vals, n, err := tensorcol.Values(col)
	if err != nil || n != 3*4*2 || col.NullN() != 3 {
		t.Fatalf("tensor n %d nulls %d err %v", n, col.NullN(), err)
	}
	if vals[0] != 1 || vals[7] != 1 || vals[16] != 0 { // CHW: red plane all 1 (255/255), blue plane 0
		t.Fatalf("tensor %v", vals[:n])
	}
	if _, err := NewDecode(preprocess.Spec{ResizeShort: 10}, decode.Limits{}); err == nil {
		t.Fatal("a spec without a fixed size was accepted")
	}
}
