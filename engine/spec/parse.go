package spec

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
)

// ParseFile reads and parses the pipeline file at path; see Parse. An error reading the
// file is returned as it is (an *fs.PathError), not as ErrInvalid.
func ParseFile(path string) (*Pipeline, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Parse parses a pipeline file's contents; file names it in positions and errors, and the
// pipeline's Dir is the folder of file's absolute path. The pipeline is validated (see
// Validate). On failure Parse returns a nil Pipeline and an ErrorList holding every problem
// found, sorted by position, each wrapping ErrInvalid. Parse never panics. YAML syntax errors
// are reported at column 1 of the offending line (the YAML parser gives no column).
//
// Defaults filled in: Name is the file's base name without extension when the file has no
// `name:`; Settings.DefaultCompute is "local"; a job's Retry.MaxAttempts is 1; a job output
// without `type:` is a uri_folder; a pipeline output bound to a job output without its own
// `type:` takes the job output's type.
func Parse(file string, data []byte) (p *Pipeline, err error) {
	ps := &parser{file: file, src: data}
	defer func() {
		if r := recover(); r != nil { // a bug of ours or of the YAML parser: still an input problem
			p = nil
			err = ErrorList{{Pos: Pos{File: file}, Msg: fmt.Sprintf("internal error parsing the pipeline: %v", r)}}
		}
	}()
	p = ps.parse()
	if p != nil {
		p.fill()
		ps.errs = append(ps.errs, p.validate()...)
	}
	if err := ps.errs.err(); err != nil {
		return nil, err
	}
	return p, nil
}

// Placeholders for "${{" and "}}" while YAML parses: bindings are not valid plain scalars in
// flow context ({raw: ${{parent.inputs.x}}}), so they are swapped for characters of the
// same count (columns are counted in characters) that are, and swapped back afterwards.
const (
	phOpen  = "$\uE000\uE000"
	phClose = "\uE001\uE001"
)

type parser struct {
	file  string
	src   []byte
	lines []string // the source, split into lines, for column checks
	errs  ErrorList
	swap  bool // placeholders were used
}

func (ps *parser) pos(n *yaml.Node) Pos { return Pos{File: ps.file, Line: n.Line, Col: n.Column} }

func (ps *parser) errorf(pos Pos, format string, args ...any) { ps.errs.add(pos, format, args...) }

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// decode parses the YAML text into a node tree, reporting syntax errors.
func (ps *parser) decode() *yaml.Node {
	text := string(ps.src)
	ps.lines = strings.Split(text, "\n")
	if !strings.ContainsAny(text, "\uE000\uE001") && strings.Contains(text, "${{") {
		text = swapBindings(text)
		ps.swap = true
	}
	dec := yaml.NewDecoder(strings.NewReader(text))
	var doc yaml.Node
	err := decodeSafe(dec, &doc)
	if errors.Is(err, io.EOF) {
		ps.errorf(Pos{File: ps.file, Line: 1, Col: 1}, "empty pipeline file: want a mapping with at least \"jobs\"")
		return nil
	}
	if err != nil {
		ps.syntaxError(err)
		return nil
	}
	var extra yaml.Node
	if err := decodeSafe(dec, &extra); err == nil {
		ps.errorf(ps.pos(&extra), "a pipeline file holds one YAML document; found a second one")
	} else if !errors.Is(err, io.EOF) {
		ps.syntaxError(err)
	}
	if ps.swap {
		unswap(&doc, 0)
	}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		return doc.Content[0]
	}
	return &doc
}

func decodeSafe(dec *yaml.Decoder, n *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("yaml: %v", r)
		}
	}()
	return dec.Decode(n)
}

func (ps *parser) syntaxError(err error) {
	line, msg := 1, err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	if !strings.Contains(msg, "end of stream") {
		line = ps.problemLine(line, err.Error())
	}
	msg = strings.ReplaceAll(strings.ReplaceAll(msg, "\uE000", "{"), "\uE001", "}")
	ps.errorf(Pos{File: ps.file, Line: line, Col: 1}, "YAML syntax error: %s", msg)
}

// problemLine improves on the line yaml.v3 reports, which is where the enclosing block
// starts: it is the first line from there on whose prefix of the file fails to parse
// with the same message.
func (ps *parser) problemLine(line int, msg string) int {
	budget := 8 << 20 // bytes parsed in all, so that huge files stay fast
	for k := max(line, 1); k <= len(ps.lines) && k < line+200; k++ {
		text := strings.Join(ps.lines[:k], "\n")
		if budget -= len(text); budget < 0 {
			break
		}
		if ps.swap {
			text = swapBindings(text)
		}
		var n yaml.Node
		err := decodeSafe(yaml.NewDecoder(strings.NewReader(text)), &n)
		if err != nil && !errors.Is(err, io.EOF) {
			if strings.HasSuffix(err.Error(), ": "+strings.TrimPrefix(yamlLineRE.ReplaceAllString(msg, "$2"), "yaml: ")) ||
				err.Error() == msg {
				return k
			}
			return line
		}
	}
	return line
}

// swapBindings replaces each "${{" that has a "}}" later on the same line, and that "}}",
// with placeholders.
func swapBindings(text string) string {
	var sb strings.Builder
	for {
		i := strings.Index(text, "${{")
		if i < 0 {
			break
		}
		nl := strings.IndexByte(text[i:], '\n')
		if nl < 0 {
			nl = len(text) - i
		}
		j := strings.Index(text[i+3:i+nl], "}}")
		if j < 0 {
			sb.WriteString(text[:i+3])
			text = text[i+3:]
			continue
		}
		sb.WriteString(text[:i])
		sb.WriteString(phOpen)
		sb.WriteString(text[i+3 : i+3+j])
		sb.WriteString(phClose)
		text = text[i+3+j+2:]
	}
	sb.WriteString(text)
	return sb.String()
}

func unswap(n *yaml.Node, depth int) {
	if n == nil || depth > 10000 {
		return
	}
	if strings.ContainsAny(n.Value, "\uE000\uE001") {
		n.Value = strings.ReplaceAll(strings.ReplaceAll(n.Value, phOpen, "${{"), phClose, "}}")
	}
	for _, c := range n.Content {
		unswap(c, depth+1)
	}
}

// deref follows aliases.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 64; i++ {
		n = n.Alias
	}
	return n
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "empty"
		}
		return fmt.Sprintf("the value %q", n.Value)
	case yaml.AliasNode:
		return "an alias"
	}
	return "a document"
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

type entry struct {
	name     string
	key, val *yaml.Node
}

// mapping returns the entries of a mapping node, reporting a node of another kind and
// duplicate keys (the first one is kept). A null value is an empty mapping.
func (ps *parser) mapping(orig *yaml.Node, what string) ([]entry, bool) {
	n := deref(orig)
	if n == nil || isNull(n) {
		return nil, true
	}
	if n.Kind != yaml.MappingNode {
		ps.errorf(ps.pos(orig), "%s must be a mapping, not %s", what, kindName(n))
		return nil, false
	}
	var out []entry
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k != nil && k.Tag == "!!merge" {
			ps.errorf(ps.pos(k), "%s: merge keys (<<) are not supported", what)
			continue
		}
		if k == nil || k.Kind != yaml.ScalarNode {
			ps.errorf(ps.pos(n.Content[i]), "%s: keys must be plain names, not %s", what, kindName(n.Content[i]))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			ps.errorf(ps.pos(k), "duplicate key %q in %s (first at %d:%d)", k.Value, what, first.Line, first.Column)
			continue
		}
		seen[k.Value] = k
		out = append(out, entry{name: k.Value, key: k, val: v})
	}
	return out, true
}

func (ps *parser) unknownKey(e entry, what string, allowed []string) {
	ps.errorf(ps.pos(e.key), "unknown key %q in %s (allowed: %s)", e.name, what, nameList(allowed))
}

// scalar returns the text of a scalar node; null is "".
func (ps *parser) scalar(orig *yaml.Node, what string) (string, bool) {
	n := deref(orig)
	if n == nil || isNull(n) {
		return "", true
	}
	if n.Kind != yaml.ScalarNode {
		ps.errorf(ps.pos(orig), "%s must be a single value, not %s", what, kindName(n))
		return "", false
	}
	return n.Value, true
}

// value converts a scalar node to a value of type t.
func (ps *parser) value(n *yaml.Node, t Type, what string) (*Value, bool) {
	s, ok := ps.scalar(n, what)
	if !ok {
		return nil, false
	}
	if strings.Contains(s, "${{") {
		ps.errorf(ps.pos(n), "%s must be a literal value, not a binding", what)
		return nil, false
	}
	v, msg := parseValue(t, s)
	if msg != "" {
		ps.errorf(ps.pos(n), "%s: %s", what, msg)
		return nil, false
	}
	return &v, true
}

// inferred converts a scalar to a value of the type its YAML tag suggests.
func inferred(n *yaml.Node) (Value, bool) {
	switch n.Tag {
	case "!!int":
		if v, msg := parseValue(TypeInteger, n.Value); msg == "" {
			return v, true
		}
		if v, msg := parseValue(TypeNumber, n.Value); msg == "" {
			return v, true
		}
	case "!!float":
		if v, msg := parseValue(TypeNumber, n.Value); msg == "" {
			return v, true
		}
	case "!!bool":
		if v, msg := parseValue(TypeBoolean, n.Value); msg == "" {
			return v, true
		}
	case "!!null":
		return Value{}, false
	}
	return Value{Type: TypeString, Str: n.Value}, true
}

// offsetPos is the position of byte offset off of a scalar's value: exact for one-line plain
// and quoted scalars and for literal block scalars, checked against the source; the
// scalar's start otherwise.
func (ps *parser) offsetPos(n *yaml.Node, off int) Pos {
	base := ps.pos(n)
	v := n.Value
	if off < 0 || off > len(v) {
		return base
	}
	want := v[off:min(len(v), off+3)]
	switch n.Style {
	case 0, yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		if strings.Contains(v, "\n") {
			return base
		}
		col := n.Column + utf8.RuneCountInString(v[:off])
		if n.Style != 0 {
			col++
		}
		if ps.sourceHas(n.Line, col, want) {
			return Pos{File: ps.file, Line: n.Line, Col: col}
		}
	case yaml.LiteralStyle:
		k := strings.Count(v[:off], "\n")
		start := strings.LastIndexByte(v[:off], '\n') + 1
		end := strings.IndexByte(v[start:], '\n')
		if end < 0 {
			end = len(v) - start
		}
		content := v[start : start+end]
		line := n.Line + 1 + k
		if line-1 < len(ps.lines) {
			src := strings.TrimRight(ps.lines[line-1], "\r")
			if strings.HasSuffix(src, content) {
				col := utf8.RuneCountInString(src) - utf8.RuneCountInString(content) + 1 +
					utf8.RuneCountInString(v[start:off])
				if ps.sourceHas(line, col, want) {
					return Pos{File: ps.file, Line: line, Col: col}
				}
			}
		}
	}
	return base
}

// sourceHas reports whether the source line has want at the character column col.
func (ps *parser) sourceHas(line, col int, want string) bool {
	if line < 1 || line > len(ps.lines) || col < 1 {
		return false
	}
	s := ps.lines[line-1]
	for i := 1; i < col; i++ {
		if s == "" {
			return false
		}
		_, w := utf8.DecodeRuneInString(s)
		s = s[w:]
	}
	return strings.HasPrefix(s, want)
}

var (
	topKeys      = []string{"$schema", "description", "display_name", "experiment_name", "inputs", "jobs", "name", "outputs", "settings", "tags", "type"}
	inputKeys    = []string{"default", "description", "optional", "path", "type"}
	outputKeys   = []string{"description", "type"}
	settingKeys  = []string{"continue_on_step_failure", "default_compute", "force_rerun"}
	jobInputKeys = []string{"default", "description", "path", "type"}
	jobOutKeys   = []string{"description", "name", "path", "type"}
	retryKeys    = []string{"delay", "max_attempts"}
)

func (ps *parser) parse() *Pipeline {
	root := ps.decode()
	if root == nil {
		return nil
	}
	root = deref(root)
	p := &Pipeline{
		File:    ps.file,
		Inputs:  map[string]*Input{},
		Outputs: map[string]*Output{},
		Jobs:    map[string]*Job{},
		Pos:     ps.pos(root),
		pos:     posTable{},
	}
	if abs, err := filepath.Abs(ps.file); err == nil {
		p.Dir = filepath.Dir(abs)
	}
	entries, ok := ps.mapping(root, "the pipeline file")
	if !ok {
		return nil
	}
	sections := map[string]entry{}
	for _, e := range entries {
		if !slices.Contains(topKeys, e.name) {
			ps.unknownKey(e, "the pipeline", topKeys)
			continue
		}
		sections[e.name] = e
		p.pos[e.name] = ps.pos(e.key)
	}
	if e, ok := sections["type"]; ok {
		if s, ok := ps.scalar(e.val, `"type"`); ok && s != "pipeline" {
			ps.errorf(ps.pos(e.val), "the pipeline's type must be \"pipeline\", not %q", s)
		}
	}
	if e, ok := sections["name"]; ok {
		p.Name, _ = ps.scalar(e.val, `"name"`)
	} else if ps.file != "" {
		b := filepath.Base(ps.file)
		p.Name = strings.TrimSuffix(b, filepath.Ext(b))
	}
	if e, ok := sections["description"]; ok {
		p.Description, _ = ps.scalar(e.val, `"description"`)
	}
	if e, ok := sections["inputs"]; ok {
		ins, _ := ps.mapping(e.val, "the pipeline's inputs")
		for _, ie := range ins {
			in := ps.input(ie)
			p.Inputs[in.Name] = in
			p.InputOrder = append(p.InputOrder, in.Name)
		}
	}
	if e, ok := sections["outputs"]; ok {
		outs, _ := ps.mapping(e.val, "the pipeline's outputs")
		for _, oe := range outs {
			out := ps.output(oe)
			p.Outputs[out.Name] = out
			p.OutputOrder = append(p.OutputOrder, out.Name)
		}
	}
	if e, ok := sections["settings"]; ok {
		ps.settings(p, e)
	}
	if e, ok := sections["jobs"]; ok {
		p.pos["jobs"] = ps.pos(e.key)
		jobs, _ := ps.mapping(e.val, "jobs")
		for _, je := range jobs {
			j := ps.job(p, je)
			p.Jobs[j.Name] = j
			p.JobOrder = append(p.JobOrder, j.Name)
		}
	}
	return p
}

func (ps *parser) input(e entry) *Input {
	in := &Input{Name: e.name, Pos: ps.pos(e.key), pos: posTable{}}
	what := fmt.Sprintf("input %q", e.name)
	v := deref(e.val)
	switch {
	case v == nil || isNull(v):
		// no type: Validate reports it
	case v.Kind == yaml.ScalarNode:
		if strings.Contains(v.Value, "${{") {
			ps.errorf(ps.pos(v), "%s: a pipeline input's value must be a literal, not a binding", what)
			in.broken = true
			break
		}
		val, _ := inferred(v)
		in.Type = val.Type
		in.Default = &val
		in.pos["default"] = ps.pos(v)
	default:
		entries, ok := ps.mapping(v, what)
		if !ok {
			in.broken = true
			return in
		}
		var def, path *yaml.Node
		for _, f := range entries {
			in.pos[f.name] = ps.pos(f.val)
			switch f.name {
			case "type":
				s, _ := ps.scalar(f.val, what+": type")
				in.Type = Type(s)
			case "default":
				def = f.val
			case "path":
				path = f.val
			case "optional":
				if b, ok := ps.value(f.val, TypeBoolean, what+": optional"); ok {
					in.Optional = b.Bool
				}
			case "description":
				in.Description, _ = ps.scalar(f.val, what+": description")
			default:
				ps.unknownKey(f, what, inputKeys)
			}
		}
		if !in.Type.Valid() {
			return in // Validate reports the type
		}
		if path != nil && !in.Type.IsPath() {
			ps.errorf(in.pos["path"], "%s: \"path\" is only for uri_folder and uri_file inputs; use \"default\"", what)
			in.broken = true
			path = nil
		}
		if def != nil && path != nil {
			ps.errorf(in.pos["default"], "%s: give either \"path\" or \"default\", not both", what)
			in.broken = true
			def = nil
		}
		for _, n := range []*yaml.Node{def, path} {
			if n != nil && !isNull(deref(n)) {
				if val, ok := ps.value(n, in.Type, what+": "+map[bool]string{true: "path", false: "default"}[n == path]); ok {
					in.Default = val
				} else {
					in.broken = true
				}
			}
		}
	}
	return in
}

func (ps *parser) output(e entry) *Output {
	out := &Output{Name: e.name, Pos: ps.pos(e.key), pos: posTable{}}
	what := fmt.Sprintf("output %q", e.name)
	v := deref(e.val)
	switch {
	case v == nil || isNull(v):
	case v.Kind == yaml.ScalarNode:
		b, isB, off, msg := parseWholeBinding(v.Value)
		switch {
		case msg != "":
			ps.errorf(ps.offsetPos(v, off), "%s: %s", what, msg)
			out.broken = true
		case !isB:
			ps.errorf(ps.pos(v), "%s: want a binding ${{parent.jobs.JOB.outputs.NAME}} or {type: ...}, not %q", what, v.Value)
			out.broken = true
		default:
			b.Pos = ps.offsetPos(v, off)
			out.Binding = b
		}
	default:
		entries, ok := ps.mapping(v, what)
		if !ok {
			out.broken = true
			return out
		}
		for _, f := range entries {
			out.pos[f.name] = ps.pos(f.val)
			switch f.name {
			case "type":
				s, _ := ps.scalar(f.val, what+": type")
				out.Type = Type(s)
			case "description":
				ps.scalar(f.val, what+": description")
			default:
				ps.unknownKey(f, what, outputKeys)
			}
		}
	}
	return out
}

func (ps *parser) settings(p *Pipeline, e entry) {
	entries, _ := ps.mapping(e.val, "settings")
	for _, f := range entries {
		p.pos["settings."+f.name] = ps.pos(f.val)
		switch f.name {
		case "default_compute":
			p.Settings.DefaultCompute, _ = ps.scalar(f.val, "settings: default_compute")
		case "continue_on_step_failure":
			if b, ok := ps.value(f.val, TypeBoolean, "settings: continue_on_step_failure"); ok {
				p.Settings.ContinueOnStepFailure = b.Bool
			}
		case "force_rerun":
			if b, ok := ps.value(f.val, TypeBoolean, "settings: force_rerun"); ok {
				p.Settings.ForceRerun = b.Bool
			}
		default:
			ps.unknownKey(f, "settings", settingKeys)
		}
	}
}

func (ps *parser) job(p *Pipeline, e entry) *Job {
	j := &Job{
		Name:    e.name,
		Pos:     ps.pos(e.key),
		Inputs:  map[string]*JobInput{},
		Outputs: map[string]*JobOutput{},
		Params:  map[string]*JobInput{},
		Retry:   Retry{MaxAttempts: 1},
		pos:     posTable{},
	}
	what := fmt.Sprintf("job %q", e.name)
	entries, ok := ps.mapping(e.val, what)
	if !ok {
		j.broken = true
		return j
	}
	for _, f := range entries {
		if f.name == "type" {
			j.Type, _ = ps.scalar(f.val, what+": type")
		}
	}
	params, known := JobTypeParams(j.Type)
	for _, f := range entries {
		j.pos[f.name] = ps.pos(f.val)
		switch f.name {
		case "type", "description", "display_name", "environment", "tags":
		case "code":
			j.Code, _ = ps.scalar(f.val, what+": code")
		case "command":
			ps.command(j, f.val, what)
		case "compute":
			j.Compute, _ = ps.scalar(f.val, what+": compute")
		case "environment_variables":
			env, _ := ps.mapping(f.val, what+": environment_variables")
			j.Env = map[string]string{}
			for _, v := range env {
				j.pos["environment_variables."+v.name] = ps.pos(v.key)
				j.Env[v.name], _ = ps.scalar(v.val, fmt.Sprintf("%s: environment variable %q", what, v.name))
			}
		case "inputs":
			ins, _ := ps.mapping(f.val, what+": inputs")
			for _, ie := range ins {
				in := ps.jobInput(ie, "", fmt.Sprintf("%s: input %q", what, ie.name))
				j.Inputs[in.Name] = in
				j.InputOrder = append(j.InputOrder, in.Name)
			}
		case "outputs":
			outs, _ := ps.mapping(f.val, what+": outputs")
			for _, oe := range outs {
				out := ps.jobOutput(p, j, oe, fmt.Sprintf("%s: output %q", what, oe.name))
				j.Outputs[out.Name] = out
				j.OutputOrder = append(j.OutputOrder, out.Name)
			}
		case "run_after":
			ps.runAfter(j, f.val, what)
		case "retry":
			ps.retry(j, f.val, what)
		case "timeout":
			if s, ok := ps.scalar(f.val, what+": timeout"); ok {
				d, ok := parseDuration(s)
				if !ok {
					ps.errorf(j.pos["timeout"], "%s: timeout: %q is not a duration (want e.g. 30m, 1h30m, or a number of seconds)", what, s)
				}
				j.Timeout = d
			}
		default:
			t, isParam := params[f.name]
			switch {
			case isParam:
				j.Params[f.name] = ps.jobInput(f, t, fmt.Sprintf("%s: %q", what, f.name))
			case isBlockKey(j.Type, f.name):
				if j.Blocks == nil {
					j.Blocks = map[string]*Node{}
				}
				budget := maxBlockNodes
				j.Blocks[f.name] = ps.block(f.val, fmt.Sprintf("%s: %s", what, f.name), 0, &budget)
			case known:
				ps.unknownKey(f, fmt.Sprintf("%s of type %q", what, j.Type), allowedJobKeys(j.Type, params))
			}
			// an unknown or missing type is reported by Validate; its other keys are not judged
		}
	}
	return j
}

func (ps *parser) command(j *Job, n *yaml.Node, what string) {
	s, ok := ps.scalar(n, what+": command")
	if !ok {
		j.broken = true
		return
	}
	n = deref(n)
	t := &Template{Raw: s, Pos: ps.pos(n)}
	parts, offs, probs := parseTemplate(s)
	t.Parts = parts
	for _, part := range parts {
		if part.Ref != nil {
			part.Ref.Pos = ps.offsetPos(n, offs[0])
			offs = offs[1:]
		}
	}
	for _, pr := range probs {
		ps.errorf(ps.offsetPos(n, pr.Off), "%s: command: %s", what, pr.Msg)
	}
	j.Command = t
}

func (ps *parser) runAfter(j *Job, n *yaml.Node, what string) {
	n = deref(n)
	if n != nil && n.Kind == yaml.ScalarNode && !isNull(n) { // run_after: one_job
		j.pos["run_after.0"] = ps.pos(n)
		j.RunAfter = append(j.RunAfter, n.Value)
		return
	}
	if n == nil || isNull(n) {
		return
	}
	if n.Kind != yaml.SequenceNode {
		ps.errorf(ps.pos(n), "%s: run_after must be a list of job names, not %s", what, kindName(n))
		return
	}
	for _, c := range n.Content {
		s, ok := ps.scalar(c, what+": run_after entry")
		if !ok {
			continue
		}
		j.pos["run_after."+strconv.Itoa(len(j.RunAfter))] = ps.pos(c)
		j.RunAfter = append(j.RunAfter, s)
	}
}

func (ps *parser) retry(j *Job, n *yaml.Node, what string) {
	entries, _ := ps.mapping(n, what+": retry")
	for _, f := range entries {
		j.pos["retry."+f.name] = ps.pos(f.val)
		switch f.name {
		case "max_attempts":
			if v, ok := ps.value(f.val, TypeInteger, what+": retry: max_attempts"); ok {
				j.Retry.MaxAttempts = int(max(min(v.Int, 1<<31-1), -1<<31))
			}
		case "delay":
			if s, ok := ps.scalar(f.val, what+": retry: delay"); ok {
				d, ok := parseDuration(s)
				if !ok {
					ps.errorf(j.pos["retry.delay"], "%s: retry: delay: %q is not a duration (want e.g. 2s, 1m, or a number of seconds)", what, s)
				}
				j.Retry.Delay = d
			}
		default:
			ps.unknownKey(f, what+": retry", retryKeys)
		}
	}
}

// jobInput parses a job input or a job-type parameter; declared is the type the job type
// registered for a parameter ("" for inputs).
func (ps *parser) jobInput(e entry, declared Type, what string) *JobInput {
	in := &JobInput{Name: e.name, Type: declared, Pos: ps.pos(e.key), pos: posTable{}}
	v := deref(e.val)
	switch {
	case v == nil || isNull(v):
		ps.errorf(in.Pos, "%s has no value", what)
		in.broken = true
	case v.Kind == yaml.ScalarNode:
		ps.jobInputScalar(in, v, declared, what)
	case v.Kind == yaml.MappingNode:
		entries, _ := ps.mapping(v, what)
		var val *yaml.Node
		var valKey string
		hasType := false
		for _, f := range entries {
			in.pos[f.name] = ps.pos(f.val)
			switch f.name {
			case "type":
				s, _ := ps.scalar(f.val, what+": type")
				in.Type, hasType = Type(s), true
			case "path", "default":
				if val != nil {
					ps.errorf(ps.pos(f.key), "%s: give either \"path\" or \"default\", not both", what)
					in.broken = true
					continue
				}
				val, valKey = f.val, f.name
			case "description":
				ps.scalar(f.val, what+": description")
			default:
				ps.unknownKey(f, what, jobInputKeys)
			}
		}
		if !hasType {
			ps.errorf(in.Pos, "%s: missing required key \"type\"", what)
			in.broken = true
			return in
		}
		if declared != "" && in.Type != declared && in.Type.Valid() {
			ps.errorf(in.pos["type"], "%s: type mismatch: declared %s, but the job type expects %s", what, in.Type, declared)
			in.broken = true
			return in
		}
		if !in.Type.Valid() {
			ps.errorf(in.pos["type"], "%s: unknown type %q (known: %s)", what, string(in.Type), nameList(knownTypes))
			in.broken = true
			return in
		}
		if val == nil || isNull(deref(val)) {
			ps.errorf(in.Pos, "%s: missing \"path\" (or \"default\") giving its value", what)
			in.broken = true
			return in
		}
		if valKey == "path" && !in.Type.IsPath() {
			ps.errorf(ps.pos(val), "%s: \"path\" is only for uri_folder and uri_file; use \"default\"", what)
			in.broken = true
			return in
		}
		if _, ok := ps.scalar(val, what+": "+valKey); !ok {
			in.broken = true
			return in
		}
		ps.jobInputScalar(in, deref(val), in.Type, what)
	default:
		ps.errorf(ps.pos(v), "%s must be a binding, a literal value or {type: ..., path: ...}, not %s", what, kindName(v))
		in.broken = true
	}
	return in
}

func (ps *parser) jobInputScalar(in *JobInput, v *yaml.Node, declared Type, what string) {
	b, isB, off, msg := parseWholeBinding(v.Value)
	switch {
	case msg != "":
		ps.errorf(ps.offsetPos(v, off), "%s: %s", what, msg)
		in.broken = true
	case isB:
		b.Pos = ps.offsetPos(v, off)
		in.Binding = b
	case declared != "":
		val, msg := parseValue(declared, v.Value)
		if msg != "" {
			ps.errorf(ps.pos(v), "%s: %s", what, msg)
			in.broken = true
			return
		}
		in.Literal = &val
	default:
		val, _ := inferred(v)
		in.Literal = &val
	}
}

func (ps *parser) jobOutput(p *Pipeline, j *Job, e entry, what string) *JobOutput {
	out := &JobOutput{Name: e.name, Type: TypeURIFolder, Pos: ps.pos(e.key), pos: posTable{}}
	v := deref(e.val)
	switch {
	case v == nil || isNull(v):
	case v.Kind == yaml.ScalarNode && strings.Contains(v.Value, "${{"):
		// the Azure ML form: the job output feeds a pipeline output
		s := strings.TrimSpace(v.Value)
		pos := ps.offsetPos(v, strings.Index(v.Value, "${{"))
		var name string
		if strings.HasPrefix(s, "${{") && strings.HasSuffix(s, "}}") {
			parts := strings.Split(strings.TrimSpace(s[3:len(s)-2]), ".")
			if len(parts) == 3 && parts[0] == "parent" && parts[1] == "outputs" && refSegment(parts[2]) {
				name = parts[2]
			}
		}
		if name == "" {
			ps.errorf(pos, "%s: malformed binding %q: a job output may only be bound to ${{parent.outputs.NAME}}", what, s)
			break
		}
		po := p.Outputs[name]
		switch {
		case po == nil:
			ps.errorf(pos, "%s: unknown pipeline output %q in %s (outputs: %s)", what, name, s, nameList(p.OutputOrder))
		case po.Binding != nil:
			ps.errorf(pos, "%s: pipeline output %q is already bound to %s", what, name, po.Binding)
		default:
			po.Binding = &Binding{Kind: BindJobOutput, Job: j.Name, Name: e.name, Pos: pos}
			if po.Type != "" {
				out.Type = po.Type
			}
		}
	default:
		entries, _ := ps.mapping(v, what)
		for _, f := range entries {
			out.pos[f.name] = ps.pos(f.val)
			switch f.name {
			case "type":
				s, _ := ps.scalar(f.val, what+": type")
				out.Type = Type(s)
			case "name":
				out.DatasetName, _ = ps.scalar(f.val, what+": name")
			case "path":
				out.Path, _ = ps.scalar(f.val, what+": path")
			case "description":
				ps.scalar(f.val, what+": description")
			default:
				ps.unknownKey(f, what, jobOutKeys)
			}
		}
	}
	return out
}
