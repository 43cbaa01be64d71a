package spec

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// NodeKind says what a Node holds.
type NodeKind int

// The kinds of Node.
const (
	NodeNull   NodeKind = iota // an empty value (`key:` or `null`)
	NodeScalar                 // a single value: Node.Value
	NodeList                   // Node.Items
	NodeMap                    // Node.Fields, in file order
)

// Node is the structured value of a job key registered with RegisterJobBlock (the operator
// chain of a dataflow job, say): a YAML subtree with the position of every part, so that the
// package interpreting it can report "file:line:col" errors. Scalars keep their text; the
// interpreter decides their type. Nodes hold literal values only: a ${{...}} binding inside a
// block is reported by Parse.
type Node struct {
	Kind   NodeKind
	Value  string   // NodeScalar: the text
	Items  []*Node  // NodeList
	Fields []*Field // NodeMap, in file order, keys unique
	Pos    Pos
}

// Field is one key of a NodeMap.
type Field struct {
	Key    string
	KeyPos Pos
	Value  *Node
}

// Get returns the value of key in a NodeMap, or nil when n is not a map or has no such key.
func (n *Node) Get(key string) *Field {
	if n == nil || n.Kind != NodeMap {
		return nil
	}
	for _, f := range n.Fields {
		if f.Key == key {
			return f
		}
	}
	return nil
}

// KindName names n's kind for messages: "a mapping", "a list", "empty" or "the value \"x\"".
func (n *Node) KindName() string {
	switch {
	case n == nil || n.Kind == NodeNull:
		return "empty"
	case n.Kind == NodeList:
		return "a list"
	case n.Kind == NodeMap:
		return "a mapping"
	}
	return fmt.Sprintf("the value %q", n.Value)
}

// plain returns n as JSON-able Go values without positions: nil, string, []any, map[string]any.
func (n *Node) plain() any {
	switch {
	case n == nil || n.Kind == NodeNull:
		return nil
	case n.Kind == NodeScalar:
		return n.Value
	case n.Kind == NodeList:
		out := make([]any, len(n.Items))
		for i, c := range n.Items {
			out[i] = c.plain()
		}
		return out
	}
	out := make(map[string]any, len(n.Fields))
	for _, f := range n.Fields {
		out[f.Key] = f.Value.plain()
	}
	return out
}

// MarshalJSON writes the node's content without positions, map keys sorted: the same content
// gives the same bytes, whatever the layout of the file (the executor's cache key uses it).
func (n *Node) MarshalJSON() ([]byte, error) { return json.Marshal(n.plain()) }

// JobCheck checks a job of one type beyond what the registered keys' types say; it returns
// the problems found (use Job.KeyPos for their positions).
type JobCheck func(j *Job) ErrorList

var blocks = struct {
	keys   map[string]map[string]bool
	checks map[string][]JobCheck
}{keys: map[string]map[string]bool{}, checks: map[string][]JobCheck{}}

// RegisterJobBlock declares key as a structured key of job type jobType (registered with
// RegisterJobType): its value, any YAML mapping, list or scalar without bindings, is kept as a
// *Node in Job.Blocks for the package implementing the job type to interpret. Meant for init
// functions, like RegisterJobType; it panics on a reserved or invalid key name or one that is
// already a typed key of the job type.
func RegisterJobBlock(jobType, key string) {
	if jobType == "" || slices.Contains(baseJobKeys, key) || !validName(key) {
		panic(fmt.Sprintf("spec: RegisterJobBlock(%q, %q): empty type, or key reserved or not a valid name", jobType, key))
	}
	registry.Lock()
	defer registry.Unlock()
	if _, typed := registry.types[jobType][key]; typed {
		panic(fmt.Sprintf("spec: RegisterJobBlock(%q, %q): already a typed key", jobType, key))
	}
	if blocks.keys[jobType] == nil {
		blocks.keys[jobType] = map[string]bool{}
	}
	blocks.keys[jobType][key] = true
}

// RegisterJobCheck adds a check that Validate (and so Parse and Builder.Build) runs on every
// job of type jobType. Meant for init functions.
func RegisterJobCheck(jobType string, check JobCheck) {
	registry.Lock()
	defer registry.Unlock()
	blocks.checks[jobType] = append(blocks.checks[jobType], check)
}

// jobBlockKeys returns the structured keys of a job type, sorted.
func jobBlockKeys(jobType string) []string {
	registry.RLock()
	defer registry.RUnlock()
	return keysOf(blocks.keys[jobType])
}

func isBlockKey(jobType, key string) bool {
	registry.RLock()
	defer registry.RUnlock()
	return blocks.keys[jobType][key]
}

func jobChecks(jobType string) []JobCheck {
	registry.RLock()
	defer registry.RUnlock()
	return slices.Clone(blocks.checks[jobType])
}

// KeyPos returns the position of the value of one of the job's keys as written in its file
// ("command", "mini_batch_size", "retry.delay"...), or the job's own position when unknown.
func (j *Job) KeyPos(key string) Pos { return j.pos.at(key, j.Pos) }

// NewError returns an error at pos that wraps ErrInvalid, for JobCheck functions and for
// packages reporting problems found in a Node.
func NewError(pos Pos, format string, args ...any) *Error {
	return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

// Block sets a structured key of the job (see RegisterJobBlock) to n.
func (jb *JobBuilder) Block(key string, n *Node) *JobBuilder {
	if jb.j.Blocks == nil {
		jb.j.Blocks = map[string]*Node{}
	}
	if _, dup := jb.j.Blocks[key]; dup {
		jb.errs.add(Pos{}, "job %q: %q set twice", jb.j.Name, key)
		return jb
	}
	jb.j.Blocks[key] = n
	return jb
}

// ParseNode parses a YAML document into a Node (positions name file): for tests and for
// building Block values in code. A binding inside it is an error, as in a pipeline file.
func ParseNode(file string, data []byte) (n *Node, err error) {
	ps := &parser{file: file, src: data}
	defer func() {
		if r := recover(); r != nil {
			n, err = nil, ErrorList{{Pos: Pos{File: file}, Msg: fmt.Sprintf("internal error parsing: %v", r)}}
		}
	}()
	if strings.TrimSpace(string(data)) == "" {
		return &Node{Kind: NodeNull, Pos: Pos{File: file, Line: 1, Col: 1}}, nil
	}
	root := ps.decode()
	if err := ps.errs.err(); err != nil {
		return nil, err
	}
	budget := maxBlockNodes
	n = ps.block(root, "the document", 0, &budget)
	if err := ps.errs.err(); err != nil {
		return nil, err
	}
	return n, nil
}

// maxBlockNodes bounds the nodes of one block, aliases expanded (an alias bomb is an error).
const maxBlockNodes = 100000

// block converts a YAML subtree to a Node, reporting bindings, merge keys, duplicate keys,
// too deep nesting and too many nodes.
func (ps *parser) block(orig *yaml.Node, what string, depth int, budget *int) *Node {
	n := deref(orig)
	if n == nil || orig == nil {
		return &Node{Kind: NodeNull}
	}
	out := &Node{Pos: ps.pos(orig)}
	*budget--
	if *budget < 0 {
		if *budget == -1 {
			ps.errorf(out.Pos, "%s is too large (more than %d values, aliases expanded)", what, maxBlockNodes)
		}
		return &Node{Kind: NodeNull, Pos: out.Pos}
	}
	if depth > 64 {
		ps.errorf(out.Pos, "%s is nested too deeply", what)
		return &Node{Kind: NodeNull, Pos: out.Pos}
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if isNull(n) {
			out.Kind = NodeNull
			return out
		}
		if strings.Contains(n.Value, "${{") {
			ps.errorf(out.Pos, "%s: bindings (${{...}}) are not supported here; use literal values", what)
		}
		out.Kind, out.Value = NodeScalar, n.Value
	case yaml.SequenceNode:
		out.Kind = NodeList
		for i, c := range n.Content {
			out.Items = append(out.Items, ps.block(c, fmt.Sprintf("%s[%d]", what, i), depth+1, budget))
		}
	case yaml.MappingNode:
		out.Kind = NodeMap
		entries, _ := ps.mapping(n, what)
		for _, e := range entries {
			out.Fields = append(out.Fields, &Field{Key: e.name, KeyPos: ps.pos(e.key),
				Value: ps.block(e.val, what+"."+e.name, depth+1, budget)})
		}
	default:
		ps.errorf(out.Pos, "%s must be a value, a list or a mapping, not %s", what, kindName(n))
		out.Kind = NodeNull
	}
	return out
}

// allowedJobKeys lists the keys a job of type jobType may have, for messages.
func allowedJobKeys(jobType string, params map[string]Type) []string {
	return append(append(slices.Clone(baseJobKeys), keysOf(params)...), jobBlockKeys(jobType)...)
}
