package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// decode reads one JSON value of the request body into v, strictly: unknown fields are
// ErrUnknownField, anything but one JSON value is ErrBadJSON, a body over the limit ErrTooLarge.
func decode(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	body := http.MaxBytesReader(w, r.Body, limit)
	return decodeBytes(body, v, limit)
}

// decodeBytes is decode on any reader (fuzzed).
func decodeBytes(rd io.Reader, v any, limit int64) error {
	dec := json.NewDecoder(rd)
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return classify(err, limit)
	}
	var extra json.RawMessage
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return classify(err, limit)
		}
		return fmt.Errorf("%w: more than one JSON value in the body", ErrBadJSON)
	}
	return nil
}

func classify(err error, limit int64) error {
	var mbe *http.MaxBytesError
	var ute *json.UnmarshalTypeError
	switch {
	case errors.As(err, &mbe):
		return fmt.Errorf("%w: the limit is %d bytes", ErrTooLarge, limit)
	case errors.Is(err, io.EOF):
		return fmt.Errorf("%w: empty body", ErrBadJSON)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return fmt.Errorf("%w: %s", ErrUnknownField, strings.TrimPrefix(err.Error(), "json: "))
	case errors.As(err, &ute):
		return fmt.Errorf("%w: field %q: got a JSON %s, want %s", ErrInvalidBody, ute.Field, ute.Value, ute.Type)
	}
	return fmt.Errorf("%w: %v", ErrBadJSON, err)
}

// paramText turns a JSON parameter value into the text form the engine takes: strings as they
// are, numbers as written, booleans as true/false. Null, objects and arrays are refused.
func paramText(name string, v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return x.String(), nil
	case bool:
		if x {
			return "true", nil
		}
		return "false", nil
	}
	return "", fmt.Errorf("%w: parameter %q: want a string, number or boolean", ErrInvalidBody, name)
}
