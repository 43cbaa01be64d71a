package rest

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnknownOutcome: a request that is not safe to retry got no response; it may or may not have
// taken effect.
var ErrUnknownOutcome = errors.New("request sent, response lost: outcome unknown")

// StatusError is an HTTP answer outside 2xx.
type StatusError struct {
	Code int    // the HTTP status code
	Body string // the response body (at most 4 KiB)
	// Method and Path of the request (no query string, no headers).
	Method, Path string
}

func (e *StatusError) Error() string {
	body := strings.TrimSpace(e.Body)
	if len(body) > 512 {
		body = body[:512] + "…"
	}
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.Method, e.Path, e.Code, body)
}

// Temporary reports whether retrying later may succeed (429 and 5xx but 501).
func (e *StatusError) Temporary() bool {
	return e.Code == 429 || e.Code >= 500 && e.Code != 501
}
