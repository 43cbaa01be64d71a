package topk

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/sluice-ml/sluice/engine/dataflow"
	"github.com/sluice-ml/sluice/ops/tensorcol"
)

// Output column names.
const (
	LabelColumn      = "label"
	ScoreColumn      = "score"
	TopLabelsColumn  = "topk_labels"
	TopScoresColumn  = "topk_scores"
	defaultInputName = "logits"
)

// ErrLabels is returned (wrapped) for a label file that does not fit the model.
var ErrLabels = errors.New("bad labels")

// Softmax modes.
const (
	SoftmaxAuto = "auto" // apply unless a row is already a probability distribution
	SoftmaxOn   = "on"
	SoftmaxOff  = "off"
)

// Op is the top-k operator.
type Op struct {
	// Labels names the classes in output order; nil names them by index ("0", "1", ...).
	Labels []string
	// K is how many classes to keep (default 5, at most the number of classes).
	K int
	// Softmax is SoftmaxAuto (default), SoftmaxOn or SoftmaxOff.
	Softmax string
	// In is the scores column (default "logits"); it is dropped from the output.
	In string
}

// Fields are the columns Op adds.
func Fields() []arrow.Field {
	return []arrow.Field{
		{Name: LabelColumn, Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: ScoreColumn, Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: TopLabelsColumn, Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
		{Name: TopScoresColumn, Type: arrow.ListOf(arrow.PrimitiveTypes.Float32), Nullable: true},
	}
}

// ReadLabels reads a label file: one label per line, blank lines at the end ignored. A line may
// be "index label" or "index: label" (as ImageNet's class lists come); the index then must count
// from 0 in order.
func ReadLabels(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var labels []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		labels = append(labels, strings.TrimSpace(sc.Text()))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for len(labels) > 0 && labels[len(labels)-1] == "" {
		labels = labels[:len(labels)-1]
	}
	if len(labels) == 0 {
		return nil, fmt.Errorf("%w: %s has no labels", ErrLabels, path)
	}
	indexed := true
	for i, l := range labels {
		head, _, ok := strings.Cut(l, " ")
		if !ok || strings.TrimSuffix(head, ":") != strconv.Itoa(i) {
			indexed = false
			break
		}
	}
	for i, l := range labels {
		if indexed {
			_, rest, _ := strings.Cut(l, " ")
			labels[i] = strings.TrimSpace(rest)
		}
		if labels[i] == "" {
			return nil, fmt.Errorf("%w: %s:%d: empty label", ErrLabels, path, i+1)
		}
	}
	return labels, nil
}

// Check reports whether the operator fits a model with classes outputs.
func (o *Op) Check(classes int) error {
	if o.Labels != nil && len(o.Labels) != classes {
		return fmt.Errorf("%w: %d labels for a model with %d outputs", ErrLabels, len(o.Labels), classes)
	}
	switch o.Softmax {
	case "", SoftmaxAuto, SoftmaxOn, SoftmaxOff:
	default:
		return fmt.Errorf("topk: softmax %q: want auto, on or off", o.Softmax)
	}
	return nil
}

func (o *Op) label(i int) string {
	if o.Labels == nil {
		return strconv.Itoa(i)
	}
	return o.Labels[i]
}

// Process implements dataflow.Operator.
func (o *Op) Process(ctx context.Context, in arrow.RecordBatch) ([]arrow.RecordBatch, error) {
	defer in.Release()
	name := o.In
	if name == "" {
		name = defaultInputName
	}
	idx := in.Schema().FieldIndices(name)
	if len(idx) == 0 {
		return nil, fmt.Errorf("%w: topk: batch has no %q column", dataflow.ErrBadPlan, name)
	}
	col := in.Column(idx[0])
	vals, n, err := tensorcol.Values(col)
	if err != nil {
		return nil, fmt.Errorf("topk: column %q: %w", name, err)
	}
	if err := o.Check(n); err != nil {
		return nil, err
	}
	k := o.K
	if k <= 0 {
		k = 5
	}
	k = min(k, n)
	mem := dataflow.Allocator(ctx)
	lb := array.NewStringBuilder(mem)
	sb := array.NewFloat32Builder(mem)
	tlb := array.NewListBuilder(mem, arrow.BinaryTypes.String)
	tsb := array.NewListBuilder(mem, arrow.PrimitiveTypes.Float32)
	defer lb.Release()
	defer sb.Release()
	defer tlb.Release()
	defer tsb.Release()
	tlv := tlb.ValueBuilder().(*array.StringBuilder)
	tsv := tsb.ValueBuilder().(*array.Float32Builder)
	probs := make([]float32, n)
	order := make([]int, n)
	for r := 0; r < int(in.NumRows()); r++ {
		if !col.IsValid(r) || dataflow.RowFailed(in, r) {
			lb.AppendNull()
			sb.AppendNull()
			tlb.AppendNull()
			tsb.AppendNull()
			continue
		}
		row := vals[r*n : (r+1)*n]
		if !finite(row) {
			// A model that outputs NaN or Inf for an item has not scored it.
			return nil, fmt.Errorf("topk: the model's output for %q is not finite", dataflow.Paths(in).Value(r))
		}
		o.probabilities(row, probs)
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool { return probs[order[a]] > probs[order[b]] })
		lb.Append(o.label(order[0]))
		sb.Append(probs[order[0]])
		tlb.Append(true)
		tsb.Append(true)
		for _, c := range order[:k] {
			tlv.Append(o.label(c))
			tsv.Append(probs[c])
		}
	}
	cols := []arrow.Array{lb.NewArray(), sb.NewArray(), tlb.NewArray(), tsb.NewArray()}
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	var fields []arrow.Field
	var arrs []arrow.Array
	add := Fields()
	for i, f := range in.Schema().Fields() {
		if f.Name == name || f.Name == LabelColumn || f.Name == ScoreColumn || f.Name == TopLabelsColumn || f.Name == TopScoresColumn {
			continue
		}
		if f.Name == dataflow.ErrorColumn { // the new columns go before `error`, as DESIGN §6 lists them
			fields = append(fields, add...)
			arrs = append(arrs, cols...)
			add = nil
		}
		fields = append(fields, f)
		arrs = append(arrs, in.Column(i))
	}
	fields = append(fields, add...)
	if add != nil {
		arrs = append(arrs, cols...)
	}
	return []arrow.RecordBatch{array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, in.NumRows())}, nil
}

func finite(v []float32) bool {
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return false
		}
	}
	return true
}

// probabilities writes the class probabilities of scores into p.
func (o *Op) probabilities(scores, p []float32) {
	mode := o.Softmax
	if mode == "" {
		mode = SoftmaxAuto
	}
	if mode == SoftmaxOff || mode == SoftmaxAuto && isDistribution(scores) {
		copy(p, scores)
		return
	}
	mx := scores[0]
	for _, v := range scores {
		mx = max(mx, v)
	}
	var sum float64
	for i, v := range scores {
		e := math.Exp(float64(v - mx))
		p[i] = float32(e)
		sum += e
	}
	for i := range p {
		p[i] = float32(float64(p[i]) / sum)
	}
}

func isDistribution(v []float32) bool {
	var sum float64
	for _, x := range v {
		if x < 0 || x > 1 {
			return false
		}
		sum += float64(x)
	}
	return math.Abs(sum-1) < 1e-3
}

// Close implements dataflow.Operator.
func (o *Op) Close(context.Context) error { return nil }

// OutSchema is the schema of the batches Process returns for input batches of schema in: the
// scores column replaced by the label columns, placed before `error`.
func (o *Op) OutSchema(in *arrow.Schema) *arrow.Schema {
	name := o.In
	if name == "" {
		name = defaultInputName
	}
	var fields []arrow.Field
	add := Fields()
	for _, f := range in.Fields() {
		switch f.Name {
		case name, LabelColumn, ScoreColumn, TopLabelsColumn, TopScoresColumn:
			continue
		case dataflow.ErrorColumn:
			fields = append(fields, add...)
			add = nil
		}
		fields = append(fields, f)
	}
	return arrow.NewSchema(append(fields, add...), nil)
}
