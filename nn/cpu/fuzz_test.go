package cpu

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/graph"
	"github.com/sluice-ml/sluice/nn/onnx"
)

// FuzzRun loads arbitrary model bytes and, when they compile, runs them on
// zero inputs of the declared shapes (unknown dimensions 1; sequences of
// two such tensors, optionals holding one): RunValues must
// return outputs or an error, never crash, hang or allocate past the
// session's MaxTensorElements. Seeds are the node-test models when
// libonnx-testdata is installed (sequence models among them).
//
//	go test ./nn/cpu -run '^$' -fuzz FuzzRun -fuzztime 5m
func FuzzRun(f *testing.F) {
	for _, dir := range []string{"test_conv_with_strides_padding", "test_resize_upsample_scales_linear", "test_slice_neg_steps",
		"test_pad", "test_reshape_negative_dim", "test_maxpool_2d_ceil", "test_gemm_all_attributes", "test_expand_dim_changed",
		"test_identity_opt", "test_identity_sequence", "test_optional_get_element_sequence", "test_optional_has_element_empty",
		"test_sequence_insert_at_front"} {
		if b, err := os.ReadFile(filepath.Join(testDataDir, "node", dir, "model.onnx")); err == nil {
			f.Add(b)
		}
	}
	for _, dir := range []string{"test_sequence_model1", "test_sequence_model3", "test_sequence_model5", "test_sequence_model6"} {
		if b, err := os.ReadFile(filepath.Join(testDataDir, "simple", dir, "model.onnx")); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ctx := context.Background()
		g, err := onnx.Decode(ctx, data, onnx.Options{MaxTensorBytes: 1 << 20})
		if err != nil {
			return
		}
		s, err := NewSession(ctx, g, Options{Threads: 2, MaxTensorElements: 1 << 16})
		if err != nil {
			return
		}
		defer s.Close()
		// Tensors as zeros; a sequence as two zero tensors of its element
		// type; an optional holding one (when its element is known).
		zeros := func(in graph.ValueInfo) *nn.Tensor {
			shape := make([]int, len(in.Shape))
			for i, d := range in.Shape {
				shape[i] = max(d, 1)
			}
			if nn.NumElements(shape) > 1<<16 || nn.MakeData(in.DType, 0) == nil {
				return nil
			}
			return nn.NewTensor(in.DType, shape...)
		}
		var value func(in graph.ValueInfo) *nn.Value
		value = func(in graph.ValueInfo) *nn.Value {
			switch {
			case in.Kind == nn.KindTensor:
				if t := zeros(in); t != nil {
					return nn.TensorValue(t)
				}
			case in.Elem == nil:
				if in.Kind == nn.KindOptional {
					return nn.OptionalValue(nil)
				}
				return nn.SequenceValue(nn.Float32)
			case in.Kind == nn.KindSequence && in.Elem.Kind == nn.KindTensor:
				if t := zeros(*in.Elem); t != nil {
					return nn.SequenceValue(t.DType, t, t.Clone())
				}
			case in.Kind == nn.KindOptional:
				if v := value(*in.Elem); v != nil {
					return nn.OptionalValue(v)
				}
			}
			return nil
		}
		feeds := map[string]*nn.Value{}
		for _, in := range s.Inputs() {
			v := value(in)
			if v == nil {
				return
			}
			feeds[in.Name] = v
		}
		out, err := s.RunValues(ctx, feeds)
		if err != nil {
			return
		}
		for name, v := range out {
			if err := v.Validate(); err != nil {
				t.Fatalf("output %q: %v", name, err)
			}
		}
	})
}
