package rest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{{"", 0}, {"3", 3 * time.Second}, {"-1", 0}, {"soon", 0}, {"100000", 5 * time.Minute}} {
		if got := retryAfter(tc.in); got != tc.want {
			t.Errorf("retryAfter(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
	if d := retryAfter(time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)); d != 5*time.Minute {
		t.Errorf("HTTP date: %s", d)
	}
}

func TestJitterAndPoller(t *testing.T) {
	t.Parallel()
	for range 1000 {
		if d := Jitter(time.Second); d < 500*time.Millisecond || d > time.Second {
			t.Fatalf("Jitter(1s) = %s", d)
		}
	}
	p := Poller{Min: time.Second, Max: 8 * time.Second}
	var last time.Duration
	for range 10 {
		last = p.Next(false)
	}
	if last < 4*time.Second || last > 8*time.Second {
		t.Fatalf("after backing off: %s", last)
	}
	if d := p.Next(true); d > time.Second {
		t.Fatalf("after a change: %s", d)
	}
}

// statuses answers each request with the next status of the list (then 200 {"ok":true}).
func server(t *testing.T, codes ...int) (*httptest.Server, *atomic.Int32) {
	var n atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		if i < len(codes) {
			if codes[i] == 429 {
				w.Header().Set("Retry-After", "2")
			}
			if codes[i] == -1 { // drop the connection
				c, _, _ := w.(http.Hijacker).Hijack()
				c.Close()
				return
			}
			w.WriteHeader(codes[i])
			w.Write([]byte(`{"error_code":"X","message":"m"}`))
			return
		}
		w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(s.Close)
	return s, &n
}

func TestDo(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		codes  []int
		req    Request
		calls  int32
		check  func(error) bool
		sleeps []time.Duration
	}{
		{"get retried through 429 and 5xx", []int{429, 500, 503, 502}, Request{Method: "GET", Path: "/x"}, 5,
			func(err error) bool { return err == nil }, nil},
		{"post not retried on 500", []int{500}, Request{Method: "POST", Path: "/x", Body: 1}, 1,
			func(err error) bool { var se *StatusError; return errors.As(err, &se) && se.Code == 500 }, nil},
		{"post retried on 429 and 503 (not carried out)", []int{429, 503}, Request{Method: "POST", Path: "/x", Body: 1}, 3,
			func(err error) bool { return err == nil }, nil},
		{"idempotent post retried on 500", []int{500}, Request{Method: "POST", Path: "/x", Body: 1, Idempotent: true}, 2,
			func(err error) bool { return err == nil }, nil},
		{"lost answer to a post", []int{-1}, Request{Method: "POST", Path: "/x", Body: 1}, 1,
			func(err error) bool { return errors.Is(err, ErrUnknownOutcome) }, nil},
		{"lost answer to an idempotent post", []int{-1, -1}, Request{Method: "POST", Path: "/x", Body: 1, Idempotent: true}, 3,
			func(err error) bool { return err == nil }, nil},
		{"4xx is final", []int{400}, Request{Method: "GET", Path: "/x?secret=1"}, 1,
			func(err error) bool {
				var se *StatusError
				return errors.As(err, &se) && se.Code == 400 && se.Path == "/x"
			}, nil},
		{"gives up", []int{503, 503, 503, 503}, Request{Method: "GET", Path: "/x"}, 3,
			func(err error) bool { var se *StatusError; return errors.As(err, &se) && se.Code == 503 }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, n := server(t, tc.codes...)
			var slept []time.Duration
			c := &Client{Base: s.URL, MaxAttempts: 3, Sleep: func(ctx context.Context, d time.Duration) error {
				slept = append(slept, d)
				return nil
			}}
			if tc.name != "gives up" {
				c.MaxAttempts = 8
			}
			var out struct{ OK bool }
			err := c.Do(context.Background(), tc.req, &out)
			if !tc.check(err) || n.Load() != tc.calls {
				t.Fatalf("err = %v after %d calls (want %d)", err, n.Load(), tc.calls)
			}
			if err == nil && !out.OK {
				t.Fatal("answer not decoded")
			}
			if len(tc.codes) > 0 && tc.codes[0] == 429 && (len(slept) == 0 || slept[0] != 2*time.Second) {
				t.Fatalf("Retry-After not honoured: %v", slept)
			}
		})
	}
}
