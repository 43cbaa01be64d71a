package spec

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrInvalid is wrapped by every error that reports a malformed or inconsistent pipeline:
// YAML syntax, unknown keys, bad values, broken references, cycles, and bad parameter
// assignments given to Resolve. errors.Is(err, ErrInvalid) tells "the input is wrong"
// (the CLI exits with code 2) from I/O and other failures.
var ErrInvalid = errors.New("invalid pipeline")

// Error is one problem found in a pipeline, at the place it concerns. Pos is zero for
// pipelines built in code (see Builder); the message then names the job, input or output.
type Error struct {
	Pos Pos
	Msg string
}

// Error formats the error as "file:line:col: msg" (or "file: msg" when the line is unknown).
func (e *Error) Error() string { return e.Pos.String() + ": " + e.Msg }

// Unwrap returns ErrInvalid, so that errors.Is(e, ErrInvalid) holds.
func (e *Error) Unwrap() error { return ErrInvalid }

// ErrorList is every problem found in a pipeline, sorted by position. The functions of this
// package never return an empty ErrorList as a non-nil error.
type ErrorList []*Error

// Error joins the errors, one per line.
func (l ErrorList) Error() string {
	var sb strings.Builder
	for i, e := range l {
		if i > 0 {
			sb.WriteByte('\n')
		}
		sb.WriteString(e.Error())
	}
	return sb.String()
}

// Unwrap returns the errors of the list, so errors.Is and errors.As see each of them
// (and thereby ErrInvalid).
func (l ErrorList) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// add records an error.
func (l *ErrorList) add(pos Pos, format string, args ...any) {
	*l = append(*l, &Error{Pos: pos, Msg: fmt.Sprintf(format, args...)})
}

// err sorts the list by position, drops exact duplicates and returns it as an error,
// or nil when it is empty.
func (l ErrorList) err() error {
	if len(l) == 0 {
		return nil
	}
	s := slices.Clone(l)
	slices.SortStableFunc(s, func(a, b *Error) int {
		return cmp.Or(
			cmp.Compare(a.Pos.File, b.Pos.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Col, b.Pos.Col),
			cmp.Compare(a.Msg, b.Msg))
	})
	s = slices.CompactFunc(s, func(a, b *Error) bool { return a.Pos == b.Pos && a.Msg == b.Msg })
	return s
}

// posTable remembers where the keys of a mapping were found, keyed by the key name
// (or "parent.child", "list.N" for nested places). Only parsed pipelines have one.
type posTable map[string]Pos

// at returns the position recorded for key, or def when there is none.
func (t posTable) at(key string, def Pos) Pos {
	if p, ok := t[key]; ok {
		return p
	}
	return def
}

// nameList formats names for a message: sorted, quoted-free, comma separated; "none" when empty.
func nameList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	s := slices.Clone(names)
	slices.Sort(s)
	return strings.Join(s, ", ")
}

// keysOf returns the keys of m.
func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
