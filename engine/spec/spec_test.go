package spec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file    string
		resolve bool   // the file parses; Resolve(nil) fails
		at      string // line:col of the error
		msg     string // the error's message, exactly
		count   int    // number of errors
	}{
		{"yaml_syntax.yaml", false, "6:1", "YAML syntax error: did not find expected key", 1},
		{"unknown_key.yaml", false, "5:5", `unknown key "comand" in job "a" of type "command" (allowed: code, command, compute, description, display_name, environment, environment_variables, inputs, outputs, retry, run_after, tags, timeout, type)`, 2},
		{"unknown_top_key.yaml", false, "2:1", `unknown key "job" in the pipeline (allowed: $schema, description, display_name, experiment_name, inputs, jobs, name, outputs, settings, tags, type)`, 2},
		{"unknown_param.yaml", false, "6:5", `unknown key "modle" in job "s" of type "score" (allowed: batch_size, code, command, compute, description, display_name, environment, environment_variables, format, inputs, labels, model, outputs, preprocess, retry, run_after, tags, timeout, topk, type)`, 1},
		{"unknown_job_in_binding.yaml", false, "9:22", `job "score": input "images": unknown job "prepp" in ${{parent.jobs.prepp.outputs.clean}} (jobs: prep, score)`, 1},
		{"unknown_output_in_binding.yaml", false, "10:15", `job "score": input "images": job "prep" has no output "cleaned" in ${{parent.jobs.prep.outputs.cleaned}} (outputs: clean)`, 1},
		{"unknown_input_in_binding.yaml", false, "9:10", `job "a": input "x": unknown pipeline input "imgs" in ${{parent.inputs.imgs}} (inputs: images)`, 1},
		{"malformed_binding.yaml", false, "9:10", `job "a": input "x": malformed binding ${{parent.input.images}}: want ${{parent.inputs.NAME}}, ${{parent.jobs.JOB.outputs.NAME}}, ${{inputs.NAME}} or ${{outputs.NAME}}`, 1},
		{"type_mismatch_default.yaml", false, "3:31", `input "n": default: "abc" is not an integer`, 1},
		{"type_mismatch_binding.yaml", false, "9:38", `job "a": input "data": type mismatch: pipeline input "n" is integer, but "data" is declared uri_folder`, 1},
		{"type_mismatch_retry.yaml", false, "6:27", `job "a": retry: max_attempts: "three" is not an integer`, 1},
		{"type_mismatch_setting.yaml", false, "3:29", `settings: continue_on_step_failure: "maybe" is not a boolean (want true or false)`, 1},
		{"type_mismatch_param.yaml", false, "6:17", `job "s": "batch_size": "lots" is not an integer`, 1},
		{"missing_required_input.yaml", true, "4:3", `required input "label" (string) has no value: set it with --set label=VALUE`, 1},
		{"missing_type.yaml", false, "3:3", `job "a": missing required key "type"`, 1},
		{"missing_command.yaml", false, "3:3", `job "a": missing required key "command"`, 1},
		{"missing_jobs.yaml", false, "1:1", `missing required key "jobs"`, 1},
		{"cycle.yaml", false, "3:3", "cycle: a -> b -> c -> a", 1},
		{"duplicate_job.yaml", false, "9:3", `duplicate key "a" in jobs (first at 3:3)`, 1},
		{"duplicate_output.yaml", false, "8:7", `duplicate key "o" in job "a": outputs (first at 7:7)`, 1},
		{"input_output_same_name.yaml", false, "6:14", `job "a": input "d": the job also has an output named "d"`, 1},
		{"unknown_input_in_command.yaml", false, "5:39", `job "a": command: unknown input "rw" in ${{inputs.rw}} (inputs: raw)`, 1},
		{"unknown_output_in_command.yaml", false, "5:25", `job "a": command: unknown output "result" in ${{outputs.result}} (outputs: out)`, 1},
		{"unknown_job_type.yaml", false, "4:11", `job "a": unknown job type "python" (known: command, dataflow, parallel, score, stylize, transfer)`, 1},
		{"run_after_unknown.yaml", false, "7:20", `job "b": run_after: unknown job "z" (jobs: a, b)`, 1},
		{"run_after_self.yaml", false, "6:17", `job "a": run_after names the job itself`, 1},
		{"invalid_name.yaml", false, "3:3", `job "1st": invalid name (want letters, digits, _ and -, not starting with a digit or -)`, 1},
		{"retry_zero.yaml", false, "7:21", `job "a": retry: max_attempts must be at least 1, not 0`, 1},
		{"negative_timeout.yaml", false, "6:14", `job "a": timeout must not be negative, not -5m0s`, 1},
		{"unknown_compute.yaml", false, "6:14", `job "a": unknown compute "azureml:cpu-cluster" (want local, local-gpu, databricks:NAME, hdinsight:NAME or adla:NAME)`, 1},
		{"wrong_kind.yaml", false, "3:3", `the pipeline's inputs must be a mapping, not a list`, 1},
		{"many_errors.yaml", false, "10:14", `job "a": timeout: "soon" is not a duration (want e.g. 30m, 1h30m, or a number of seconds)`, 4},
	}
	files, _ := filepath.Glob("testdata/invalid/*.yaml")
	if len(files) != len(tests) {
		t.Errorf("%d files in testdata/invalid, %d tests", len(files), len(tests))
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join("testdata", "invalid", tc.file)
			p, err := ParseFile(path)
			if tc.resolve {
				if err != nil {
					t.Fatalf("ParseFile: %v", err)
				}
				_, err = p.Resolve(nil)
			} else if p != nil {
				t.Errorf("ParseFile returned a pipeline with the error")
			}
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(err, ErrInvalid) = false for %v", err)
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error is a %T, not an ErrorList", err)
			}
			if len(list) != tc.count {
				t.Errorf("%d errors, want %d:\n%v", len(list), tc.count, err)
			}
			want := path + ":" + tc.at + ": " + tc.msg
			if !slices.Contains(strings.Split(err.Error(), "\n"), want) {
				t.Errorf("got\n%v\nwant a line\n%s", err, want)
			}
			if !slices.IsSortedFunc(list, func(a, b *Error) int {
				return a.Pos.Line*10000 + a.Pos.Col - b.Pos.Line*10000 - b.Pos.Col
			}) {
				t.Errorf("errors not sorted by position:\n%v", err)
			}
		})
	}
}

func TestManyErrorsAllReported(t *testing.T) {
	t.Parallel()
	_, err := ParseFile("testdata/invalid/many_errors.yaml")
	want := `testdata/invalid/many_errors.yaml:5:19: job "b": command: unknown input "nope" in ${{inputs.nope}} (inputs: none)
testdata/invalid/many_errors.yaml:6:17: job "b": run_after: unknown job "zz" (jobs: a, b)
testdata/invalid/many_errors.yaml:10:14: job "a": timeout: "soon" is not a duration (want e.g. 30m, 1h30m, or a number of seconds)
testdata/invalid/many_errors.yaml:11:5: unknown key "extra" in job "a" of type "command" (allowed: code, command, compute, description, display_name, environment, environment_variables, inputs, outputs, retry, run_after, tags, timeout, type)`
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
}

func TestParseSnippets(t *testing.T) {
	t.Parallel()
	const head = "name: p\njobs:\n  a:\n    type: command\n"
	tests := []struct {
		name, src, want string // want: "" for valid, else the whole error text
	}{
		{"empty", "", "x.yaml:1:1: empty pipeline file: want a mapping with at least \"jobs\""},
		{"scalar doc", "hello", `x.yaml:1:1: the pipeline file must be a mapping, not the value "hello"`},
		{"two docs", head + "    command: echo\n---\nname: q\n", "x.yaml:6:1: a pipeline file holds one YAML document; found a second one"},
		{"flow binding", "inputs: {n: 1}\njobs:\n  a: {type: command, command: echo ${{inputs.x}}, inputs: {x: ${{parent.inputs.m}}}}\n",
			`x.yaml:3:63: job "a": input "x": unknown pipeline input "m" in ${{parent.inputs.m}} (inputs: n)`},
		{"quoted command", head + `    command: "echo \"${{inputs.x}}\""` + "\n",
			`x.yaml:5:14: job "a": command: unknown input "x" in ${{inputs.x}} (inputs: none)`},
		{"single quoted", head + `    command: 'echo ${{inputs.x}}'` + "\n",
			`x.yaml:5:20: job "a": command: unknown input "x" in ${{inputs.x}} (inputs: none)`},
		{"literal block", head + "    command: |\n      echo one\n      echo ${{outputs.o}}\n",
			`x.yaml:7:12: job "a": command: unknown output "o" in ${{outputs.o}} (outputs: none)`},
		{"folded block", head + "    command: >\n      echo one\n      echo ${{outputs.o}}\n",
			`x.yaml:5:14: job "a": command: unknown output "o" in ${{outputs.o}} (outputs: none)`},
		{"unterminated in command", head + "    command: echo ${{inputs.x\n",
			`x.yaml:5:19: job "a": command: unterminated ${{ in command: missing }}`},
		{"parent in command", head + "    command: echo ${{parent.inputs.x}}\n",
			`x.yaml:5:19: job "a": command: ${{parent.inputs.x}} cannot appear in a command: use ${{inputs.NAME}} or ${{outputs.NAME}} and bind the job input`},
		{"partial binding", head + "    command: echo\n    inputs: {x: pre-${{parent.inputs.n}}}\n",
			`x.yaml:6:21: job "a": input "x": a binding must be the whole value, not part of "pre-${{parent.inputs.n}}"`},
		{"alias", "jobs:\n  a: {type: command, command: echo, environment_variables: &env {A: 1}}\n  b: {type: command, command: echo, environment_variables: *env}\n", ""},
		{"alias cmd", head + "    command: &c echo hi\n  b: {type: command, command: *c}\n", ""},
		{"list as job", "jobs:\n  a: [1, 2]\n", `x.yaml:2:6: job "a" must be a mapping, not a list`},
		{"map as command", head + "    command: {a: 1}\n", `x.yaml:5:14: job "a": command must be a single value, not a mapping`},
		{"run_after scalar", head + "    command: echo\n  b: {type: command, command: echo, run_after: a}\n", ""},
		{"bad delay", head + "    command: echo\n    retry: {delay: soon}\n",
			`x.yaml:6:20: job "a": retry: delay: "soon" is not a duration (want e.g. 2s, 1m, or a number of seconds)`},
		{"negative delay", head + "    command: echo\n    retry: {delay: -1}\n",
			`x.yaml:6:20: job "a": retry: delay must not be negative, not -1s`},
		{"output type", head + "    command: echo\n    outputs: {o: {type: integer}}\n",
			`x.yaml:6:25: job "a": output "o": type must be uri_folder or uri_file, not "integer"`},
		{"input type", "inputs: {n: {type: int}}\n" + head[8:] + "    command: echo\n",
			`x.yaml:1:20: input "n": unknown type "int" (known: boolean, integer, number, string, uri_file, uri_folder)`},
		{"input no type", "inputs: {n: {default: 3}}\n" + head[8:] + "    command: echo\n",
			`x.yaml:1:10: input "n": missing required key "type"`},
		{"path for integer", "inputs: {n: {type: integer, path: ./x}}\n" + head[8:] + "    command: echo\n",
			`x.yaml:1:35: input "n": "path" is only for uri_folder and uri_file inputs; use "default"`},
		{"bad env name", head + "    command: echo\n    environment_variables: {A-B: 1}\n",
			`x.yaml:6:29: job "a": invalid environment variable name "A-B"`},
		{"unknown pipeline output", head + "    command: echo\n    outputs: {o: ${{parent.outputs.final}}}\n",
			`x.yaml:6:18: job "a": output "o": unknown pipeline output "final" in ${{parent.outputs.final}} (outputs: none)`},
		{"pipeline output from job", "outputs: {final: {type: uri_folder}}\n" + head[8:] + "    command: echo\n    outputs: {o: ${{parent.outputs.final}}}\n", ""},
		{"pipeline output bad job", "outputs: {final: ${{parent.jobs.b.outputs.o}}}\n" + head[8:] + "    command: echo\n",
			`x.yaml:1:18: output "final": unknown job "b" in ${{parent.jobs.b.outputs.o}} (jobs: a)`},
		{"pipeline type", "type: command\n" + head[8:] + "    command: echo\n", `x.yaml:1:7: the pipeline's type must be "pipeline", not "command"`},
		{"merge key", "jobs:\n  b: &m {type: command, command: echo}\n  a:\n    <<: *m\n    command: echo\n",
			"x.yaml:3:3: job \"a\": missing required key \"type\"\nx.yaml:4:5: job \"a\": merge keys (<<) are not supported"},
		{"job input map without type", head + "    command: echo\n    inputs: {d: {path: ./d}}\n",
			`x.yaml:6:14: job "a": input "d": missing required key "type"`},
		{"param declared type", "jobs:\n  s: {type: score, model: {type: uri_folder, path: ./m}}\n",
			`x.yaml:2:34: job "s": "model": type mismatch: declared uri_folder, but the job type expects uri_file`},
		{"param bound to string ok", "inputs: {m: {type: string, default: ./m.onnx}}\njobs:\n  s: {type: score, model: ${{parent.inputs.m}}}\n", ""},
		{"param bound to bool", "inputs: {m: {type: boolean, default: true}}\njobs:\n  s: {type: score, batch_size: ${{parent.inputs.m}}}\n",
			`x.yaml:3:32: job "s": "batch_size": type mismatch: pipeline input "m" is boolean, but "batch_size" is declared integer`},
		{"self binding", head + "    command: echo\n    inputs: {x: ${{parent.jobs.a.outputs.o}}}\n    outputs: {o: }\n",
			"x.yaml:3:3: cycle: a -> a"},
		{"job input null", head + "    command: echo\n    inputs: {x: }\n", `x.yaml:6:14: job "a": input "x" has no value`},
		{"tab", "jobs:\n\ta: 1\n", "x.yaml:2:1: YAML syntax error: found character that cannot start any token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse("x.yaml", []byte(tc.src))
			got := ""
			if err != nil {
				got = err.Error()
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("not ErrInvalid: %v", err)
				}
			}
			if got != tc.want {
				t.Errorf("got\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

func TestParseValid(t *testing.T) {
	t.Parallel()
	p, err := ParseFile("testdata/valid/score.yaml")
	if err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs("testdata/valid")
	pos := func(line, col int) Pos { return Pos{File: "testdata/valid/score.yaml", Line: line, Col: col} }
	check := func(what string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", what, got, want)
		}
	}
	check("Name", p.Name, "score-images")
	check("Dir", p.Dir, abs)
	check("Description", p.Description, "Batch scoring of an image folder")
	check("InputOrder", p.InputOrder, []string{"images", "batch_size", "label", "flag", "threshold"})
	check("images", *p.Inputs["images"].Default, Value{Type: TypeURIFolder, Str: "./sample/images"})
	check("images.Pos", p.Inputs["images"].Pos, pos(6, 3))
	check("batch_size", *p.Inputs["batch_size"].Default, Value{Type: TypeInteger, Int: 16})
	check("label.Default", p.Inputs["label"].Default, (*Value)(nil))
	check("flag", []any{p.Inputs["flag"].Optional, p.Inputs["flag"].Description, *p.Inputs["flag"].Default},
		[]any{true, "a flag", Value{Type: TypeBoolean}})
	check("threshold", []any{p.Inputs["threshold"].Type, *p.Inputs["threshold"].Default},
		[]any{TypeNumber, Value{Type: TypeNumber, Float: 0.5}})
	final := p.Outputs["final"]
	check("final", []any{final.Name, final.Type, final.Pos, final.Binding}, []any{"final", TypeURIFolder, pos(12, 3),
		&Binding{Kind: BindJobOutput, Job: "score", Name: "predictions", Pos: pos(12, 10)}})
	check("Settings", p.Settings, Settings{DefaultCompute: "local"})
	check("JobOrder", p.JobOrder, []string{"prep", "score", "report"})

	prep := p.Jobs["prep"]
	check("prep.Type", prep.Type, "command")
	check("prep.Code", prep.Code, "./steps/prep")
	check("prep.Compute", prep.Compute, "local-gpu")
	check("prep.Env", prep.Env, map[string]string{"FOO": "bar", "N": "3"})
	check("prep.Retry", prep.Retry, Retry{MaxAttempts: 3, Delay: 2 * time.Second})
	check("prep.Timeout", prep.Timeout, 30*time.Minute)
	check("prep.InputOrder", prep.InputOrder, []string{"raw", "n", "other", "tag"})
	check("prep.raw", prep.Inputs["raw"].Binding, &Binding{Kind: BindParentInput, Name: "images", Pos: pos(23, 12)})
	check("prep.n", prep.Inputs["n"].Literal, &Value{Type: TypeInteger, Int: 3})
	check("prep.other", []any{prep.Inputs["other"].Type, prep.Inputs["other"].Literal},
		[]any{TypeURIFolder, &Value{Type: TypeURIFolder, Str: "./data"}})
	check("prep.clean", *prep.Outputs["clean"], JobOutput{Name: "clean", Type: TypeURIFolder, DatasetName: "clean-images", Pos: pos(28, 7), pos: prep.Outputs["clean"].pos})
	check("prep.Command.Pos", prep.Command.Pos, pos(20, 14))
	check("prep.Command.Parts", prep.Command.Parts, []TemplatePart{
		{Text: "./prep.sh "},
		{Ref: &Binding{Kind: BindInput, Name: "raw", Pos: pos(20, 24)}},
		{Text: " "},
		{Ref: &Binding{Kind: BindOutput, Name: "clean", Pos: pos(20, 40)}},
		{Text: " --n "},
		{Ref: &Binding{Kind: BindInput, Name: "n", Pos: pos(20, 63)}},
	})
	expanded := prep.Command.Expand(func(b *Binding) string { return "<" + b.Name + ">" })
	check("Expand", expanded, "./prep.sh <raw> <clean> --n <n>")

	score := p.Jobs["score"]
	check("score.Params.model", score.Params["model"].Literal, &Value{Type: TypeURIFile, Str: "./models/classifier.onnx"})
	check("score.Params.model.Type", score.Params["model"].Type, TypeURIFile)
	check("score.Params.batch_size", score.Params["batch_size"].Binding, &Binding{Kind: BindParentInput, Name: "batch_size", Pos: pos(37, 17)})
	check("score.images", score.Inputs["images"].Binding, &Binding{Kind: BindJobOutput, Job: "prep", Name: "clean", Pos: pos(34, 22)})
	check("score.Compute", score.Compute, "databricks:gpu-cluster")
	check("score.RunAfter", score.RunAfter, []string{"prep"})
	check("score.Timeout", score.Timeout, 90*time.Second)
	check("score.Retry", score.Retry, Retry{MaxAttempts: 2, Delay: 1500 * time.Millisecond})

	report := p.Jobs["report"]
	check("report.Command.Raw", report.Command.Raw, "echo scored\ncat ${{inputs.preds}}/*.txt > ${{outputs.summary}}/all.txt\n")
	check("report.preds.Pos", report.Command.Parts[1].Ref.Pos, pos(48, 11))
	check("report.summary", report.Outputs["summary"].Type, TypeURIFolder)
	check("report.Retry", report.Retry, Retry{MaxAttempts: 1})

	check("TopoOrder", p.TopoOrder(), []string{"prep", "score", "report"})
	check("Upstream(report)", p.Upstream("report"), []string{"score"})

	vals, err := p.Resolve(map[string]string{"label": "cats", "batch_size": "1e3"})
	if err != nil {
		t.Fatal(err)
	}
	check("Resolve", vals, map[string]Value{
		"images":     {Type: TypeURIFolder, Str: "./sample/images"},
		"batch_size": {Type: TypeInteger, Int: 1000},
		"label":      {Type: TypeString, Str: "cats"},
		"flag":       {Type: TypeBoolean},
		"threshold":  {Type: TypeNumber, Float: 0.5},
	})
	v, ok := score.Params["batch_size"].Value(vals)
	check("JobInput.Value", []any{v, ok}, []any{Value{Type: TypeInteger, Int: 1000}, true})
}

func TestParseAllValid(t *testing.T) {
	t.Parallel()
	files, _ := filepath.Glob("testdata/valid/*.yaml")
	for _, f := range files {
		if _, err := ParseFile(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if _, err := ParseFile("testdata/valid/nope.yaml"); err == nil || errors.Is(err, ErrInvalid) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	p, err := ParseFile("testdata/valid/minimal.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "minimal" || p.Settings.DefaultCompute != "local" {
		t.Errorf("defaults: name %q compute %q", p.Name, p.Settings.DefaultCompute)
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	src := `name: r
inputs:
  s: {type: string}
  i: {type: integer, default: 1}
  f: {type: number, default: 2.5}
  b: {type: boolean, default: false}
  d: {type: uri_folder, path: ./d}
  o: {type: uri_file, optional: true}
jobs:
  a: {type: command, command: echo}
`
	p, err := Parse("r.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		set  map[string]string
		want map[string]Value
		err  string
	}{
		{"defaults", map[string]string{"s": "x"}, map[string]Value{
			"s": {Type: TypeString, Str: "x"}, "i": {Type: TypeInteger, Int: 1}, "f": {Type: TypeNumber, Float: 2.5},
			"b": {Type: TypeBoolean}, "d": {Type: TypeURIFolder, Str: "./d"}}, ""},
		{"all set", map[string]string{"s": "", "i": "-7", "f": "1e3", "b": "TRUE", "d": "/data", "o": "f.txt"}, map[string]Value{
			"s": {Type: TypeString}, "i": {Type: TypeInteger, Int: -7}, "f": {Type: TypeNumber, Float: 1000},
			"b": {Type: TypeBoolean, Bool: true}, "d": {Type: TypeURIFolder, Str: "/data"}, "o": {Type: TypeURIFile, Str: "f.txt"}}, ""},
		{"integer as float", map[string]string{"s": "x", "i": "2e2"}, nil, ""},
		{"missing required", nil, nil, `r.yaml:3:3: required input "s" (string) has no value: set it with --set s=VALUE`},
		{"unknown", map[string]string{"s": "x", "zz": "1"}, nil, `r.yaml: --set zz=1: the pipeline has no input "zz" (inputs: b, d, f, i, o, s)`},
		{"bad int", map[string]string{"s": "x", "i": "1.5"}, nil, `r.yaml:4:3: --set i=1.5: input "i" is integer: "1.5" is not an integer`},
		{"bad float", map[string]string{"s": "x", "f": "NaN"}, nil, `r.yaml:5:3: --set f=NaN: input "f" is number: "NaN" is not a number`},
		{"bad bool", map[string]string{"s": "x", "b": "maybe"}, nil, `r.yaml:6:3: --set b=maybe: input "b" is boolean: "maybe" is not a boolean (want true or false)`},
		{"empty path", map[string]string{"s": "x", "d": ""}, nil, `r.yaml:7:3: --set d=: input "d" is uri_folder: empty path for a uri_folder`},
		{"two errors", map[string]string{"i": "x"}, nil, "r.yaml:3:3: required input \"s\" (string) has no value: set it with --set s=VALUE\n" +
			`r.yaml:4:3: --set i=x: input "i" is integer: "x" is not an integer`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := p.Resolve(tc.set)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err || !errors.Is(err, ErrInvalid) {
					t.Errorf("error\n%v\nwant\n%s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.want != nil && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestGraph(t *testing.T) {
	t.Parallel()
	p, err := ParseFile("testdata/valid/diamond.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := p.TopoOrder(), []string{"e", "a", "c", "b", "d"}; !slices.Equal(got, want) {
		t.Errorf("TopoOrder = %v, want %v", got, want)
	}
	for job, want := range map[string][]string{"a": nil, "b": {"a"}, "c": {"a"}, "d": {"b", "c"}, "e": nil, "zz": nil} {
		if got := p.Upstream(job); !slices.Equal(got, want) {
			t.Errorf("Upstream(%s) = %v, want %v", job, got, want)
		}
	}
	// the same diamond built in code, in another order, gives the same dependencies
	b, err := New("diamond").
		Job(Command("a", "echo a > ${{outputs.out}}/a").Out("out", TypeURIFolder)).
		Job(Command("b", "echo b > ${{outputs.out}}/b").Out("out", TypeURIFolder).After("a")).
		Job(Command("c", "cp -r ${{inputs.src}} ${{outputs.out}}").In("src", FromJob("a", "out")).Out("out", TypeURIFolder)).
		Job(Command("d", "cat ${{inputs.left}} ${{inputs.right}}").In("left", FromJob("b", "out")).In("right", FromJob("c", "out"))).
		Job(Command("e", "echo independent")).
		Build(".")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := b.TopoOrder(), []string{"a", "b", "c", "d", "e"}; !slices.Equal(got, want) {
		t.Errorf("built TopoOrder = %v, want %v", got, want)
	}
	if got := b.Upstream("d"); !slices.Equal(got, []string{"b", "c"}) {
		t.Errorf("built Upstream(d) = %v", got)
	}
}

// normalize clears what only parsing records (positions, the file), for comparisons.
func normalize(p *Pipeline) *Pipeline {
	q := *p
	q.File, q.Pos, q.pos = "", Pos{}, nil
	clearIn := func(in *JobInput) {
		in.Pos, in.pos = Pos{}, nil
		if in.Binding != nil {
			in.Binding.Pos = Pos{}
		}
	}
	for _, in := range q.Inputs {
		in.Pos, in.pos = Pos{}, nil
	}
	for _, o := range q.Outputs {
		o.Pos, o.pos = Pos{}, nil
		if o.Binding != nil {
			o.Binding.Pos = Pos{}
		}
	}
	for _, j := range q.Jobs {
		j.Pos, j.pos = Pos{}, nil
		for _, in := range j.Inputs {
			clearIn(in)
		}
		for _, in := range j.Params {
			clearIn(in)
		}
		for _, o := range j.Outputs {
			o.Pos, o.pos = Pos{}, nil
		}
		if j.Command != nil {
			j.Command.Pos = Pos{}
			for _, part := range j.Command.Parts {
				if part.Ref != nil {
					part.Ref.Pos = Pos{}
				}
			}
		}
	}
	return &q
}

func TestBuilderEqualsParse(t *testing.T) {
	t.Parallel()
	parsed, err := ParseFile("testdata/valid/score.yaml")
	if err != nil {
		t.Fatal(err)
	}
	built, err := New("score-images").
		Description("Batch scoring of an image folder").
		Input("images", TypeURIFolder, Path("./sample/images")).
		Input("batch_size", TypeInteger, Int(16)).
		Input("label", TypeString).
		Input("flag", TypeBoolean, Bool(false), Optional(), Describe("a flag")).
		Input("threshold", TypeNumber, Float(0.5)).
		Output("final", FromJob("score", "predictions")).
		DefaultCompute("local").
		ContinueOnStepFailure(false).
		Job(Command("prep", "./prep.sh ${{inputs.raw}} ${{outputs.clean}} --n ${{ inputs.n }}").
			Code("./steps/prep").
			Env("FOO", "bar").Env("N", "3").
			In("raw", FromInput("images")).
			In("n", Int(3)).
			In("other", Path("./data")).
			In("tag", FromInput("label")).
			OutDataset("clean", TypeURIFolder, "clean-images").
			Compute("local-gpu").
			Retry(3, 2*time.Second).
			Timeout(30 * time.Minute)).
		Job(NewJob("score", "score").
			In("images", FromJob("prep", "clean")).
			Out("predictions", TypeURIFolder).
			Param("model", Str("./models/classifier.onnx")).
			Param("batch_size", FromInput("batch_size")).
			Compute("databricks:gpu-cluster").
			After("prep").
			Timeout(90*time.Second).
			Retry(2, 1500*time.Millisecond)).
		Job(Command("report", "echo scored\ncat ${{inputs.preds}}/*.txt > ${{outputs.summary}}/all.txt\n").
			In("preds", FromJob("score", "predictions")).
			Out("summary", TypeURIFolder)).
		Build("testdata/valid")
	if err != nil {
		t.Fatal(err)
	}
	a, b := normalize(parsed), normalize(built)
	if !reflect.DeepEqual(a, b) {
		for _, name := range a.JobOrder {
			if !reflect.DeepEqual(a.Jobs[name], b.Jobs[name]) {
				t.Errorf("job %s differs:\nparsed %+v\nbuilt  %+v", name, *a.Jobs[name], *b.Jobs[name])
			}
		}
		a.Jobs, b.Jobs = nil, nil
		t.Errorf("pipelines differ:\nparsed %+v\nbuilt  %+v", *a, *b)
	}
}

func TestBuilderErrors(t *testing.T) {
	t.Parallel()
	_, err := New("p").
		Input("x", TypeInteger, Str("nope")).
		Input("x", TypeString).
		Job(Command("a", "echo ${{inputs.q}} ${{parent.inputs.x}}").
			In("i", FromInput("missing")).
			In("i", Int(1)).
			Out("o", TypeInteger).
			Retry(0, -time.Second).
			Timeout(-time.Second).
			After("a", "ghost")).
		Job(NewJob("s", "score").Param("batch_size", Str("ten")).Param("nope", Int(1))).
		Job(Command("a", "again")).
		Build("")
	want := `<code>: input "x" declared twice
<code>: input "x": the default is a string value, but the input is integer
<code>: job "a" declared twice
<code>: job "a": command: ${{parent.inputs.x}} cannot appear in a command: use ${{inputs.NAME}} or ${{outputs.NAME}} and bind the job input
<code>: job "a": command: unknown input "q" in ${{inputs.q}} (inputs: i)
<code>: job "a": input "i" declared twice
<code>: job "a": input "i": unknown pipeline input "missing" in ${{parent.inputs.missing}} (inputs: x)
<code>: job "a": output "o": type must be uri_folder or uri_file, not "integer"
<code>: job "a": retry: delay must not be negative, not -1s
<code>: job "a": retry: max_attempts must be at least 1, not 0
<code>: job "a": run_after names the job itself
<code>: job "a": run_after: unknown job "ghost" (jobs: a, s)
<code>: job "a": timeout must not be negative, not -1s
<code>: job "s": "batch_size": "ten" is not an integer
<code>: unknown key "nope" in job "s" of type "score" (allowed: batch_size, code, command, compute, description, display_name, environment, environment_variables, format, inputs, labels, model, outputs, preprocess, retry, run_after, tags, timeout, topk, type)`
	if err == nil || err.Error() != want || !errors.Is(err, ErrInvalid) {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
}

func TestRegisterJobType(t *testing.T) {
	// not parallel: changes the registry; parallel tests run after it, once it is undone
	defer func() {
		registry.Lock()
		delete(registry.types, "testonly")
		registry.Unlock()
	}()
	RegisterJobType("testonly", map[string]Type{"k": TypeInteger})
	RegisterJobType("testonly", map[string]Type{"j": TypeString})
	params, ok := JobTypeParams("testonly")
	if !ok || !reflect.DeepEqual(params, map[string]Type{"k": TypeInteger, "j": TypeString}) {
		t.Errorf("JobTypeParams = %v, %v", params, ok)
	}
	p, err := Parse("x.yaml", []byte("jobs:\n  t: {type: testonly, k: 2e1, j: hi}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Jobs["t"].Params["k"].Literal; *got != (Value{Type: TypeInteger, Int: 20}) {
		t.Errorf("k = %v", got)
	}
	for _, bad := range []func(){
		func() { RegisterJobType("", nil) },
		func() { RegisterJobType("x", map[string]Type{"inputs": TypeString}) },
		func() { RegisterJobType("x", map[string]Type{"k": "float"}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			bad()
		}()
	}
}

func TestBindingsAndValues(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want string // Binding.String(), "literal", or "error"
	}{
		{"${{parent.inputs.x}}", "${{parent.inputs.x}}"},
		{"  ${{ parent.jobs.a-b.outputs.o_1 }} ", "${{parent.jobs.a-b.outputs.o_1}}"},
		{"${{inputs.x}}", "${{inputs.x}}"},
		{"${{outputs.y}}", "${{outputs.y}}"},
		{"plain", "literal"},
		{"${{parent.inputs}}", "error"},
		{"${{parent.inputs.x.y}}", "error"},
		{"${{parent.inputs.x}", "error"},
		{"${{parent.inputs.x}}${{parent.inputs.y}}", "error"},
		{"${{}}", "error"},
		{"${{parent..x}}", "error"},
	} {
		b, ok, err := ParseBinding(tc.in)
		got := "literal"
		switch {
		case err != nil:
			got = "error"
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%q: not ErrInvalid", tc.in)
			}
		case ok:
			got = b.String()
		}
		if got != tc.want {
			t.Errorf("ParseBinding(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct {
		t    Type
		in   string
		want string // Value.String() or "error"
	}{
		{TypeInteger, "42", "42"}, {TypeInteger, "1e3", "1000"}, {TypeInteger, " -3 ", "-3"},
		{TypeInteger, "1.5", "error"}, {TypeInteger, "1e30", "error"}, {TypeInteger, "0x10", "error"},
		{TypeNumber, "2.5", "2.5"}, {TypeNumber, "1e3", "1000"}, {TypeNumber, "Inf", "error"},
		{TypeBoolean, "True", "true"}, {TypeBoolean, "no", "false"}, {TypeBoolean, "2", "error"},
		{TypeString, "", ""}, {TypeURIFile, "a.txt", "a.txt"}, {TypeURIFolder, " ", "error"}, {"float", "1", "error"},
	} {
		v, err := ParseValue(tc.t, tc.in)
		got := v.String()
		if err != nil {
			got = "error"
		}
		if got != tc.want {
			t.Errorf("ParseValue(%s, %q) = %s, want %s", tc.t, tc.in, got, tc.want)
		}
	}
}

func TestErrorFormat(t *testing.T) {
	t.Parallel()
	l := ErrorList{{Pos: Pos{File: "f", Line: 2, Col: 3}, Msg: "b"}, {Pos: Pos{}, Msg: "a"}}
	if got := l.Error(); got != "f:2:3: b\n<code>: a" {
		t.Errorf("Error() = %q", got)
	}
	if !errors.Is(l, ErrInvalid) || !errors.Is(l[0], ErrInvalid) {
		t.Error("not ErrInvalid")
	}
	if err := (ErrorList{}).err(); err != nil {
		t.Errorf("empty list err = %v", err)
	}
	wrapped := fmt.Errorf("run: %w", l.err())
	var got ErrorList
	if !errors.As(wrapped, &got) || len(got) != 2 || got[0].Msg != "a" {
		t.Errorf("sorted list = %v", got)
	}
}

func TestTypedBindings(t *testing.T) {
	t.Parallel()
	_, err := New("p").
		Input("n", TypeInteger, Int(1)).
		Input("s", TypeString, Str("./x")).
		Input("f", TypeNumber, Int(2)).
		Job(Command("a", "echo > ${{outputs.o}}").Out("o", TypeURIFolder)).
		Job(Command("b", "echo").
			In("folder_from_int", Typed(TypeURIFolder, FromInput("n"))).
			In("folder_from_string", Typed(TypeURIFolder, FromInput("s"))).
			In("number_from_int", Typed(TypeNumber, FromInput("n"))).
			In("int_from_number", Typed(TypeInteger, FromInput("f"))).
			In("file_from_folder", Typed(TypeURIFile, FromJob("a", "o"))).
			In("int_from_folder", Typed(TypeInteger, FromJob("a", "o"))).
			In("none", Typed(TypeString, nil))).
		Output("out", FromJob("a", "o")).
		Output("bad", FromInput("n")).
		ForceRerun(true).
		Build("")
	want := `<code>: job "b": input "file_from_folder": type mismatch: output "o" of job "a" is uri_folder, but "file_from_folder" is declared uri_file
<code>: job "b": input "folder_from_int": type mismatch: pipeline input "n" is integer, but "folder_from_int" is declared uri_folder
<code>: job "b": input "int_from_number": type mismatch: pipeline input "f" is number, but "int_from_number" is declared integer
<code>: job "b": input "none" has no value
<code>: output "bad": a pipeline output must be bound to a job output ${{parent.jobs.JOB.outputs.NAME}}, not ${{parent.inputs.n}}`
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
}

func TestCompatible(t *testing.T) {
	t.Parallel()
	ok := map[[2]Type]bool{
		{TypeInteger, TypeNumber}: true, {TypeNumber, TypeInteger}: false, {TypeBoolean, TypeString}: true,
		{TypeString, TypeBoolean}: false, {TypeURIFolder, TypeInteger}: true, {TypeInteger, TypeURIFile}: false,
		{TypeString, TypeURIFile}: true, {TypeURIFile, TypeURIFolder}: false, {TypeURIFile, ""}: true,
	}
	for pair, want := range ok {
		if got := compatible(pair[0], pair[1]); got != want {
			t.Errorf("compatible(%s, %s) = %v, want %v", pair[0], pair[1], got, want)
		}
	}
}
