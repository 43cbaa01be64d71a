package cpu

import (
	"fmt"

	"gorgonia.org/tensor"

	"github.com/sluice-ml/sluice/nn"
)

// ToDense wraps t's data, without copying, as a gorgonia tensor.Dense, for
// callers that post-process outputs with gorgonia. Float16/BFloat16 and
// string tensors are not representable and return an error.
func ToDense(t *nn.Tensor) (*tensor.Dense, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	switch t.DType {
	case nn.Float16, nn.BFloat16, nn.String:
		return nil, fmt.Errorf("%w: gorgonia has no %v tensors", nn.ErrBadTensor, t.DType)
	}
	shape := tensor.Shape(append([]int(nil), t.Shape...))
	if len(shape) == 0 {
		return tensor.New(tensor.FromScalar(scalar(t.Data))), nil
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(t.Data)), nil
}

func scalar(data any) any {
	switch d := data.(type) {
	case []float32:
		return d[0]
	case []float64:
		return d[0]
	case []int8:
		return d[0]
	case []uint8:
		return d[0]
	case []int16:
		return d[0]
	case []uint16:
		return d[0]
	case []int32:
		return d[0]
	case []uint32:
		return d[0]
	case []int64:
		return d[0]
	case []uint64:
		return d[0]
	case []bool:
		return d[0]
	}
	return nil
}

// FromDense returns a tensor sharing d's backing data (d must not be a
// view with strides other than its own shape's).
func FromDense(d *tensor.Dense) (*nn.Tensor, error) {
	if d.RequiresIterator() {
		d = d.Materialize().(*tensor.Dense)
	}
	t := &nn.Tensor{Shape: append([]int(nil), d.Shape()...)}
	if d.IsScalar() {
		t.Shape = nil
	}
	switch d.Dtype() {
	case tensor.Float32:
		t.DType, t.Data = nn.Float32, d.Float32s()
	case tensor.Float64:
		t.DType, t.Data = nn.Float64, d.Float64s()
	case tensor.Int64:
		t.DType, t.Data = nn.Int64, d.Int64s()
	case tensor.Int32:
		t.DType, t.Data = nn.Int32, d.Int32s()
	case tensor.Int8:
		t.DType, t.Data = nn.Int8, d.Int8s()
	case tensor.Uint8:
		t.DType, t.Data = nn.Uint8, d.Uint8s()
	case tensor.Bool:
		t.DType, t.Data = nn.Bool, d.Bools()
	default:
		return nil, fmt.Errorf("%w: gorgonia dtype %v", nn.ErrBadTensor, d.Dtype())
	}
	if t.Len() != nn.DataLen(t.Data) {
		t.Data = nn.CloneData(t.Data)
		if nn.DataLen(t.Data) > t.Len() {
			return nil, fmt.Errorf("%w: gorgonia tensor with %d elements for shape %v", nn.ErrBadTensor, nn.DataLen(t.Data), t.Shape)
		}
	}
	return t, nil
}
