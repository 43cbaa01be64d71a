package tensorcol

import (
	"errors"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestBuilderRoundTrip(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := NewBuilder(mem, 4, 3)
	for r := 0; r < 4; r++ {
		for i, v := range []float32{1, 2, 3} {
			b.Row(r)[i] = v * float32(r+1)
		}
	}
	b.SetNull(2)
	b.SetNull(2) // twice counts once
	col := b.NewArray()
	defer col.Release()
	if col.Len() != 4 || col.NullN() != 1 || !col.IsNull(2) || !col.IsValid(3) {
		t.Fatalf("len %d nulls %d", col.Len(), col.NullN())
	}
	vals, n, err := Values(col)
	if err != nil || n != 3 || len(vals) != 12 || vals[3] != 2 || vals[11] != 12 || vals[6] != 0 {
		t.Fatalf("values %v n %d err %v", vals, n, err)
	}
	// A slice keeps its offset.
	s := array.NewSlice(col, 1, 3)
	defer s.Release()
	vals, _, err = Values(s)
	if err != nil || len(vals) != 6 || vals[0] != 2 {
		t.Fatalf("slice values %v err %v", vals, err)
	}
}

func TestBuilderRelease(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := NewBuilder(mem, 2, 5)
	b.SetNull(0)
	b.Release()
}

func TestValuesRejectsOtherTypes(t *testing.T) {
	bld := array.NewInt64Builder(memory.DefaultAllocator)
	defer bld.Release()
	bld.Append(1)
	a := bld.NewArray()
	defer a.Release()
	if _, _, err := Values(a); !errors.Is(err, ErrType) {
		t.Fatalf("err %v, want ErrType", err)
	}
}
