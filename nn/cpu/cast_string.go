package cpu

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/sluice-ml/sluice/nn"
)

// castToString formats in's elements as ONNX Cast to string does: floats
// in their shortest round-trip form (positional for exponents -5 to 15, as
// numpy prints them), "NaN", "INF", "-INF"; integers in decimal; booleans
// as "1"/"0" (the spec's bool → number → string).
func castToString(dst []string, in *nn.Tensor) {
	switch s := in.Data.(type) {
	case []float32:
		for i, v := range s {
			dst[i] = formatFloat(float64(v), 32)
		}
	case []float64:
		for i, v := range s {
			dst[i] = formatFloat(v, 64)
		}
	case []nn.Half, []nn.BHalf:
		for i, v := range toFloat64(s) {
			dst[i] = formatFloat(v, 32)
		}
	case []int64:
		for i, v := range s {
			dst[i] = strconv.FormatInt(v, 10)
		}
	case []uint64:
		for i, v := range s {
			dst[i] = strconv.FormatUint(v, 10)
		}
	case []string:
		copy(dst, s)
	default: // narrower integers and bool are exact in float64
		for i, v := range toFloat64(s) {
			dst[i] = strconv.FormatInt(int64(v), 10)
		}
	}
}

func formatFloat(v float64, bits int) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "INF"
	case math.IsInf(v, -1):
		return "-INF"
	}
	if a := math.Abs(v); a != 0 && (a < 1e-4 || a >= 1e16) {
		return strconv.FormatFloat(v, 'e', -1, bits)
	}
	return strconv.FormatFloat(v, 'f', -1, bits)
}

// castFromString parses in's strings into t's element type: numbers in
// decimal or scientific form, "NaN", "INF", "+INF", "-INF" (any case) for
// floating types; integers also from a float form (truncated); booleans
// from "true"/"false" or a number (non-zero is true). A string that is not
// a number is an error naming it.
func castFromString(t *nn.Tensor, in []string) error {
	parse := func(i int, bits int) (float64, error) {
		s := strings.TrimSpace(in[i])
		v, err := strconv.ParseFloat(s, bits)
		if err != nil && !isRangeErr(err) {
			if b, berr := strconv.ParseBool(s); berr == nil && t.DType == nn.Bool {
				if b {
					return 1, nil
				}
				return 0, nil
			}
			return 0, fmt.Errorf("%w: Cast from string: element %d %q is not a number", nn.ErrBadTensor, i, in[i])
		}
		return v, nil
	}
	switch d := t.Data.(type) {
	case []float32:
		for i := range in {
			v, err := parse(i, 32)
			if err != nil {
				return err
			}
			d[i] = float32(v)
		}
		return nil
	case []int64, []uint64:
		ints := make([]int64, len(in))
		for i, s := range in {
			s = strings.TrimSpace(s)
			if v, err := strconv.ParseInt(s, 10, 64); err == nil {
				ints[i] = v
				continue
			}
			if v, err := strconv.ParseUint(s, 10, 64); err == nil {
				ints[i] = int64(v)
				continue
			}
			v, err := parse(i, 64)
			if err != nil {
				return err
			}
			ints[i] = int64(v)
		}
		storeInts(t.Data, ints)
		return nil
	}
	f := make([]float64, len(in))
	for i := range in {
		v, err := parse(i, 64)
		if err != nil {
			return err
		}
		f[i] = v
	}
	storeFloats(t.Data, f)
	return nil
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}
