package batchscoring

import (
	"context"
	"fmt"
	"runtime"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/sluice-ml/sluice/engine/dataflow"
	"github.com/sluice-ml/sluice/engine/dataflow/registry"
	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/graph"
	"github.com/sluice-ml/sluice/ops/decode"
	"github.com/sluice-ml/sluice/ops/images"
	"github.com/sluice-ml/sluice/ops/infer"
	"github.com/sluice-ml/sluice/ops/preprocess"
	"github.com/sluice-ml/sluice/ops/topk"
)

// The image operators of `dataflow` jobs, after the generic `read`:
//
//	operators:
//	  - {op: read}
//	  - {op: decode, preprocess: torchvision}             # bytes → tensor; max_pixels
//	  - {op: infer, model: weights, batch: 8}             # tensor → logits; threads
//	  - {op: topk, labels: classes, k: 5}                 # logits → label, score, topk_*; softmax
//
// `model` and `labels` name inputs of the job (uri_file), so that the files' content is part of
// the step's cache key; `input_data` then names the input holding the images.
func init() {
	registry.Register("decode", newDecodeOp)
	registry.Register("infer", newInferOp)
	registry.Register("topk", newTopKOp)
}

func needColumn(o *registry.Options, in *arrow.Schema, name, before string) error {
	if len(in.FieldIndices(name)) == 0 {
		return o.Errorf("", "needs a %q column (put a %s operator before it)", name, before)
	}
	return nil
}

func newDecodeOp(env *registry.Env, in *arrow.Schema, o *registry.Options) (dataflow.Stage, *arrow.Schema, error) {
	prep := o.String("preprocess", "torchvision")
	maxPixels := o.Int("max_pixels", 0)
	if err := o.Err(); err != nil {
		return dataflow.Stage{}, nil, err
	}
	if err := needColumn(o, in, images.BytesColumn, "read"); err != nil {
		return dataflow.Stage{}, nil, err
	}
	spec, err := preprocess.Parse(prep)
	if err != nil {
		return dataflow.Stage{}, nil, o.Errorf("preprocess", "%v", err)
	}
	d, err := images.NewDecode(spec, decode.Limits{MaxPixels: int64(maxPixels)})
	if err != nil {
		return dataflow.Stage{}, nil, o.Errorf("preprocess", "%v", err)
	}
	return dataflow.Stage{Name: "decode", Op: d, Workers: runtime.GOMAXPROCS(0), Ordered: true}, d.OutSchema(in), nil
}

func newInferOp(env *registry.Env, in *arrow.Schema, o *registry.Options) (dataflow.Stage, *arrow.Schema, error) {
	path := o.Input("model")
	batch := o.Int("batch", 8)
	threads := o.Int("threads", 0)
	if err := o.Err(); err != nil {
		return dataflow.Stage{}, nil, err
	}
	idx := in.FieldIndices(images.TensorColumn)
	if len(idx) == 0 {
		return dataflow.Stage{}, nil, o.Errorf("", "needs a %q column (put a decode operator before it)", images.TensorColumn)
	}
	lt, ok := in.Field(idx[0]).Type.(*arrow.FixedSizeListType)
	if !ok {
		return dataflow.Stage{}, nil, o.Errorf("", "column %q is %s, want a tensor", images.TensorColumn, in.Field(idx[0]).Type)
	}
	// One item is the model's input without its batch dimension; it must hold as many values
	// as a row of the tensor column.
	m, err := loadModel(context.Background(), path, threads, func(v graph.ValueInfo) ([]int, error) {
		if len(v.Shape) < 2 || slices.ContainsFunc(v.Shape[1:], func(d int) bool { return d <= 0 }) {
			return nil, fmt.Errorf("input %q of shape %s: the item dimensions must be fixed", v.Name, dims(v))
		}
		if nn.NumElements(v.Shape[1:]) != int(lt.Len()) {
			return nil, fmt.Errorf("input %q of shape %s does not take the %d values per row of %q", v.Name, dims(v), lt.Len(), images.TensorColumn)
		}
		return v.Shape[1:], nil
	})
	if err != nil {
		return dataflow.Stage{}, nil, o.Errorf("model", "%v", err)
	}
	op := &infer.Op{Session: m.sess, Input: m.input, Output: m.output, ItemShape: m.itemShape, OutElems: m.classes, Batch: batch}
	return dataflow.Stage{Name: "infer", Op: closingOp{op, m}, Workers: 1}, op.OutSchema(in), nil
}

// closingOp closes the model's session with the operator.
type closingOp struct {
	*infer.Op
	m *model
}

func (c closingOp) Close(ctx context.Context) error { return c.m.sess.Close() }

func newTopKOp(env *registry.Env, in *arrow.Schema, o *registry.Options) (dataflow.Stage, *arrow.Schema, error) {
	labels := ""
	if o.Has("labels") {
		labels = o.Input("labels")
	}
	k := o.Int("k", 5)
	softmax := o.String("softmax", topk.SoftmaxAuto)
	if err := o.Err(); err != nil {
		return dataflow.Stage{}, nil, err
	}
	if err := needColumn(o, in, "logits", "infer"); err != nil {
		return dataflow.Stage{}, nil, err
	}
	op := &topk.Op{K: k, Softmax: softmax}
	if labels != "" {
		var err error
		if op.Labels, err = topk.ReadLabels(labels); err != nil {
			return dataflow.Stage{}, nil, o.Errorf("labels", "%v", err)
		}
	}
	return dataflow.Stage{Name: "topk", Op: op, Workers: 1}, op.OutSchema(in), nil
}
