package api

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/sluice-ml/sluice/engine/spec"
	"github.com/sluice-ml/sluice/server/catalog"
	"github.com/sluice-ml/sluice/server/schedule"
	"github.com/sluice-ml/sluice/store/state"
)

// Sentinel errors of request handling.
var (
	ErrBadJSON      = errors.New("malformed JSON")
	ErrUnknownField = errors.New("unknown field")
	ErrTooLarge     = errors.New("request body too large")
	ErrForbidden    = errors.New("forbidden")
	ErrInvalidBody  = errors.New("invalid request")
)

// Error is the body of every error answer.
type Error struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail says what went wrong: code is stable and machine-readable, message is for people.
type ErrorDetail struct {
	Code    string   `json:"code"`
	Message string   `json:"message"`
	Details []string `json:"details,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, kind, msg string, details ...string) {
	writeJSON(w, code, Error{Error: ErrorDetail{Code: kind, Message: msg, Details: details}})
}

// fail maps an error to its status code and writes it.
func fail(w http.ResponseWriter, err error) {
	var list spec.ErrorList
	switch {
	case errors.Is(err, ErrTooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", err.Error())
	case errors.Is(err, ErrBadJSON):
		writeError(w, http.StatusBadRequest, "bad_json", err.Error())
	case errors.Is(err, ErrUnknownField), errors.Is(err, ErrInvalidBody), errors.Is(err, catalog.ErrInvalid),
		errors.Is(err, schedule.ErrInvalid), errors.Is(err, schedule.ErrUnsupportedLocation):
		writeError(w, http.StatusUnprocessableEntity, "invalid", err.Error())
	case errors.As(err, &list):
		details := make([]string, len(list))
		for i, e := range list {
			details[i] = e.Error()
		}
		writeError(w, http.StatusUnprocessableEntity, "invalid", "invalid pipeline or parameters", details...)
	case errors.Is(err, spec.ErrInvalid):
		writeError(w, http.StatusUnprocessableEntity, "invalid", err.Error())
	case errors.Is(err, catalog.ErrForbiddenPath), errors.Is(err, ErrForbidden):
		writeError(w, http.StatusForbidden, "forbidden", err.Error())
	case errors.Is(err, state.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, state.ErrExists):
		writeError(w, http.StatusConflict, "conflict", err.Error())
	default:
		writeError(w, http.StatusInternalServerError, "internal", "internal error: "+err.Error())
	}
}
