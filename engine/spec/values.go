package spec

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// knownTypes lists the types of DESIGN.md §4, sorted, for messages.
var knownTypes = []string{"boolean", "integer", "number", "string", "uri_file", "uri_folder"}

// Valid reports whether t is one of the six types of this package.
func (t Type) Valid() bool {
	switch t {
	case TypeString, TypeInteger, TypeNumber, TypeBoolean, TypeURIFolder, TypeURIFile:
		return true
	}
	return false
}

// String returns the value in the text form ParseValue accepts: the path or string as is,
// integers in decimal, numbers in the shortest form that reads back exactly, booleans as
// true or false. It is what a command line sees for ${{inputs.X}}.
func (v Value) String() string {
	switch v.Type {
	case TypeInteger:
		return strconv.FormatInt(v.Int, 10)
	case TypeNumber:
		return strconv.FormatFloat(v.Float, 'g', -1, 64)
	case TypeBoolean:
		return strconv.FormatBool(v.Bool)
	default:
		return v.Str
	}
}

// ParseValue converts the text s to a value of type t, as for `--set k=v` and YAML values:
// integers in decimal or as an integral float ("1e3"); numbers as Go's ParseFloat reads
// them (finite only); booleans as true/false, yes/no or on/off in any case; strings as
// they are; paths as they are, but not empty. The error says what was expected.
func ParseValue(t Type, s string) (Value, error) {
	v, msg := parseValue(t, s)
	if msg != "" {
		return Value{}, fmt.Errorf("%w: %s", ErrInvalid, msg)
	}
	return v, nil
}

// parseValue is ParseValue with the problem as a message ("" when fine).
func parseValue(t Type, s string) (Value, string) {
	switch t {
	case TypeString:
		return Value{Type: t, Str: s}, ""
	case TypeURIFolder, TypeURIFile:
		if strings.TrimSpace(s) == "" {
			return Value{}, fmt.Sprintf("empty path for a %s", t)
		}
		return Value{Type: t, Str: s}, ""
	case TypeInteger:
		n, ok := parseInteger(s)
		if !ok {
			return Value{}, fmt.Sprintf("%q is not an integer", s)
		}
		return Value{Type: t, Int: n}, ""
	case TypeNumber:
		f, ok := parseNumber(s)
		if !ok {
			return Value{}, fmt.Sprintf("%q is not a number", s)
		}
		return Value{Type: t, Float: f}, ""
	case TypeBoolean:
		b, ok := parseBool(s)
		if !ok {
			return Value{}, fmt.Sprintf("%q is not a boolean (want true or false)", s)
		}
		return Value{Type: t, Bool: b}, ""
	}
	return Value{}, fmt.Sprintf("unknown type %q (known: %s)", string(t), nameList(knownTypes))
}

func parseInteger(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, true
	}
	f, ok := parseNumber(s)
	if !ok || f != math.Trunc(f) || f < -(1<<63) || f >= 1<<63 {
		return 0, false
	}
	return int64(f), true
}

func parseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" || strings.ContainsAny(s, "_xXpP") { // no Go-only forms: 1_000, 0x1p3
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, false
	}
	return f, true
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "on":
		return true, true
	case "false", "no", "off":
		return false, true
	}
	return false, false
}

// parseDuration reads a Go duration ("30s", "1h30m") or a number of seconds ("90", "1.5").
func parseDuration(s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if d, err := time.ParseDuration(s); err == nil {
		return d, true
	}
	f, ok := parseNumber(s)
	if !ok || math.Abs(f) > float64(math.MaxInt64)/float64(time.Second) {
		return 0, false
	}
	return time.Duration(f * float64(time.Second)), true
}

// compatible reports whether a value of type src may be bound where dst is declared.
// An undeclared dst takes anything. Paths take paths of the same kind and strings (a
// string naming a path); parameters take data outputs (the step reads them as it wants),
// integers where numbers are expected, and anything but paths as strings.
func compatible(src, dst Type) bool {
	switch {
	case dst == "" || src == "" || src == dst:
		return true
	case dst.IsPath():
		return src == TypeString
	case src.IsPath():
		return true
	case dst == TypeNumber:
		return src == TypeInteger
	case dst == TypeString:
		return true
	}
	return false
}
