package onnx

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/graph"
	"github.com/sluice-ml/sluice/nn/onnx/onnxpb"
)

// Supported default-domain opset range.
const (
	MinOpset = 1
	MaxOpset = 17
)

// Options bound what the loader accepts. Zero values take the defaults.
type Options struct {
	// MaxFileBytes bounds the model file (default 2 GiB, protobuf's own
	// limit).
	MaxFileBytes int64
	// MaxTensorBytes bounds any single tensor (default 2 GiB).
	MaxTensorBytes int64
	// Dir is where external data files are looked up; Load sets it to the
	// model file's directory. Empty disables external data.
	Dir string
}

func (o Options) withDefaults() Options {
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = 2 << 30
	}
	if o.MaxTensorBytes <= 0 {
		o.MaxTensorBytes = 2 << 30
	}
	return o
}

// Load reads and decodes the model file at path.
func Load(ctx context.Context, path string, opts Options) (*graph.Graph, error) {
	opts = opts.withDefaults()
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	if st.Size() > opts.MaxFileBytes {
		return nil, fmt.Errorf("onnx: %s: %w: file of %d bytes exceeds the %d byte limit", path, nn.ErrTooLarge, st.Size(), opts.MaxFileBytes)
	}
	data, err := io.ReadAll(io.LimitReader(f, opts.MaxFileBytes))
	if err != nil {
		return nil, fmt.Errorf("onnx: %s: %w", path, err)
	}
	if opts.Dir == "" {
		opts.Dir = filepath.Dir(path)
	}
	g, err := Decode(ctx, data, opts)
	if err != nil {
		return nil, fmt.Errorf("onnx: %s: %w", path, err)
	}
	return g, nil
}

// Decode parses a serialized ModelProto.
func Decode(ctx context.Context, data []byte, opts Options) (*graph.Graph, error) {
	opts = opts.withDefaults()
	if int64(len(data)) > opts.MaxFileBytes {
		return nil, fmt.Errorf("%w: model of %d bytes", nn.ErrTooLarge, len(data))
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%w: not an ONNX protobuf: %v", nn.ErrMalformedModel, err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return convertModel(ctx, &m, opts)
}

func convertModel(ctx context.Context, m *onnxpb.ModelProto, opts Options) (*graph.Graph, error) {
	if m.Graph == nil {
		return nil, fmt.Errorf("%w: model has no graph", nn.ErrMalformedModel)
	}
	opset := -1
	for _, o := range m.OpsetImport {
		if d := o.GetDomain(); d == "" || d == "ai.onnx" {
			opset = int(o.GetVersion())
		}
	}
	if opset == -1 {
		if len(m.OpsetImport) == 0 && m.GetIrVersion() < 3 {
			opset = 1 // IR v1/v2 models predate opset_import
		} else {
			return nil, fmt.Errorf("%w: model imports no default-domain opset", nn.ErrMalformedModel)
		}
	}
	if opset < MinOpset || opset > MaxOpset {
		return nil, fmt.Errorf("%w: default-domain opset %d (supported %d–%d)", nn.ErrUnsupportedOp, opset, MinOpset, MaxOpset)
	}
	pg := m.Graph
	g := &graph.Graph{
		Name:         pg.GetName(),
		Opset:        opset,
		Initializers: map[string]*nn.Tensor{},
		Overridable:  map[string]bool{},
	}
	var budget int64 = opts.MaxFileBytes // total bytes materialized from external data
	for _, tp := range pg.Initializer {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t, err := tensorFromProto(tp, opts, &budget)
		if err != nil {
			return nil, fmt.Errorf("initializer %q: %w", tp.GetName(), err)
		}
		if tp.GetName() == "" {
			return nil, fmt.Errorf("%w: initializer without a name", nn.ErrMalformedModel)
		}
		g.Initializers[tp.GetName()] = t
	}
	if len(pg.SparseInitializer) > 0 {
		return nil, fmt.Errorf("%w: sparse initializers", nn.ErrUnsupportedOp)
	}
	seen := map[string]bool{}
	for _, vi := range pg.Input {
		info, err := valueInfo(vi)
		if err != nil {
			return nil, fmt.Errorf("graph input: %w", err)
		}
		if seen[info.Name] {
			return nil, fmt.Errorf("%w: duplicate graph input %q", nn.ErrMalformedModel, info.Name)
		}
		seen[info.Name] = true
		if _, ok := g.Initializers[info.Name]; ok {
			g.Overridable[info.Name] = true
			continue
		}
		g.Inputs = append(g.Inputs, info)
	}
	for _, vi := range pg.Output {
		info, err := valueInfo(vi)
		if err != nil {
			return nil, fmt.Errorf("graph output: %w", err)
		}
		g.Outputs = append(g.Outputs, info)
	}
	if len(g.Outputs) == 0 {
		return nil, fmt.Errorf("%w: graph has no outputs", nn.ErrMalformedModel)
	}
	for i, np := range pg.Node {
		n := &graph.Node{
			Name:    np.GetName(),
			Op:      np.GetOpType(),
			Domain:  np.GetDomain(),
			Inputs:  append([]string(nil), np.Input...),
			Outputs: append([]string(nil), np.Output...),
			Attrs:   map[string]*graph.Attr{},
		}
		if n.Domain == "ai.onnx" {
			n.Domain = ""
		}
		if n.Name == "" {
			n.Name = fmt.Sprintf("%s_%d", n.Op, i)
		}
		for _, ap := range np.Attribute {
			a, err := attr(ap, opts, &budget)
			if err != nil {
				return nil, fmt.Errorf("%v attribute %q: %w", n, ap.GetName(), err)
			}
			if a != nil {
				n.Attrs[ap.GetName()] = a
			}
		}
		g.Nodes = append(g.Nodes, n)
	}
	if err := g.Validate(); err != nil {
		return nil, err
	}
	return g, nil
}

// maxTypeDepth bounds the nesting of sequence and optional types.
const maxTypeDepth = 16

func valueInfo(vi *onnxpb.ValueInfoProto) (graph.ValueInfo, error) {
	if vi.GetName() == "" {
		return graph.ValueInfo{}, fmt.Errorf("%w: value without a name", nn.ErrMalformedModel)
	}
	return typeInfo(vi.GetName(), vi.GetType(), 0)
}

// typeInfo converts a TypeProto: tensors, sequences and optionals (element
// types recursively; whether the backend runs such a value is its
// business). Maps and sparse tensors, and a type left unset, are unknown
// (an undefined tensor), as before sequences were understood.
func typeInfo(name string, tp *onnxpb.TypeProto, depth int) (graph.ValueInfo, error) {
	info := graph.ValueInfo{Name: name}
	if depth > maxTypeDepth {
		return info, fmt.Errorf("%w: value %q has a type nested over %d levels deep", nn.ErrMalformedModel, name, maxTypeDepth)
	}
	switch v := tp.GetValue().(type) {
	case *onnxpb.TypeProto_SequenceType:
		info.Kind = nn.KindSequence
		if et := v.SequenceType.GetElemType(); et != nil {
			el, err := typeInfo(name, et, depth+1)
			if err != nil {
				return info, err
			}
			info.Elem = &el
		}
		return info, nil
	case *onnxpb.TypeProto_OptionalType:
		info.Kind = nn.KindOptional
		if et := v.OptionalType.GetElemType(); et != nil {
			el, err := typeInfo(name, et, depth+1)
			if err != nil {
				return info, err
			}
			info.Elem = &el
		}
		return info, nil
	}
	tt := tp.GetTensorType()
	if tt == nil {
		return info, nil // maps, sparse tensors: unknown here
	}
	info.DType = nn.DType(tt.GetElemType())
	if sh := tt.GetShape(); sh != nil {
		info.Shape = make([]int, len(sh.Dim))
		info.DimParams = make([]string, len(sh.Dim))
		for i, d := range sh.Dim {
			switch v := d.Value.(type) {
			case *onnxpb.TensorShapeProto_Dimension_DimValue:
				if v.DimValue < 0 || v.DimValue > math.MaxInt32 {
					return info, fmt.Errorf("%w: value %q has dimension %d", nn.ErrMalformedModel, info.Name, v.DimValue)
				}
				info.Shape[i] = int(v.DimValue)
			case *onnxpb.TensorShapeProto_Dimension_DimParam:
				info.Shape[i] = -1
				info.DimParams[i] = v.DimParam
			default:
				info.Shape[i] = -1
			}
		}
	}
	return info, nil
}

func attr(ap *onnxpb.AttributeProto, opts Options, budget *int64) (*graph.Attr, error) {
	switch ap.GetType() {
	case onnxpb.AttributeProto_FLOAT:
		return &graph.Attr{Type: graph.AttrFloat, F: ap.GetF()}, nil
	case onnxpb.AttributeProto_INT:
		return &graph.Attr{Type: graph.AttrInt, I: ap.GetI()}, nil
	case onnxpb.AttributeProto_STRING:
		return &graph.Attr{Type: graph.AttrString, S: string(ap.GetS())}, nil
	case onnxpb.AttributeProto_TENSOR:
		t, err := tensorFromProto(ap.GetT(), opts, budget)
		if err != nil {
			return nil, err
		}
		return &graph.Attr{Type: graph.AttrTensor, T: t}, nil
	case onnxpb.AttributeProto_FLOATS:
		return &graph.Attr{Type: graph.AttrFloats, Floats: append([]float32(nil), ap.GetFloats()...)}, nil
	case onnxpb.AttributeProto_INTS:
		return &graph.Attr{Type: graph.AttrInts, Ints: append([]int64(nil), ap.GetInts()...)}, nil
	case onnxpb.AttributeProto_STRINGS:
		ss := make([]string, len(ap.GetStrings()))
		for i, s := range ap.GetStrings() {
			ss[i] = string(s)
		}
		return &graph.Attr{Type: graph.AttrStrings, Strings: ss}, nil
	case onnxpb.AttributeProto_UNDEFINED:
		// Old exporters leave the type unset; infer it from what is set.
		switch {
		case ap.T != nil:
			ap.Type = onnxpb.AttributeProto_TENSOR.Enum()
		case len(ap.Ints) > 0:
			ap.Type = onnxpb.AttributeProto_INTS.Enum()
		case len(ap.Floats) > 0:
			ap.Type = onnxpb.AttributeProto_FLOATS.Enum()
		case len(ap.Strings) > 0:
			ap.Type = onnxpb.AttributeProto_STRINGS.Enum()
		case ap.S != nil:
			ap.Type = onnxpb.AttributeProto_STRING.Enum()
		case ap.F != nil:
			ap.Type = onnxpb.AttributeProto_FLOAT.Enum()
		case ap.I != nil:
			ap.Type = onnxpb.AttributeProto_INT.Enum()
		default:
			return nil, nil
		}
		return attr(ap, opts, budget)
	}
	// Graph-valued and sparse attributes belong to operators this engine
	// does not implement; the backend reports the operator.
	return nil, nil
}

// TensorFromProto converts a TensorProto, checking sizes before allocating.
// External data is resolved under opts.Dir.
func TensorFromProto(tp *onnxpb.TensorProto, opts Options) (*nn.Tensor, error) {
	opts = opts.withDefaults()
	budget := opts.MaxFileBytes
	return tensorFromProto(tp, opts, &budget)
}

func tensorFromProto(tp *onnxpb.TensorProto, opts Options, budget *int64) (*nn.Tensor, error) {
	if tp == nil {
		return nil, fmt.Errorf("%w: missing tensor", nn.ErrMalformedModel)
	}
	dt := nn.DType(tp.GetDataType())
	if nn.MakeData(dt, 0) == nil {
		return nil, fmt.Errorf("%w: tensor %q has element type %d", nn.ErrUnsupportedOp, tp.GetName(), tp.GetDataType())
	}
	if tp.Segment != nil {
		return nil, fmt.Errorf("%w: segmented tensor %q", nn.ErrUnsupportedOp, tp.GetName())
	}
	shape := make([]int, len(tp.Dims))
	n := int64(1)
	for i, d := range tp.Dims {
		if d < 0 {
			return nil, fmt.Errorf("%w: tensor %q has negative dimension %d", nn.ErrMalformedModel, tp.GetName(), d)
		}
		if d > 0 && n > math.MaxInt64/d {
			return nil, fmt.Errorf("%w: tensor %q dimensions %v overflow", nn.ErrTooLarge, tp.GetName(), tp.Dims)
		}
		n *= d
		shape[i] = int(d)
	}
	size := int64(dt.Size())
	if dt == nn.String {
		size = 1
	}
	if n > opts.MaxTensorBytes/size {
		return nil, fmt.Errorf("%w: tensor %q of shape %v (%d elements) exceeds the %d byte limit", nn.ErrTooLarge, tp.GetName(), tp.Dims, n, opts.MaxTensorBytes)
	}
	count := int(n)
	t := &nn.Tensor{DType: dt, Shape: shape}
	mismatch := func(what string, have int) error {
		return fmt.Errorf("%w: tensor %q of shape %v needs %d elements, %s holds %d", nn.ErrMalformedModel, tp.GetName(), tp.Dims, count, what, have)
	}
	if tp.GetDataLocation() == onnxpb.TensorProto_EXTERNAL {
		raw, err := readExternal(tp, opts, int64(count)*size, budget)
		if err != nil {
			return nil, err
		}
		tp = &onnxpb.TensorProto{RawData: raw}
	}
	if tp.RawData != nil {
		if dt == nn.String {
			return nil, fmt.Errorf("%w: string tensor %q in raw_data", nn.ErrMalformedModel, tp.GetName())
		}
		if int64(len(tp.RawData)) != int64(count)*size {
			return nil, fmt.Errorf("%w: tensor %q of shape %v needs %d bytes, raw_data holds %d", nn.ErrMalformedModel, tp.GetName(), tp.Dims, int64(count)*size, len(tp.RawData))
		}
		t.Data = decodeRaw(dt, tp.RawData, count)
		return t, nil
	}
	switch dt {
	case nn.Float32:
		if len(tp.FloatData) != count {
			return nil, mismatch("float_data", len(tp.FloatData))
		}
		t.Data = append([]float32(nil), tp.FloatData...)
	case nn.Float64:
		if len(tp.DoubleData) != count {
			return nil, mismatch("double_data", len(tp.DoubleData))
		}
		t.Data = append([]float64(nil), tp.DoubleData...)
	case nn.Int64:
		if len(tp.Int64Data) != count {
			return nil, mismatch("int64_data", len(tp.Int64Data))
		}
		t.Data = append([]int64(nil), tp.Int64Data...)
	case nn.Uint32, nn.Uint64:
		if len(tp.Uint64Data) != count {
			return nil, mismatch("uint64_data", len(tp.Uint64Data))
		}
		if dt == nn.Uint64 {
			t.Data = append([]uint64(nil), tp.Uint64Data...)
		} else {
			s := make([]uint32, count)
			for i, v := range tp.Uint64Data {
				s[i] = uint32(v)
			}
			t.Data = s
		}
	case nn.String:
		if len(tp.StringData) != count {
			return nil, mismatch("string_data", len(tp.StringData))
		}
		s := make([]string, count)
		for i, v := range tp.StringData {
			s[i] = string(v)
		}
		t.Data = s
	default: // int32_data carries the narrow types
		if len(tp.Int32Data) != count {
			return nil, mismatch("int32_data", len(tp.Int32Data))
		}
		t.Data = fromInt32(dt, tp.Int32Data)
	}
	return t, nil
}

func fromInt32(dt nn.DType, src []int32) any {
	n := len(src)
	switch dt {
	case nn.Int32:
		return append([]int32(nil), src...)
	case nn.Int16:
		s := make([]int16, n)
		for i, v := range src {
			s[i] = int16(v)
		}
		return s
	case nn.Uint16:
		s := make([]uint16, n)
		for i, v := range src {
			s[i] = uint16(v)
		}
		return s
	case nn.Int8:
		s := make([]int8, n)
		for i, v := range src {
			s[i] = int8(v)
		}
		return s
	case nn.Uint8:
		s := make([]uint8, n)
		for i, v := range src {
			s[i] = uint8(v)
		}
		return s
	case nn.Bool:
		s := make([]bool, n)
		for i, v := range src {
			s[i] = v != 0
		}
		return s
	case nn.Float16:
		s := make([]nn.Half, n)
		for i, v := range src {
			s[i] = nn.Half(v)
		}
		return s
	case nn.BFloat16:
		s := make([]nn.BHalf, n)
		for i, v := range src {
			s[i] = nn.BHalf(v)
		}
		return s
	}
	return nil
}

// decodeRaw decodes little-endian raw bytes; len(raw) == n*dt.Size().
func decodeRaw(dt nn.DType, raw []byte, n int) any {
	le := binary.LittleEndian
	switch dt {
	case nn.Float32:
		s := make([]float32, n)
		for i := range s {
			s[i] = math.Float32frombits(le.Uint32(raw[4*i:]))
		}
		return s
	case nn.Float64:
		s := make([]float64, n)
		for i := range s {
			s[i] = math.Float64frombits(le.Uint64(raw[8*i:]))
		}
		return s
	case nn.Int64:
		s := make([]int64, n)
		for i := range s {
			s[i] = int64(le.Uint64(raw[8*i:]))
		}
		return s
	case nn.Uint64:
		s := make([]uint64, n)
		for i := range s {
			s[i] = le.Uint64(raw[8*i:])
		}
		return s
	case nn.Int32:
		s := make([]int32, n)
		for i := range s {
			s[i] = int32(le.Uint32(raw[4*i:]))
		}
		return s
	case nn.Uint32:
		s := make([]uint32, n)
		for i := range s {
			s[i] = le.Uint32(raw[4*i:])
		}
		return s
	case nn.Int16:
		s := make([]int16, n)
		for i := range s {
			s[i] = int16(le.Uint16(raw[2*i:]))
		}
		return s
	case nn.Uint16:
		s := make([]uint16, n)
		for i := range s {
			s[i] = le.Uint16(raw[2*i:])
		}
		return s
	case nn.Float16:
		s := make([]nn.Half, n)
		for i := range s {
			s[i] = nn.Half(le.Uint16(raw[2*i:]))
		}
		return s
	case nn.BFloat16:
		s := make([]nn.BHalf, n)
		for i := range s {
			s[i] = nn.BHalf(le.Uint16(raw[2*i:]))
		}
		return s
	case nn.Int8:
		s := make([]int8, n)
		for i := range s {
			s[i] = int8(raw[i])
		}
		return s
	case nn.Uint8:
		return append([]uint8(nil), raw[:n]...)
	case nn.Bool:
		s := make([]bool, n)
		for i := range s {
			s[i] = raw[i] != 0
		}
		return s
	}
	return nil
}

// readExternal reads want bytes of a tensor stored in an external file.
func readExternal(tp *onnxpb.TensorProto, opts Options, want int64, budget *int64) ([]byte, error) {
	if opts.Dir == "" {
		return nil, fmt.Errorf("%w: tensor %q uses external data but the model was not loaded from a file", nn.ErrMalformedModel, tp.GetName())
	}
	var loc string
	var offset int64
	length := int64(-1)
	for _, kv := range tp.ExternalData {
		switch kv.GetKey() {
		case "location":
			loc = kv.GetValue()
		case "offset", "length":
			v, err := strconv.ParseInt(kv.GetValue(), 10, 64)
			if err != nil || v < 0 {
				return nil, fmt.Errorf("%w: tensor %q external data %s=%q", nn.ErrMalformedModel, tp.GetName(), kv.GetKey(), kv.GetValue())
			}
			if kv.GetKey() == "offset" {
				offset = v
			} else {
				length = v
			}
		}
	}
	if loc == "" || filepath.IsAbs(loc) || strings.Contains(loc, "\x00") {
		return nil, fmt.Errorf("%w: tensor %q external data location %q", nn.ErrMalformedModel, tp.GetName(), loc)
	}
	clean := filepath.Clean(filepath.FromSlash(loc))
	if clean == ".." || strings.HasPrefix(clean, ".."+string(filepath.Separator)) {
		return nil, fmt.Errorf("%w: tensor %q external data location %q escapes the model directory", nn.ErrMalformedModel, tp.GetName(), loc)
	}
	if length >= 0 && length != want {
		return nil, fmt.Errorf("%w: tensor %q needs %d bytes, external data length is %d", nn.ErrMalformedModel, tp.GetName(), want, length)
	}
	if want > *budget {
		return nil, fmt.Errorf("%w: external data of tensor %q exceeds the loader's limit", nn.ErrTooLarge, tp.GetName())
	}
	f, err := os.Open(filepath.Join(opts.Dir, clean))
	if err != nil {
		return nil, fmt.Errorf("%w: tensor %q external data: %v", nn.ErrMalformedModel, tp.GetName(), err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if offset > st.Size() || st.Size()-offset < want {
		return nil, fmt.Errorf("%w: tensor %q needs %d bytes at offset %d of %s (%d bytes)", nn.ErrMalformedModel, tp.GetName(), want, offset, loc, st.Size())
	}
	*budget -= want
	buf := make([]byte, want)
	if _, err := f.ReadAt(buf, offset); err != nil {
		return nil, fmt.Errorf("%w: tensor %q external data: %v", nn.ErrMalformedModel, tp.GetName(), err)
	}
	return buf, nil
}
