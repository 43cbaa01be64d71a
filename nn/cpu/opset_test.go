package cpu

import (
	"context"
	"fmt"
	"testing"

	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/graph"
)

func ints64(v ...int64) *graph.Attr    { return &graph.Attr{Type: graph.AttrInts, Ints: v} }
func floatsA(v ...float32) *graph.Attr { return &graph.Attr{Type: graph.AttrFloats, Floats: v} }
func floatA(v float32) *graph.Attr     { return &graph.Attr{Type: graph.AttrFloat, F: v} }
func strA(s string) *graph.Attr        { return &graph.Attr{Type: graph.AttrString, S: s} }

// TestOpsetVariants runs the same computation in the attribute form of old
// opsets and the input form of new ones (the differences ONNX made across
// opsets 7–17), checking both give the expected values.
func TestOpsetVariants(t *testing.T) {
	x4 := nn.FromFloat32([]float32{-2, -1, 0, 1, 2, 3}, 1, 1, 2, 3)
	type variant struct {
		opset  int
		attrs  map[string]*graph.Attr
		consts []*nn.Tensor // extra inputs after x ("" when nil)
	}
	tests := []struct {
		op       string
		variants []variant
		want     string // fmt of output shape and data
	}{
		{"Clip", []variant{
			{6, map[string]*graph.Attr{"min": floatA(-1), "max": floatA(1.5)}, nil},
			{11, nil, []*nn.Tensor{nn.FromFloat32([]float32{-1}), nn.FromFloat32([]float32{1.5})}},
			{13, nil, []*nn.Tensor{nn.FromFloat32([]float32{-1}), nn.FromFloat32([]float32{1.5})}},
		}, "[1 1 2 3] [-1 -1 0 1 1.5 1.5]"},
		{"Squeeze", []variant{
			{11, map[string]*graph.Attr{"axes": ints64(0, 1)}, nil},
			{13, nil, []*nn.Tensor{nn.FromInt64([]int64{0, 1}, 2)}},
		}, "[2 3] [-2 -1 0 1 2 3]"},
		{"Unsqueeze", []variant{
			{11, map[string]*graph.Attr{"axes": ints64(-1)}, nil},
			{13, nil, []*nn.Tensor{nn.FromInt64([]int64{-1}, 1)}},
		}, "[1 1 2 3 1] [-2 -1 0 1 2 3]"},
		{"Pad", []variant{
			{2, map[string]*graph.Attr{"pads": ints64(0, 0, 0, 1, 0, 0, 0, 0), "mode": strA("edge")}, nil},
			{11, map[string]*graph.Attr{"mode": strA("edge")}, []*nn.Tensor{nn.FromInt64([]int64{0, 0, 0, 1, 0, 0, 0, 0}, 8)}},
		}, "[1 1 2 4] [-2 -2 -1 0 1 1 2 3]"},
		{"Slice", []variant{
			{9, map[string]*graph.Attr{"starts": ints64(1), "ends": ints64(100), "axes": ints64(3)}, nil},
			{10, nil, []*nn.Tensor{nn.FromInt64([]int64{1}, 1), nn.FromInt64([]int64{100}, 1), nn.FromInt64([]int64{3}, 1)}},
			{13, nil, []*nn.Tensor{nn.FromInt64([]int64{-2}, 1), nn.FromInt64([]int64{100}, 1), nn.FromInt64([]int64{-1}, 1), nn.FromInt64([]int64{1}, 1)}},
		}, "[1 1 2 2] [-1 0 2 3]"},
		{"Upsample", []variant{
			{7, map[string]*graph.Attr{"scales": floatsA(1, 1, 1, 2)}, nil},
			{9, nil, []*nn.Tensor{nn.FromFloat32([]float32{1, 1, 1, 2}, 4)}},
		}, "[1 1 2 6] [-2 -2 -1 -1 0 0 1 1 2 2 3 3]"},
		{"Resize", []variant{
			{10, nil, []*nn.Tensor{nn.FromFloat32([]float32{1, 1, 1, 2}, 4)}},
			{11, map[string]*graph.Attr{"coordinate_transformation_mode": strA("asymmetric"), "nearest_mode": strA("floor")},
				[]*nn.Tensor{nn.FromFloat32(nil, 0), nn.FromFloat32([]float32{1, 1, 1, 2}, 4)}},
			{13, map[string]*graph.Attr{"coordinate_transformation_mode": strA("asymmetric"), "nearest_mode": strA("floor")},
				[]*nn.Tensor{nil, nil, nn.FromInt64([]int64{1, 1, 2, 6}, 4)}},
		}, "[1 1 2 6] [-2 -2 -1 -1 0 0 1 1 2 2 3 3]"},
		{"ReduceMean", []variant{
			{11, map[string]*graph.Attr{"axes": ints64(-1), "keepdims": {Type: graph.AttrInt, I: 0}}, nil},
			{13, map[string]*graph.Attr{"axes": ints64(3), "keepdims": {Type: graph.AttrInt, I: 0}}, nil},
		}, "[1 1 2] [-1 2]"},
	}
	for _, tc := range tests {
		for _, v := range tc.variants {
			t.Run(fmt.Sprintf("%s/opset%d", tc.op, v.opset), func(t *testing.T) {
				g := &graph.Graph{
					Opset:        v.opset,
					Inputs:       []graph.ValueInfo{{Name: "x", DType: nn.Float32}},
					Outputs:      []graph.ValueInfo{{Name: "y"}},
					Initializers: map[string]*nn.Tensor{},
				}
				n := &graph.Node{Name: "n", Op: tc.op, Inputs: []string{"x"}, Outputs: []string{"y"}, Attrs: v.attrs}
				for i, c := range v.consts {
					if c == nil {
						n.Inputs = append(n.Inputs, "")
						continue
					}
					name := fmt.Sprintf("c%d", i)
					g.Initializers[name] = c
					n.Inputs = append(n.Inputs, name)
				}
				g.Nodes = []*graph.Node{n}
				s, err := NewSession(context.Background(), g, Options{Threads: 1})
				if err != nil {
					t.Fatal(err)
				}
				out, err := s.Run(context.Background(), map[string]*nn.Tensor{"x": x4})
				if err != nil {
					t.Fatal(err)
				}
				if got := fmt.Sprint(out["y"].Shape, out["y"].Data); got != tc.want {
					t.Fatalf("got %s, want %s", got, tc.want)
				}
			})
		}
	}
}
