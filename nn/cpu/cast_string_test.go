package cpu

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/sluice-ml/sluice/nn"
)

func TestCastStringRoundTrip(t *testing.T) {
	in := &nn.Tensor{DType: nn.Float32, Shape: []int{5}, Data: []float32{0.1, 1e-7, 123456, float32(math.Inf(-1)), 3}}
	s := &nn.Tensor{DType: nn.String, Shape: []int{5}, Data: make([]string, 5)}
	castToString(s.Data.([]string), in)
	if got, want := strings.Join(s.Data.([]string), " "), "0.1 1e-07 123456 -INF 3"; got != want {
		t.Fatalf("Cast float→string = %q, want %q", got, want)
	}
	back := &nn.Tensor{DType: nn.Float32, Shape: []int{5}, Data: make([]float32, 5)}
	if err := castFromString(back, s.Data.([]string)); err != nil {
		t.Fatal(err)
	}
	for i, v := range back.F32() {
		if v != in.F32()[i] {
			t.Fatalf("round trip element %d = %v, want %v", i, v, in.F32()[i])
		}
	}
	i64 := &nn.Tensor{DType: nn.Int64, Shape: []int{2}, Data: make([]int64, 2)}
	if err := castFromString(i64, []string{"9007199254740993", "-2.5"}); err != nil {
		t.Fatal(err)
	}
	if got := i64.Data.([]int64); got[0] != 9007199254740993 || got[1] != -2 {
		t.Fatalf("Cast string→int64 = %v", got)
	}
	err := castFromString(back, []string{"1", "x1"})
	if !errors.Is(err, nn.ErrBadTensor) || !strings.Contains(err.Error(), `"x1"`) {
		t.Fatalf("Cast of a non-number: err = %v, want ErrBadTensor naming it", err)
	}
}
