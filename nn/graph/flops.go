package graph

// FLOPs estimates the floating-point operations of one run of g, counting
// 2 per multiply-add for Conv, ConvTranspose, Gemm and MatMul and one per
// output element for the other operators, from shapes as InferShapes
// returns them. Nodes with an unknown (-1) dimension count zero; known
// reports how many nodes were counted.
func FLOPs(g *Graph, shapes map[string]ValueInfo) (total float64, perNode []float64, known int) {
	perNode = make([]float64, len(g.Nodes))
	prod := func(s []int) (float64, bool) {
		p := 1.0
		for _, d := range s {
			if d < 0 {
				return 0, false
			}
			p *= float64(d)
		}
		return p, s != nil
	}
	for i, n := range g.Nodes {
		var out []int
		if len(n.Outputs) > 0 {
			out = shapes[n.Outputs[0]].Shape
		}
		o, okO := prod(out)
		var f float64
		ok := okO
		switch n.Op {
		case "Conv":
			w := shapes[n.Input(1)].Shape
			k, okW := prod(w)
			if okW && len(w) > 0 && w[0] > 0 && ok {
				f = 2 * o * k / float64(w[0]) // per output: C/group * prod(kernel)
			}
			ok = ok && okW
		case "ConvTranspose":
			x, w := shapes[n.Input(0)].Shape, shapes[n.Input(1)].Shape
			xi, okX := prod(x)
			k, okW := prod(w)
			if okX && okW && len(w) > 0 && w[0] > 0 {
				f = 2 * xi * k / float64(w[0]) // per input: M/group * prod(kernel)
			}
			ok = okX && okW
		case "Gemm", "MatMul":
			a := shapes[n.Input(0)].Shape
			if len(a) > 0 && ok {
				kdim := a[len(a)-1]
				if n.Op == "Gemm" && n.Int("transA", 0) != 0 {
					kdim = a[0]
				}
				if kdim >= 0 {
					f = 2 * o * float64(kdim)
				} else {
					ok = false
				}
			}
		case "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout", "Shape", "Constant":
			f = 0
		default:
			f = o
		}
		if ok {
			perNode[i] = f
			total += f
			known++
		}
	}
	return total, perNode, known
}
