package api

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestDecodeIsStrict(t *testing.T) {
	t.Parallel()
	cases := []struct {
		body string
		want error
	}{
		{`{"parameters": {"n": 1}, "version": "2"}`, nil},
		{`{"ExperimentName": "e", "ParameterAssignments": {"n": true}}`, nil},
		{`{"parameterz": {}}`, ErrUnknownField},
		{`{"Parameters": {}}`, nil}, // encoding/json matches keys without regard to case
		{`{"version": 2}`, ErrInvalidBody},
		{`{"parameters": {"n": 1}} {"x": 1}`, ErrBadJSON},
		{`{"parameters": {"n": 1}} x`, ErrBadJSON},
		{``, ErrBadJSON},
		{`[1]`, ErrInvalidBody},
		{`{"parameters": {"n": 1`, ErrBadJSON},
		{`{"version": "` + strings.Repeat("v", 200) + `"}`, ErrTooLarge},
	}
	for _, c := range cases {
		var req SubmitRequest
		err := decodeBytes(limited(c.body, 128), &req, 128)
		if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%q: %v, want %v", c.body, err, c.want)
		}
	}
}

func FuzzDecodeSubmit(f *testing.F) {
	for _, s := range []string{`{"parameters": {"n": 1, "s": "x", "b": false}, "version": "2", "no_reuse": true}`,
		`{"ExperimentName": "e", "ParameterAssignments": {"p": 1.5e3}}`, `{"parameters": null}`, `{"a":1}`, `{}`, `[]`, `"x"`,
		`{"parameters": {"n": [1]}}`, `{"version": "\u0000"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var req SubmitRequest
		err := decodeBytes(limited(body, 4096), &req, 4096)
		if err != nil {
			if !errors.Is(err, ErrBadJSON) && !errors.Is(err, ErrUnknownField) && !errors.Is(err, ErrInvalidBody) &&
				!errors.Is(err, ErrTooLarge) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		for _, m := range []map[string]any{req.Parameters, req.ParameterAssignments} {
			for k, v := range m {
				s, err := paramText(k, v)
				if err != nil && !errors.Is(err, ErrInvalidBody) {
					t.Fatalf("paramText: %v", err)
				}
				_ = s
			}
		}
	})
}

// limited is the body as http.MaxBytesReader hands it to decode.
func limited(body string, n int64) io.Reader {
	return http.MaxBytesReader(httptest.NewRecorder(), io.NopCloser(strings.NewReader(body)), n)
}
