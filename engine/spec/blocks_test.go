package spec

import (
	"errors"
	"strings"
	"testing"
)

// withBlockType registers the job type "blocktest" with an integer key n, the structured key
// ops and a check, and undoes it at the end of the test (so the test must not be parallel).
func withBlockType(t *testing.T) {
	t.Helper()
	RegisterJobType("blocktest", map[string]Type{"n": TypeInteger})
	RegisterJobBlock("blocktest", "ops")
	RegisterJobCheck("blocktest", func(j *Job) ErrorList {
		if j.Blocks["ops"] == nil {
			return ErrorList{NewError(j.Pos, "job %q: missing required key \"ops\"", j.Name)}
		}
		if n := j.Params["n"]; n != nil && n.Literal != nil && n.Literal.Int < 0 {
			return ErrorList{NewError(j.KeyPos("n"), "job %q: n must not be negative", j.Name)}
		}
		return nil
	})
	t.Cleanup(func() {
		registry.Lock()
		defer registry.Unlock()
		delete(registry.types, "blocktest")
		delete(blocks.keys, "blocktest")
		delete(blocks.checks, "blocktest")
	})
}

func TestJobBlocks(t *testing.T) {
	withBlockType(t)
	src := `jobs:
  a:
    type: blocktest
    n: 3
    ops:
      - {op: read}
      - op: command
        run: ./x.sh --flag
        args: [1, "two", null]
`
	p, err := Parse("b.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	ops := p.Jobs["a"].Blocks["ops"]
	if ops == nil || ops.Kind != NodeList || len(ops.Items) != 2 {
		t.Fatalf("ops = %#v", ops)
	}
	second := ops.Items[1]
	if f := second.Get("run"); f == nil || f.Value.Value != "./x.sh --flag" || f.Value.Pos.String() != "b.yaml:8:14" {
		t.Errorf("run = %+v", f)
	}
	if f := second.Get("op"); f.KeyPos.String() != "b.yaml:7:9" {
		t.Errorf("op key at %s", f.KeyPos)
	}
	args := second.Get("args").Value
	if args.Kind != NodeList || args.Items[2].Kind != NodeNull || args.Items[0].Value != "1" {
		t.Errorf("args = %#v", args)
	}
	b, _ := ops.MarshalJSON()
	if want := `[{"op":"read"},{"args":["1","two",null],"op":"command","run":"./x.sh --flag"}]`; string(b) != want {
		t.Errorf("JSON = %s, want %s", b, want)
	}
	// Another layout of the same content marshals the same.
	p2, err := Parse("b.yaml", []byte("jobs:\n  a: {type: blocktest, ops: [{op: read}, {run: ./x.sh --flag, op: command, args: [1, two, ~]}]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if b2, _ := p2.Jobs["a"].Blocks["ops"].MarshalJSON(); string(b2) != string(b) {
		t.Errorf("JSON of the flow form = %s", b2)
	}
	if err := p.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
}

func TestJobBlockErrors(t *testing.T) {
	withBlockType(t)
	for _, tc := range []struct{ src, want string }{
		{"jobs:\n  a: {type: blocktest}\n", `b.yaml:2:3: job "a": missing required key "ops"`},
		{"jobs:\n  a: {type: blocktest, ops: [], n: -1}\n", `b.yaml:2:36: job "a": n must not be negative`},
		{"jobs:\n  a:\n    type: blocktest\n    ops:\n      - x: ${{parent.inputs.y}}\n",
			`b.yaml:5:12: job "a": ops[0].x: bindings (${{...}}) are not supported here; use literal values`},
		{"jobs:\n  a:\n    type: blocktest\n    ops: {a: 1, a: 2}\n", `b.yaml:4:17: duplicate key "a" in job "a": ops (first at 4:11)`},
		{"jobs:\n  a:\n    type: blocktest\n    ops: []\n    opz: 1\n",
			`b.yaml:5:5: unknown key "opz" in job "a" of type "blocktest" (allowed: code, command, compute, description, display_name, environment, environment_variables, inputs, n, ops, outputs, retry, run_after, tags, timeout, type)`},
		{"jobs:\n  a:\n    type: command\n    command: x\n    ops: []\n",
			`b.yaml:5:5: unknown key "ops" in job "a" of type "command"`},
	} {
		_, err := Parse("b.yaml", []byte(tc.src))
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q:\n got %v\nwant %s", tc.src, err, tc.want)
		}
	}
}

func TestJobBlockBuilder(t *testing.T) {
	withBlockType(t)
	ops, err := ParseNode("ops.yaml", []byte("- {op: read}\n"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := New("p").Job(NewJob("a", "blocktest").Block("ops", ops)).Build("")
	if err != nil {
		t.Fatal(err)
	}
	if p.Jobs["a"].Blocks["ops"] != ops {
		t.Error("block not kept")
	}
	_, err = New("p").Job(NewJob("a", "blocktest")).Build("")
	if err == nil || !strings.Contains(err.Error(), `<code>: job "a": missing required key "ops"`) {
		t.Errorf("err = %v", err)
	}
	_, err = New("p").Job(NewJob("a", "command").CommandLine("x").Block("ops", ops)).Build("")
	if err == nil || !strings.Contains(err.Error(), `unknown key "ops" in job "a" of type "command"`) {
		t.Errorf("err = %v", err)
	}
}

func TestParseNode(t *testing.T) {
	n, err := ParseNode("n.yaml", []byte(""))
	if err != nil || n.Kind != NodeNull {
		t.Errorf("empty: %v, %v", n, err)
	}
	// An alias bomb is refused, not expanded.
	bomb := "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n" +
		"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
	if _, err := ParseNode("n.yaml", []byte(bomb)); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("alias bomb: %v", err)
	}
	if _, err := ParseNode("n.yaml", []byte("a: [")); err == nil || !errors.Is(err, ErrInvalid) {
		t.Errorf("syntax error: %v", err)
	}
}
