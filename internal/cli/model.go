package cli

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/sluice-ml/sluice/nn"
	"github.com/sluice-ml/sluice/nn/graph"
	"github.com/sluice-ml/sluice/nn/onnx"
)

// modelInfo is what `sluice model inspect` reports (its --json form).
type modelInfo struct {
	Model      string       `json:"model"`
	Opset      int          `json:"opset"`
	Nodes      int          `json:"nodes"`
	Ops        []opCount    `json:"ops"` // most frequent first
	Inputs     []tensorInfo `json:"inputs"`
	Outputs    []tensorInfo `json:"outputs"`
	Parameters int64        `json:"parameters"` // elements of all initializers
	// FLOPsPerItem is one item's FLOPs (batch dimension 1; 2 per
	// multiply-add, graph.FLOPs), null when dynamic dimensions other than
	// the batch leave some node's shape unknown (see --dim).
	FLOPsPerItem *float64 `json:"flops_per_item"`
	FLOPsNodes   int      `json:"flops_counted_nodes"`
}

type opCount struct {
	Op    string `json:"op"`
	Count int    `json:"count"`
}

type tensorInfo struct {
	Name  string `json:"name"`
	DType string `json:"dtype"`
	// Shape holds -1 for a dynamic dimension, whose symbolic name (if
	// any) is in Dims.
	Shape []int    `json:"shape"`
	Dims  []string `json:"dims"`
}

func (t tensorInfo) String() string {
	parts := make([]string, len(t.Shape))
	for i, d := range t.Shape {
		switch {
		case d >= 0:
			parts[i] = strconv.Itoa(d)
		case i < len(t.Dims) && t.Dims[i] != "":
			parts[i] = t.Dims[i]
		default:
			parts[i] = "?"
		}
	}
	return fmt.Sprintf("%s[%s]", t.DType, strings.Join(parts, ","))
}

func newModelCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "model",
		Short: "Inspect ONNX models",
		Args:  argsRange(0, 0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usagef("model needs a subcommand: inspect (see --help)")
		},
	}
	var asJSON bool
	var dims []string
	inspect := &cobra.Command{
		Use:   "inspect M.onnx",
		Short: "Show a model's operators, inputs and outputs, parameter count and FLOPs per item",
		Long: `Shows an ONNX model as stored in the file (before Sluice's load-time rewrites):
a histogram of its operators, its inputs and outputs with their shapes, the number
of parameters (elements of all initializers) and the FLOPs of one item (batch 1;
2 per multiply-add for Conv, ConvTranspose, Gemm and MatMul, 1 per output element
elsewhere). Dynamic dimensions other than the batch can be fixed with
--dim NAME=SIZE (e.g. --dim height=256 --dim width=256) to get the FLOPs.`,
		Args: argsRange(1, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := args[0]
			if err := checkFile(path, "model"); err != nil {
				return err
			}
			fixed := map[string]int{}
			for _, d := range dims {
				k, v, ok := strings.Cut(d, "=")
				n, err := strconv.Atoi(v)
				if !ok || k == "" || err != nil || n < 1 {
					return usagef("--dim %q: want NAME=SIZE with SIZE ≥ 1", d)
				}
				fixed[k] = n
			}
			g, err := onnx.Load(cmd.Context(), path, onnx.Options{})
			if err != nil {
				if badInput(err) {
					return usageError{fmt.Errorf("model %s: %w", path, err)}
				}
				return fmt.Errorf("model %s: %w", path, err)
			}
			info := inspectGraph(path, g, fixed)
			if asJSON {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(info)
			}
			return printModelInfo(e, info)
		},
	}
	inspect.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	inspect.Flags().StringArrayVar(&dims, "dim", nil, "fix a named dynamic dimension for the FLOPs count, NAME=SIZE (repeatable)")
	cmd.AddCommand(inspect)
	return cmd
}

func inspectGraph(path string, g *graph.Graph, fixed map[string]int) modelInfo {
	info := modelInfo{Model: path, Opset: g.Opset, Nodes: len(g.Nodes)}
	hist := map[string]int{}
	for _, n := range g.Nodes {
		op := n.Op
		if n.Domain != "" && n.Domain != "ai.onnx" {
			op = n.Domain + "." + op
		}
		hist[op]++
	}
	for op, c := range hist {
		info.Ops = append(info.Ops, opCount{op, c})
	}
	sort.Slice(info.Ops, func(i, j int) bool {
		if info.Ops[i].Count != info.Ops[j].Count {
			return info.Ops[i].Count > info.Ops[j].Count
		}
		return info.Ops[i].Op < info.Ops[j].Op
	})
	conv := func(v graph.ValueInfo) tensorInfo {
		t := tensorInfo{Name: v.Name, DType: v.DType.String(), Shape: v.Shape, Dims: v.DimParams}
		if t.Shape == nil {
			t.Shape = []int{}
		}
		if t.Dims == nil {
			t.Dims = make([]string, len(t.Shape))
		}
		return t
	}
	feeds := map[string][]int{}
	for _, in := range g.Inputs {
		info.Inputs = append(info.Inputs, conv(in))
		if in.Shape == nil {
			continue
		}
		s := append([]int(nil), in.Shape...)
		for i, d := range s {
			if d >= 0 {
				continue
			}
			if i < len(in.DimParams) {
				if v, ok := fixed[in.DimParams[i]]; ok {
					s[i] = v
					continue
				}
			}
			if i == 0 {
				s[i] = 1 // the batch dimension: one item
			}
		}
		feeds[in.Name] = s
	}
	for _, o := range g.Outputs {
		info.Outputs = append(info.Outputs, conv(o))
	}
	for _, t := range g.Initializers {
		info.Parameters += int64(nn.NumElements(t.Shape))
	}
	shapes, err := graph.InferShapes(g, feeds)
	if err == nil {
		total, _, known := graph.FLOPs(g, shapes)
		info.FLOPsNodes = known
		if known == len(g.Nodes) {
			info.FLOPsPerItem = &total
		}
	}
	return info
}

func printModelInfo(e *env, info modelInfo) error {
	w := e.stdout
	fmt.Fprintf(w, "Model:       %s\nOpset:       %d\nNodes:       %d\n", info.Model, info.Opset, info.Nodes)
	fmt.Fprintf(w, "Parameters:  %d%s\n", info.Parameters, humanCount(float64(info.Parameters), ""))
	if info.FLOPsPerItem != nil {
		fmt.Fprintf(w, "FLOPs/item:  %.0f%s\n", *info.FLOPsPerItem, humanCount(*info.FLOPsPerItem, "FLOP"))
	} else {
		fmt.Fprintf(w, "FLOPs/item:  unknown (%d of %d nodes have known shapes; fix dynamic dimensions with --dim NAME=SIZE)\n",
			info.FLOPsNodes, info.Nodes)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nINPUT\tTYPE")
	for _, t := range info.Inputs {
		fmt.Fprintf(tw, "%s\t%s\n", t.Name, t)
	}
	fmt.Fprintln(tw, "\nOUTPUT\tTYPE")
	for _, t := range info.Outputs {
		fmt.Fprintf(tw, "%s\t%s\n", t.Name, t)
	}
	fmt.Fprintln(tw, "\nOP\tCOUNT")
	for _, o := range info.Ops {
		fmt.Fprintf(tw, "%s\t%d\n", o.Op, o.Count)
	}
	return tw.Flush()
}

// humanCount writes " (n with a k/M/G/T prefix and unit)" for n ≥ 1000,
// else nothing.
func humanCount(n float64, unit string) string {
	for _, u := range []struct {
		v float64
		s string
	}{{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if n >= u.v {
			return fmt.Sprintf(" (%.2f %s%s)", n/u.v, u.s, unit)
		}
	}
	return ""
}
