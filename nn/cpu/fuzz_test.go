package cpu

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/onnx"
)

// FuzzRun loads arbitrary model bytes and, when they compile, runs them on
// zero inputs of the declared shapes (unknown dimensions 1): Run must
// return outputs or an error, never crash, hang or allocate past the
// session's MaxTensorElements. Seeds are the node-test models when
// libonnx-testdata is installed.
//
//	go test ./nn/cpu -run '^$' -fuzz FuzzRun -fuzztime 5m
func FuzzRun(f *testing.F) {
	for _, dir := range []string{"test_conv_with_strides_padding", "test_resize_upsample_scales_linear", "test_slice_neg_steps",
		"test_pad", "test_reshape_negative_dim", "test_maxpool_2d_ceil", "test_gemm_all_attributes", "test_expand_dim_changed"} {
		if b, err := os.ReadFile(filepath.Join(testDataDir, "node", dir, "model.onnx")); err == nil {
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
		feeds := map[string]*nn.Tensor{}
		for _, in := range s.Inputs() {
			shape := make([]int, len(in.Shape))
			for i, d := range in.Shape {
				shape[i] = max(d, 1)
			}
			if nn.NumElements(shape) > 1<<16 || nn.MakeData(in.DType, 0) == nil {
				return
			}
			feeds[in.Name] = nn.NewTensor(in.DType, shape...)
		}
		out, err := s.Run(ctx, feeds)
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
