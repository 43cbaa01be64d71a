package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ml/sluice/server"
	"github.com/sluice-ml/sluice/server/api"
	"github.com/sluice-ml/sluice/store/state"
)

// stack is a server on a fresh workspace, served over loopback.
type stack struct {
	t     *testing.T
	root  string
	ws    *state.Workspace
	srv   *server.Server
	http  *httptest.Server
	token string
	doc   map[string]any
	c     *http.Client
}

type stackOpts struct {
	workers int
	maxBody int64
}

func newStack(t *testing.T, o stackOpts) *stack {
	t.Helper()
	root := t.TempDir()
	ws, err := state.Open(context.Background(), filepath.Join(root, ".sluice"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Workspace: ws, Root: root, Workers: o.workers, MaxBodyBytes: o.maxBody,
		Grace: 50 * time.Millisecond, MaxParallel: 2})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	tok, _, err := ws.CreateToken(context.Background(), "test", state.ScopeWrite)
	if err != nil {
		t.Fatal(err)
	}
	s := &stack{t: t, root: root, ws: ws, srv: srv, http: hs, token: tok,
		c: &http.Client{Transport: &http.Transport{MaxConnsPerHost: 32, MaxIdleConnsPerHost: 32}}}
	if err := json.Unmarshal(api.OpenAPI, &s.doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	t.Cleanup(func() {
		hs.Close()
		// Release gates so that executing steps end, then stop the workers.
		_ = os.WriteFile(filepath.Join(root, "gate"), nil, 0o644)
		cancel()
		_ = srv.Stop()
		ws.Close()
	})
	return s
}

// gatedYAML: step "wait" waits for the file named by the gate input, "report" writes n.
const gatedYAML = `name: gated
inputs:
  gate: {type: string, default: ""}
  n: {type: integer, default: 1}
jobs:
  wait:
    type: command
    command: while [ -n ${{inputs.gate}} ] && [ ! -e ${{inputs.gate}} ]; do sleep 0.1; done; echo waited > ${{outputs.out}}/w.txt
    inputs: {gate: ${{parent.inputs.gate}}}
    outputs: {out: {type: uri_folder}}
  report:
    type: command
    command: cat ${{inputs.w}}/w.txt > ${{outputs.out}}/n.txt; echo n=${{inputs.n}} >> ${{outputs.out}}/n.txt; echo reported n=${{inputs.n}}
    inputs: {w: ${{parent.jobs.wait.outputs.out}}, n: ${{parent.inputs.n}}}
    outputs: {out: {type: uri_folder}}
`

type resp struct {
	code int
	body []byte
	hdr  http.Header
}

func (r resp) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("answer %d is not JSON: %v\n%s", r.code, err, r.body)
	}
}

// do sends a request as the stack's token (tok "" sends none) and checks the answer against the
// OpenAPI document's description of pattern (the route) for its status code.
func (s *stack) do(method, pattern, path string, body any, tok string, hdr ...string) resp {
	s.t.Helper()
	r, err := s.send(method, path, body, tok, hdr...)
	if err != nil {
		s.t.Fatal(err)
	}
	if err := checkAnswer(s.doc, method, pattern, r); err != nil {
		s.t.Fatalf("%s %s: answer %d does not match openapi.json: %v\n%s", method, path, r.code, err, r.body)
	}
	return r
}

func (s *stack) send(method, path string, body any, tok string, hdr ...string) (resp, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return resp{}, err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.http.URL+path, rd)
	if err != nil {
		return resp{}, err
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := s.c.Do(req)
	if err != nil {
		return resp{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return resp{code: res.StatusCode, body: b, hdr: res.Header}, err
}

func (s *stack) publish(name, version, yaml string) {
	s.t.Helper()
	r := s.do("POST", "/api/v1/pipelines", "/api/v1/pipelines",
		map[string]any{"name": name, "version": version, "description": "test " + name, "yaml": yaml}, s.token)
	if r.code != http.StatusCreated {
		s.t.Fatalf("publish: %d %s", r.code, r.body)
	}
}

// waitRun polls a run until cond holds (no deadline of its own: the test's timeout bounds it).
func (s *stack) waitRun(id string, cond func(api.RunJSON) bool) api.RunJSON {
	s.t.Helper()
	for {
		var run api.RunJSON
		s.do("GET", "/api/v1/runs/{id}", "/api/v1/runs/"+id, nil, s.token).json(s.t, &run)
		if cond(run) {
			return run
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func terminal(r api.RunJSON) bool { return state.Status(r.Status).Terminal() }

// checkAnswer validates an answer against the document: the status code must be documented
// for the operation, and a JSON body must match the schema documented for it.
func checkAnswer(doc map[string]any, method, pattern string, r resp) error {
	paths, _ := doc["paths"].(map[string]any)
	item, ok := paths[pattern].(map[string]any)
	if !ok {
		return fmt.Errorf("path %s is not documented", pattern)
	}
	op, ok := item[strings.ToLower(method)].(map[string]any)
	if !ok {
		return fmt.Errorf("%s %s is not documented", method, pattern)
	}
	responses, _ := op["responses"].(map[string]any)
	rd, ok := responses[fmt.Sprint(r.code)].(map[string]any)
	if !ok {
		return fmt.Errorf("status %d is not documented", r.code)
	}
	content, _ := rd["content"].(map[string]any)
	if content == nil {
		if len(r.body) > 0 {
			return fmt.Errorf("documented without a body, got %d bytes", len(r.body))
		}
		return nil
	}
	ct := r.hdr.Get("Content-Type")
	for mt, v := range content {
		if !strings.HasPrefix(ct, mt) {
			continue
		}
		if mt != "application/json" {
			return nil
		}
		var body any
		dec := json.NewDecoder(bytes.NewReader(r.body))
		dec.UseNumber()
		if err := dec.Decode(&body); err != nil {
			return fmt.Errorf("body is not JSON: %v", err)
		}
		schema, _ := v.(map[string]any)["schema"].(map[string]any)
		return validate(doc, schema, body, "$")
	}
	return fmt.Errorf("Content-Type %q is not documented", ct)
}

func validate(doc, schema map[string]any, v any, at string) error {
	if ref, ok := schema["$ref"].(string); ok {
		name := strings.TrimPrefix(ref, "#/components/schemas/")
		s, ok := doc["components"].(map[string]any)["schemas"].(map[string]any)[name].(map[string]any)
		if !ok {
			return fmt.Errorf("%s: unknown $ref %s", at, ref)
		}
		return validate(doc, s, v, at)
	}
	if v == nil {
		if schema["nullable"] == true {
			return nil
		}
		return fmt.Errorf("%s: null where not nullable", at)
	}
	if alts, ok := schema["oneOf"].([]any); ok {
		for _, a := range alts {
			if validate(doc, a.(map[string]any), v, at) == nil {
				return nil
			}
		}
		return fmt.Errorf("%s: matches none of oneOf", at)
	}
	switch schema["type"] {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: want an object, got %T", at, v)
		}
		props, _ := schema["properties"].(map[string]any)
		req, _ := schema["required"].([]any)
		for _, k := range req {
			if _, ok := m[k.(string)]; !ok {
				return fmt.Errorf("%s: required key %q missing", at, k)
			}
		}
		for k, val := range m {
			if p, ok := props[k].(map[string]any); ok {
				if err := validate(doc, p, val, at+"."+k); err != nil {
					return err
				}
				continue
			}
			switch ap := schema["additionalProperties"].(type) {
			case bool:
				if !ap && props != nil {
					return fmt.Errorf("%s: key %q is not documented", at, k)
				}
			case map[string]any:
				if err := validate(doc, ap, val, at+"."+k); err != nil {
					return err
				}
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: want an array, got %T", at, v)
		}
		items, _ := schema["items"].(map[string]any)
		for i, x := range a {
			if err := validate(doc, items, x, fmt.Sprintf("%s[%d]", at, i)); err != nil {
				return err
			}
		}
	case "string":
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: want a string, got %T", at, v)
		}
		if enum, ok := schema["enum"].([]any); ok {
			found := false
			for _, e := range enum {
				found = found || e == s
			}
			if !found {
				return fmt.Errorf("%s: %q not in enum %v", at, s, enum)
			}
		}
		if schema["format"] == "date-time" {
			if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
				return fmt.Errorf("%s: %q is not a date-time", at, s)
			}
		}
	case "integer", "number":
		n, ok := v.(json.Number)
		if !ok {
			return fmt.Errorf("%s: want a number, got %T", at, v)
		}
		if schema["type"] == "integer" {
			if _, err := n.Int64(); err != nil {
				return fmt.Errorf("%s: %s is not an integer", at, n)
			}
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: want a boolean, got %T", at, v)
		}
	}
	return nil
}
