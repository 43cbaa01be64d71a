package spec

import (
	"fmt"
	"slices"
	"strings"
)

// deps returns the jobs j depends on (bindings of inputs and parameters, run_after),
// sorted, without duplicates; names of jobs that do not exist are kept.
func (j *Job) deps() []string {
	var out []string
	for _, m := range []map[string]*JobInput{j.Inputs, j.Params} {
		for _, in := range m {
			if in != nil && in.Binding != nil && in.Binding.Kind == BindJobOutput {
				out = append(out, in.Binding.Job)
			}
		}
	}
	out = append(out, j.RunAfter...)
	slices.Sort(out)
	return slices.Compact(out)
}

// Upstream returns the names of the jobs that job depends on directly, through bindings
// to their outputs and through run_after, sorted. It is nil for an unknown job. Names
// that are not jobs of p (in a pipeline that does not validate) are left out.
func (p *Pipeline) Upstream(job string) []string {
	j := p.Jobs[job]
	if j == nil {
		return nil
	}
	var out []string
	for _, d := range j.deps() {
		if _, ok := p.Jobs[d]; ok {
			out = append(out, d)
		}
	}
	return out
}

// TopoOrder returns every job's name, each after all the jobs it depends on; among jobs
// that are ready together the one first in JobOrder (the file's order) comes first, so the
// order is deterministic. On a pipeline with a cycle (which Validate rejects), the jobs that
// cannot be ordered come last, in JobOrder.
func (p *Pipeline) TopoOrder() []string {
	names := order(p.JobOrder, p.Jobs)
	pending := map[string]int{}
	down := map[string][]string{}
	for _, n := range names {
		up := p.Upstream(n)
		for _, u := range up {
			if u != n {
				pending[n]++
				down[u] = append(down[u], n)
			}
		}
	}
	done := map[string]bool{}
	out := make([]string, 0, len(names))
	for len(out) < len(names) {
		progressed := false
		for _, n := range names { // first ready job in file order
			if !done[n] && pending[n] == 0 {
				done[n] = true
				out = append(out, n)
				for _, d := range down[n] {
					pending[d]--
				}
				progressed = true
				break
			}
		}
		if !progressed {
			for _, n := range names {
				if !done[n] {
					out = append(out, n)
				}
			}
			break
		}
	}
	return out
}

// checkCycles reports each dependency cycle once, as "a -> b -> a" where each job feeds
// the next, starting from the cycle's job that comes first in the file, at that job.
func (p *Pipeline) checkCycles(errs *ErrorList) {
	names := order(p.JobOrder, p.Jobs)
	index := map[string]int{}
	for i, n := range names {
		index[n] = i
	}
	// edges u -> d: d depends on u (run_after to itself is reported elsewhere)
	down := map[string][]string{}
	for _, n := range names {
		for _, u := range p.Upstream(n) {
			if u == n && !p.selfBound(n) {
				continue
			}
			down[u] = append(down[u], n)
		}
	}
	for _, n := range names {
		slices.SortFunc(down[n], func(a, b string) int { return index[a] - index[b] })
	}
	// Tarjan's strongly connected components, iterating in file order.
	var (
		idx     = map[string]int{}
		low     = map[string]int{}
		onStack = map[string]bool{}
		stack   []string
		counter int
		comps   [][]string
	)
	var visit func(v string)
	visit = func(v string) {
		idx[v], low[v] = counter, counter
		counter++
		stack = append(stack, v)
		onStack[v] = true
		for _, w := range down[v] {
			if _, seen := idx[w]; !seen {
				visit(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], idx[w])
			}
		}
		if low[v] == idx[v] {
			var comp []string
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				comp = append(comp, w)
				if w == v {
					break
				}
			}
			comps = append(comps, comp)
		}
	}
	for _, n := range names {
		if _, seen := idx[n]; !seen {
			visit(n)
		}
	}
	for _, comp := range comps {
		if len(comp) == 1 && !slices.Contains(down[comp[0]], comp[0]) {
			continue
		}
		in := map[string]bool{}
		start := comp[0]
		for _, c := range comp {
			in[c] = true
			if index[c] < index[start] {
				start = c
			}
		}
		path := cyclePath(start, down, in)
		errs.add(p.Jobs[start].Pos, "cycle: %s", strings.Join(path, " -> "))
	}
}

// selfBound reports whether job n binds one of its own outputs.
func (p *Pipeline) selfBound(n string) bool {
	j := p.Jobs[n]
	for _, m := range []map[string]*JobInput{j.Inputs, j.Params} {
		for _, in := range m {
			if in != nil && in.Binding != nil && in.Binding.Kind == BindJobOutput && in.Binding.Job == n {
				return true
			}
		}
	}
	return false
}

// cyclePath finds a shortest cycle from start back to start inside the component,
// by breadth-first search in edge order.
func cyclePath(start string, down map[string][]string, in map[string]bool) []string {
	prev := map[string]string{}
	queue := []string{start}
	seen := map[string]bool{}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		for _, w := range down[v] {
			if !in[w] {
				continue
			}
			if w == start {
				path := []string{start}
				for x := v; x != start; x = prev[x] {
					path = append(path, x)
				}
				path = append(path, start)
				// path is start, then back-to-front; put it in feeding order
				slices.Reverse(path[1 : len(path)-1])
				return path
			}
			if !seen[w] {
				seen[w] = true
				prev[w] = v
				queue = append(queue, w)
			}
		}
	}
	return []string{start, fmt.Sprint("?"), start}
}
