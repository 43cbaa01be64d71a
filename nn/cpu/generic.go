package cpu

import (
	"github.com/sluice-ml/sluice/nn"
)

// takeInto sets dst[i] = src[idx[i]] for idx[i] >= 0 (negative entries
// leave dst as it is). dst and src hold the same element type.
func takeInto(dst, src any, idx []int32) {
	switch d := dst.(type) {
	case []float32:
		take(d, src.([]float32), idx)
	case []float64:
		take(d, src.([]float64), idx)
	case []nn.Half:
		take(d, src.([]nn.Half), idx)
	case []nn.BHalf:
		take(d, src.([]nn.BHalf), idx)
	case []int8:
		take(d, src.([]int8), idx)
	case []uint8:
		take(d, src.([]uint8), idx)
	case []int16:
		take(d, src.([]int16), idx)
	case []uint16:
		take(d, src.([]uint16), idx)
	case []int32:
		take(d, src.([]int32), idx)
	case []uint32:
		take(d, src.([]uint32), idx)
	case []int64:
		take(d, src.([]int64), idx)
	case []uint64:
		take(d, src.([]uint64), idx)
	case []bool:
		take(d, src.([]bool), idx)
	case []string:
		take(d, src.([]string), idx)
	default:
		panic("takeInto: unknown data type")
	}
}

func take[T any](d, s []T, idx []int32) {
	for i, j := range idx {
		if j >= 0 {
			d[i] = s[j]
		}
	}
}

// copyRange copies src[so:so+n] to dst[do:do+n].
func copyRange(dst any, do int, src any, so, n int) {
	switch d := dst.(type) {
	case []float32:
		copy(d[do:do+n], src.([]float32)[so:so+n])
	case []float64:
		copy(d[do:do+n], src.([]float64)[so:so+n])
	case []nn.Half:
		copy(d[do:do+n], src.([]nn.Half)[so:so+n])
	case []nn.BHalf:
		copy(d[do:do+n], src.([]nn.BHalf)[so:so+n])
	case []int8:
		copy(d[do:do+n], src.([]int8)[so:so+n])
	case []uint8:
		copy(d[do:do+n], src.([]uint8)[so:so+n])
	case []int16:
		copy(d[do:do+n], src.([]int16)[so:so+n])
	case []uint16:
		copy(d[do:do+n], src.([]uint16)[so:so+n])
	case []int32:
		copy(d[do:do+n], src.([]int32)[so:so+n])
	case []uint32:
		copy(d[do:do+n], src.([]uint32)[so:so+n])
	case []int64:
		copy(d[do:do+n], src.([]int64)[so:so+n])
	case []uint64:
		copy(d[do:do+n], src.([]uint64)[so:so+n])
	case []bool:
		copy(d[do:do+n], src.([]bool)[so:so+n])
	case []string:
		copy(d[do:do+n], src.([]string)[so:so+n])
	default:
		panic("copyRange: unknown data type")
	}
}

// fillWith sets every element of dst to the first element of val (same type).
func fillWith(dst, val any) {
	switch d := dst.(type) {
	case []float32:
		fill(d, val.([]float32)[0])
	case []float64:
		fill(d, val.([]float64)[0])
	case []nn.Half:
		fill(d, val.([]nn.Half)[0])
	case []nn.BHalf:
		fill(d, val.([]nn.BHalf)[0])
	case []int8:
		fill(d, val.([]int8)[0])
	case []uint8:
		fill(d, val.([]uint8)[0])
	case []int16:
		fill(d, val.([]int16)[0])
	case []uint16:
		fill(d, val.([]uint16)[0])
	case []int32:
		fill(d, val.([]int32)[0])
	case []uint32:
		fill(d, val.([]uint32)[0])
	case []int64:
		fill(d, val.([]int64)[0])
	case []uint64:
		fill(d, val.([]uint64)[0])
	case []bool:
		fill(d, val.([]bool)[0])
	case []string:
		fill(d, val.([]string)[0])
	default:
		panic("fillWith: unknown data type")
	}
}

func fill[T any](d []T, v T) {
	for i := range d {
		d[i] = v
	}
}

// zeroData clears dst.
func zeroData(dst any) {
	switch d := dst.(type) {
	case []float32:
		clear(d)
	case []float64:
		clear(d)
	case []nn.Half:
		clear(d)
	case []nn.BHalf:
		clear(d)
	case []int8:
		clear(d)
	case []uint8:
		clear(d)
	case []int16:
		clear(d)
	case []uint16:
		clear(d)
	case []int32:
		clear(d)
	case []uint32:
		clear(d)
	case []int64:
		clear(d)
	case []uint64:
		clear(d)
	case []bool:
		clear(d)
	case []string:
		clear(d)
	}
}

// toFloat64 converts any numeric data to float64 (Half/BHalf decoded).
func toFloat64(src any) []float64 {
	switch s := src.(type) {
	case []float32:
		return conv64(s)
	case []float64:
		return append([]float64(nil), s...)
	case []nn.Half:
		r := make([]float64, len(s))
		for i, v := range s {
			r[i] = float64(nn.HalfToFloat32(v))
		}
		return r
	case []nn.BHalf:
		r := make([]float64, len(s))
		for i, v := range s {
			r[i] = float64(nn.BHalfToFloat32(v))
		}
		return r
	case []int8:
		return conv64(s)
	case []uint8:
		return conv64(s)
	case []int16:
		return conv64(s)
	case []uint16:
		return conv64(s)
	case []int32:
		return conv64(s)
	case []uint32:
		return conv64(s)
	case []int64:
		return conv64(s)
	case []uint64:
		return conv64(s)
	case []bool:
		r := make([]float64, len(s))
		for i, v := range s {
			if v {
				r[i] = 1
			}
		}
		return r
	}
	return nil
}

type real interface {
	~float32 | ~float64 | ~int8 | ~uint8 | ~int16 | ~uint16 | ~int32 | ~uint32 | ~int64 | ~uint64
}

func conv64[T real](s []T) []float64 {
	r := make([]float64, len(s))
	for i, v := range s {
		r[i] = float64(v)
	}
	return r
}
