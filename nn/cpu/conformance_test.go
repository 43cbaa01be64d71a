package cpu

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/sluice-ml/sluice/internal/testenv"
	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/graph"
	"github.com/sluice-ml/sluice/nn/onnx"
)

// testDataDir is where Debian's libonnx-testdata installs the ONNX backend
// tests (apt-get install libonnx-testdata): "node" holds the operator
// tests; "pytorch-converted", "pytorch-operator" and "simple" hold small
// PyTorch-exported modules in the same layout (model.onnx plus
// test_data_set_*/input_*.pb, output_*.pb), run too where every operator
// is supported.
const testDataDir = "/usr/share/libonnx-testdata/data"

// nodeTestExceptions are node tests of supported operators that are not
// expected to pass, with the reason. Every other test whose operators are
// all implemented must pass.
var nodeTestExceptions = map[string]string{
	"test_castlike_BFLOAT16_to_FLOAT_expanded": "the test data feeds input \"like\" as shape [1] where the model declares [3,4]; the engine rejects inputs that contradict the declared shape",
	"test_castlike_FLOAT_to_BFLOAT16_expanded": "the test data feeds input \"like\" as shape [1] where the model declares [3,4]; the engine rejects inputs that contradict the declared shape",
}

type nodeTest struct {
	name string
	ops  []string
}

func TestONNXNodeConformance(t *testing.T) {
	for _, suite := range []string{"node", "pytorch-converted", "pytorch-operator", "simple"} {
		t.Run(suite, func(t *testing.T) { runSuite(t, filepath.Join(testDataDir, suite)) })
	}
}

func runSuite(t *testing.T, suiteDir string) {
	entries, err := os.ReadDir(suiteDir)
	if err != nil {
		testenv.Missing(t, "ONNX backend tests not installed (%v): apt-get install libonnx-testdata", err)
	}
	type tally struct{ pass, total int }
	perOp := map[string]*tally{}
	for _, e := range entries {
		dir := filepath.Join(suiteDir, e.Name())
		g, err := onnx.Load(context.Background(), filepath.Join(dir, "model.onnx"), onnx.Options{})
		if err != nil {
			continue // other opsets/domains: not ours
		}
		supported := len(g.Nodes) > 0
		opName := ""
		for _, n := range g.Nodes {
			if _, ok := registry[n.Op]; !ok || n.Domain != "" {
				supported = false
			}
			opName = n.Op
		}
		if !supported {
			continue
		}
		if len(g.Nodes) > 1 {
			opName = mainOp(g)
		}
		tl := perOp[opName]
		if tl == nil {
			tl = &tally{}
			perOp[opName] = tl
		}
		name := e.Name()
		reason, excepted := nodeTestExceptions[name]
		tl.total++
		t.Run(name, func(t *testing.T) {
			err := runNodeTest(dir, g)
			switch {
			case err == nil && excepted:
				tl.pass++
				t.Logf("passes although listed as an exception (%s)", reason)
			case err == nil:
				tl.pass++
			case excepted:
				t.Skipf("exception: %s (%v)", reason, err)
			default:
				t.Error(err)
			}
		})
	}
	ops := make([]string, 0, len(perOp))
	for op := range perOp {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	var b strings.Builder
	pass, total := 0, 0
	for _, op := range ops {
		fmt.Fprintf(&b, "  %-22s %3d/%d\n", op, perOp[op].pass, perOp[op].total)
		pass += perOp[op].pass
		total += perOp[op].total
	}
	t.Logf("%s: tests passed per op (%d/%d):\n%s", filepath.Base(suiteDir), pass, total, b.String())
}

// mainOp names a multi-node test by its most specific operator.
func mainOp(g *graph.Graph) string {
	for i := len(g.Nodes) - 1; i >= 0; i-- {
		switch g.Nodes[i].Op {
		case "Constant", "Identity", "Cast":
		default:
			return g.Nodes[i].Op
		}
	}
	return g.Nodes[len(g.Nodes)-1].Op
}

// readValuePB reads a test data file: a TensorProto, or a SequenceProto or
// OptionalProto where the model declares that kind of value.
func readValuePB(path string, kind nn.Kind) (*nn.Value, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return onnx.DecodeValue(data, kind, onnx.Options{})
}

func runNodeTest(dir string, g *graph.Graph) error {
	inputs := append([]graph.ValueInfo(nil), g.Inputs...)
	outputs := append([]graph.ValueInfo(nil), g.Outputs...)
	// Shape inference on the unoptimized graph, checked against the run.
	inferIn := map[string][]int{}
	ginfer := *g // NewSession optimizes g in place: keep a deep copy of the nodes
	ginfer.Nodes = nil
	for _, n := range g.Nodes {
		c := *n
		c.Inputs = append([]string(nil), n.Inputs...)
		c.Outputs = append([]string(nil), n.Outputs...)
		ginfer.Nodes = append(ginfer.Nodes, &c)
	}
	ginfer.Initializers = map[string]*nn.Tensor{}
	for k, v := range g.Initializers {
		ginfer.Initializers[k] = v
	}
	sess, err := NewSession(context.Background(), g, Options{Threads: 2})
	if err != nil {
		return err
	}
	defer sess.Close()
	sets, _ := filepath.Glob(filepath.Join(dir, "test_data_set_*"))
	if len(sets) == 0 {
		return fmt.Errorf("no test data sets")
	}
	for _, set := range sets {
		feeds := map[string]*nn.Value{}
		for i, in := range inputs {
			p := filepath.Join(set, fmt.Sprintf("input_%d.pb", i))
			if _, err := os.Stat(p); err != nil {
				continue // optional input left out
			}
			v, err := readValuePB(p, in.Kind)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			if v.Kind == nn.KindTensor {
				v.Tensor = fixBF16(v.Tensor, in.DType)
			}
			feeds[in.Name] = v
		}
		got, err := sess.RunValues(context.Background(), feeds)
		if err != nil {
			return err
		}
		gotTensors := map[string]*nn.Tensor{}
		for name, v := range got {
			if v.Kind == nn.KindTensor {
				gotTensors[name] = v.Tensor
			}
		}
		for name, v := range feeds {
			if v.Kind == nn.KindTensor {
				inferIn[name] = v.Tensor.Shape
			}
		}
		if err := checkInferred(&ginfer, inferIn, gotTensors); err != nil {
			return err
		}
		for i, out := range outputs {
			want, err := readValuePB(filepath.Join(set, fmt.Sprintf("output_%d.pb", i)), out.Kind)
			if err != nil {
				return err
			}
			if want.Kind == nn.KindTensor {
				want.Tensor = fixBF16(want.Tensor, out.DType)
			}
			if err := compareValues(got[out.Name], want, 1e-3, 1e-5); err != nil {
				return fmt.Errorf("%s output %q: %w", filepath.Base(set), out.Name, err)
			}
		}
	}
	return nil
}

// compareValues compares tensors as compareTensors does, sequences
// element by element, optionals by presence and content.
func compareValues(got, want *nn.Value, rtol, atol float64) error {
	if got == nil {
		return fmt.Errorf("missing")
	}
	if got.Kind != want.Kind {
		return fmt.Errorf("got a %v, want a %v", got, want)
	}
	switch want.Kind {
	case nn.KindTensor:
		return compareTensors(got.Tensor, want.Tensor, rtol, atol)
	case nn.KindSequence:
		if len(got.Seq) != len(want.Seq) {
			return fmt.Errorf("got a %v, want a %v", got, want)
		}
		for i := range want.Seq {
			if err := compareTensors(got.Seq[i], want.Seq[i], rtol, atol); err != nil {
				return fmt.Errorf("sequence element %d: %w", i, err)
			}
		}
		return nil
	}
	if (got.Elem == nil) != (want.Elem == nil) {
		return fmt.Errorf("got %v, want %v", got, want)
	}
	if want.Elem == nil {
		return nil
	}
	return compareValues(got.Elem, want.Elem, rtol, atol)
}

func compareTensors(got, want *nn.Tensor, rtol, atol float64) error {
	if got == nil {
		return fmt.Errorf("missing")
	}
	if got.DType != want.DType {
		return fmt.Errorf("dtype %v, want %v", got.DType, want.DType)
	}
	if fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) {
		return fmt.Errorf("shape %v, want %v", got.Shape, want.Shape)
	}
	switch want.DType {
	case nn.Float32, nn.Float64, nn.Float16, nn.BFloat16:
		g, w := toFloat64(got.Data), toFloat64(want.Data)
		for i := range w {
			if math.IsNaN(w[i]) && math.IsNaN(g[i]) {
				continue
			}
			if math.IsInf(w[i], 0) && g[i] == w[i] {
				continue
			}
			if d := math.Abs(g[i] - w[i]); !(d <= atol+rtol*math.Abs(w[i])) {
				return fmt.Errorf("element %d = %v, want %v", i, g[i], w[i])
			}
		}
	default:
		if fmt.Sprint(got.Data) != fmt.Sprint(want.Data) {
			return fmt.Errorf("data %v, want %v", trunc(got.Data), trunc(want.Data))
		}
	}
	return nil
}

func trunc(v any) string {
	s := fmt.Sprint(v)
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// fixBF16 reinterprets a UINT16 tensor as BFLOAT16 where the model declares
// bfloat16: the ONNX 1.12 test data stores bfloat16 tensors with data type
// UINT16.
func fixBF16(t *nn.Tensor, want nn.DType) *nn.Tensor {
	if want != nn.BFloat16 || t.DType != nn.Uint16 {
		return t
	}
	src := t.Data.([]uint16)
	d := make([]nn.BHalf, len(src))
	for i, v := range src {
		d[i] = nn.BHalf(v)
	}
	return &nn.Tensor{DType: nn.BFloat16, Shape: t.Shape, Data: d}
}

// checkInferred runs graph.InferShapes with the fed shapes and checks every
// dimension it claims to know against the computed outputs.
func checkInferred(g *graph.Graph, inputs map[string][]int, got map[string]*nn.Tensor) error {
	vals, err := graph.InferShapes(g, inputs)
	if err != nil {
		return fmt.Errorf("InferShapes: %w", err)
	}
	for name, t := range got {
		vi, ok := vals[name]
		if !ok || vi.Shape == nil {
			continue
		}
		if len(vi.Shape) != len(t.Shape) {
			return fmt.Errorf("InferShapes: output %q of rank %d, computed %v", name, len(vi.Shape), t.Shape)
		}
		for i, d := range vi.Shape {
			if d >= 0 && d != t.Shape[i] {
				return fmt.Errorf("InferShapes: output %q shape %v, computed %v", name, vi.Shape, t.Shape)
			}
		}
	}
	return nil
}
