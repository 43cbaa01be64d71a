package spec

// Resolve returns the value of every pipeline input for one run: the override when there is
// one, else the default; optional inputs without either are absent from the map. overrides
// maps input names to values in text form, as `--set k=v` and the REST API give them; each is
// converted to the input's type by the rules of ParseValue ("1e3" is an integer, "yes" a
// boolean). An override naming no input, an override that does not convert, and a required
// input without a value are errors; all of them are reported together in an ErrorList
// (wrapping ErrInvalid), positioned at the input concerned (at the file for unknown names).
func (p *Pipeline) Resolve(overrides map[string]string) (map[string]Value, error) {
	var errs ErrorList
	out := make(map[string]Value, len(p.Inputs))
	for _, k := range keysOf(overrides) {
		in := p.Inputs[k]
		if in == nil {
			errs.add(Pos{File: p.File}, "--set %s=%s: the pipeline has no input %q (inputs: %s)", k, overrides[k], k, nameList(keysOf(p.Inputs)))
			continue
		}
		v, msg := parseValue(in.Type, overrides[k])
		if msg != "" {
			errs.add(in.Pos, "--set %s=%s: input %q is %s: %s", k, overrides[k], k, in.Type, msg)
			continue
		}
		out[k] = v
	}
	for _, name := range order(p.InputOrder, p.Inputs) {
		in := p.Inputs[name]
		if _, set := overrides[name]; set || in == nil {
			continue
		}
		switch {
		case in.Default != nil:
			out[name] = *in.Default
		case !in.Optional:
			errs.add(in.Pos, "required input %q (%s) has no value: set it with --set %s=VALUE", name, in.Type, name)
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return out, nil
}

// Value returns the value a job input or parameter takes in a run: its literal, or the value
// of the pipeline input it is bound to, looked up in inputs (as returned by Resolve). ok is
// false for bindings to job outputs (known only when that job has run) and for bindings to
// optional inputs without a value.
func (in *JobInput) Value(inputs map[string]Value) (v Value, ok bool) {
	switch {
	case in.Literal != nil:
		return *in.Literal, true
	case in.Binding != nil && in.Binding.Kind == BindParentInput:
		v, ok = inputs[in.Binding.Name]
		return v, ok
	}
	return Value{}, false
}
