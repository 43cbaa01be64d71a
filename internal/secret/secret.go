package secret

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
)

// ErrMissing: the environment variable that should hold a secret is unset or empty.
var ErrMissing = errors.New("secret not set in the environment")

// Mask replaces a secret's value.
const Mask = "[REDACTED]"

var set = struct {
	sync.RWMutex
	vals []string // longest first, so that a secret containing another is masked whole
}{}

// minLen: shorter values are not masked (masking "a" would garble every message); no real
// credential is this short.
const minLen = 6

// Add declares values as secrets.
func Add(values ...string) {
	set.Lock()
	defer set.Unlock()
	for _, v := range values {
		v = strings.TrimSpace(v)
		if len(v) < minLen {
			continue
		}
		dup := false
		for _, s := range set.vals {
			if s == v {
				dup = true
				break
			}
		}
		if !dup {
			set.vals = append(set.vals, v)
		}
	}
	sort.Slice(set.vals, func(i, j int) bool { return len(set.vals[i]) > len(set.vals[j]) })
}

// Env reads a secret from environment variable name and declares it. An unset or empty variable
// is ErrMissing (the message names the variable, never a value).
func Env(name string) (string, error) {
	v := os.Getenv(name)
	if v == "" {
		return "", fmt.Errorf("environment variable %s: %w", name, ErrMissing)
	}
	Add(v)
	// A connection string's or SAS's parts are secrets on their own too.
	for _, part := range strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == '&' }) {
		if _, val, ok := strings.Cut(part, "="); ok {
			switch k := strings.ToLower(part[:strings.IndexByte(part, '=')]); k {
			case "accountkey", "sharedaccesssignature", "sig":
				Add(val)
			}
		}
	}
	return v, nil
}

// Redact returns s with every known secret replaced by Mask.
func Redact(s string) string {
	set.RLock()
	defer set.RUnlock()
	for _, v := range set.vals {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, Mask)
		}
	}
	return redactSig(s)
}

// redactSig masks SAS signatures in URLs even when they were never declared (a SAS made by the
// SDK from a key, say).
func redactSig(s string) string {
	for _, key := range []string{"sig=", "Sig="} {
		i := 0
		for {
			j := strings.Index(s[i:], key)
			if j < 0 {
				break
			}
			start := i + j + len(key)
			end := start
			for end < len(s) && !strings.ContainsRune("&\" \n\t'", rune(s[end])) {
				end++
			}
			if s[start:end] != Mask {
				s = s[:start] + Mask + s[end:]
			}
			i = start + len(Mask)
			if i >= len(s) {
				break
			}
		}
	}
	return s
}

// Error returns err with secrets masked in its message; errors.Is and errors.As still see the
// original chain. Error(nil) is nil.
func Error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	red := Redact(msg)
	if red == msg {
		return err
	}
	return &redacted{msg: red, err: err}
}

type redacted struct {
	msg string
	err error
}

func (e *redacted) Error() string { return e.msg }
func (e *redacted) Unwrap() error { return e.err }

// Writer returns a writer that masks secrets in what it passes on to w. It buffers up to the end
// of each line (a secret is never split across two writes to w); Close flushes the rest, and
// does not close w.
func Writer(w io.Writer) io.WriteCloser { return &writer{w: w} }

type writer struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
}

func (lw *writer) Write(p []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	lw.buf = append(lw.buf, p...)
	i := bytes.LastIndexByte(lw.buf, '\n')
	if i < 0 && len(lw.buf) < 64<<10 {
		return len(p), nil
	}
	cut := i + 1
	if i < 0 {
		cut = len(lw.buf)
	}
	if _, err := io.WriteString(lw.w, Redact(string(lw.buf[:cut]))); err != nil {
		return 0, err
	}
	lw.buf = append(lw.buf[:0], lw.buf[cut:]...)
	return len(p), nil
}

func (lw *writer) Close() error {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if len(lw.buf) == 0 {
		return nil
	}
	_, err := io.WriteString(lw.w, Redact(string(lw.buf)))
	lw.buf = nil
	return err
}
