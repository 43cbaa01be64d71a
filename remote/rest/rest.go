package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-ml/sluice/internal/secret"
)

// Client talks JSON to one service.
type Client struct {
	// Base is the service's root URL, e.g. https://adb-1.azuredatabricks.net.
	Base string
	// Auth adds credentials to a request (a bearer token, Basic auth); it may block (token fetch).
	Auth func(ctx context.Context, req *http.Request) error
	// Header is added to every request (e.g. X-Requested-By for Livy).
	Header http.Header
	// HTTP is the client used (default: one with a 60 s timeout per request).
	HTTP *http.Client
	// MaxAttempts bounds the tries of one request (default 8).
	MaxAttempts int
	// Backoff is the first wait between tries (default 500 ms), doubling up to MaxBackoff (30 s).
	Backoff, MaxBackoff time.Duration
	// Sleep waits (default: a timer honouring ctx); tests make it instant.
	Sleep func(ctx context.Context, d time.Duration) error
	// OnRetry, when set, is told about each retry (for the step log).
	OnRetry func(attempt int, wait time.Duration, err error)
}

// Request is one call.
type Request struct {
	Method string
	Path   string // with query string, relative to Base
	Body   any    // marshaled as JSON when not nil
	// Raw, when not nil, is sent as the body instead, with ContentType (a multipart upload).
	Raw         []byte
	ContentType string
	// Idempotent allows retrying a POST (see the package doc).
	Idempotent bool
}

var defaultHTTP = &http.Client{Timeout: 60 * time.Second}

// Do sends r and decodes a 2xx JSON answer into out (when out is not nil). Errors: *StatusError
// for an HTTP error answer (after retries, for temporary ones), ErrUnknownOutcome for a lost
// response to a request that cannot be retried, ctx.Err() when ctx ends.
func (c *Client) Do(ctx context.Context, r Request, out any) error {
	body := r.Raw
	if r.Raw == nil && r.Body != nil {
		var err error
		if body, err = json.Marshal(r.Body); err != nil {
			return fmt.Errorf("%s %s: %w", r.Method, r.Path, err)
		}
	}
	attempts := c.MaxAttempts
	if attempts <= 0 {
		attempts = 8
	}
	safe := r.Idempotent || r.Method != http.MethodPost && r.Method != http.MethodPatch
	var last error
	for attempt := 1; attempt <= attempts; attempt++ {
		resp, err := c.send(ctx, r, body)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			err = secret.Error(fmt.Errorf("%s %s: %w", r.Method, pathOnly(r.Path), err))
			if !safe {
				return fmt.Errorf("%w: %w", ErrUnknownOutcome, err)
			}
			last = err
			if werr := c.wait(ctx, attempt, c.backoff(attempt), err); werr != nil {
				return werr
			}
			continue
		}
		data, rerr := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			if rerr != nil {
				// The answer was cut: for an unsafe request the outcome is unknown.
				if !safe {
					return fmt.Errorf("%w: %s %s: %w", ErrUnknownOutcome, r.Method, pathOnly(r.Path), rerr)
				}
				last = rerr
				if werr := c.wait(ctx, attempt, c.backoff(attempt), rerr); werr != nil {
					return werr
				}
				continue
			}
			if out != nil && len(bytes.TrimSpace(data)) > 0 {
				if err := json.Unmarshal(data, out); err != nil {
					return fmt.Errorf("%s %s: decoding answer: %w", r.Method, pathOnly(r.Path), err)
				}
			}
			return nil
		}
		if len(data) > 4096 {
			data = data[:4096]
		}
		se := &StatusError{Code: resp.StatusCode, Body: secret.Redact(string(data)), Method: r.Method, Path: pathOnly(r.Path)}
		// A temporary error answer means the request was not carried out: retrying is safe even for
		// a POST, except a 500/502/504, which may come after the work was done.
		retry := se.Code == 429 || se.Code == 503 || safe && se.Temporary()
		if !retry || attempt == attempts {
			return se
		}
		last = se
		wait := c.backoff(attempt)
		if ra := retryAfter(resp.Header.Get("Retry-After")); ra > 0 {
			wait = ra
		}
		if werr := c.wait(ctx, attempt, wait, se); werr != nil {
			return werr
		}
	}
	return fmt.Errorf("after %d attempts: %w", attempts, last)
}

func (c *Client) send(ctx context.Context, r Request, body []byte) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, strings.TrimSuffix(c.Base, "/")+r.Path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		ct := r.ContentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("Accept", "application/json")
	for k, vs := range c.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if c.Auth != nil {
		if err := c.Auth(ctx, req); err != nil {
			return nil, secret.Error(fmt.Errorf("credentials: %w", err))
		}
	}
	hc := c.HTTP
	if hc == nil {
		hc = defaultHTTP
	}
	resp, err := hc.Do(req)
	if err != nil {
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) { // *url.Error quotes the full URL: keep only the cause
			if inner := ue.Unwrap(); inner != nil {
				err = inner
			}
		}
	}
	return resp, err
}

func (c *Client) wait(ctx context.Context, attempt int, d time.Duration, err error) error {
	if c.OnRetry != nil {
		c.OnRetry(attempt, d, err)
	}
	return c.sleep(ctx, d)
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	return Sleep(ctx, d)
}

// Sleep waits d or until ctx ends (then it returns ctx.Err()).
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (c *Client) backoff(attempt int) time.Duration {
	b, m := c.Backoff, c.MaxBackoff
	if b <= 0 {
		b = 500 * time.Millisecond
	}
	if m <= 0 {
		m = 30 * time.Second
	}
	return Jitter(min(m, b<<min(attempt-1, 20)))
}

// Jitter returns a duration uniformly drawn from [d/2, d] ("equal jitter"): waits never collapse
// to zero and concurrent clients spread out.
func Jitter(d time.Duration) time.Duration {
	if d <= 1 {
		return d
	}
	return d/2 + rand.N(d/2+1)
}

// retryAfter parses a Retry-After header: seconds, or an HTTP date. 0 when absent or malformed.
// It is capped at 5 minutes.
func retryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		d = time.Duration(n) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = time.Until(t)
	}
	if d < 0 {
		return 0
	}
	return min(d, 5*time.Minute)
}

func pathOnly(p string) string {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		return p[:i]
	}
	return p
}

// Poller spaces the polls of a long-running remote job: Min at first and after every change of
// state, doubling up to Max while nothing changes, with jitter.
type Poller struct {
	Min, Max time.Duration
	cur      time.Duration
}

// Next returns the wait before the next poll; changed resets it to Min.
func (p *Poller) Next(changed bool) time.Duration {
	if p.Min <= 0 {
		p.Min = time.Second
	}
	if p.Max < p.Min {
		p.Max = max(p.Min, 30*time.Second)
	}
	if changed || p.cur == 0 {
		p.cur = p.Min
	} else {
		p.cur = min(p.Max, p.cur*2)
	}
	return Jitter(p.cur)
}
