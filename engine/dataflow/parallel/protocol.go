package parallel

import (
	"bytes"
	"fmt"
	"strings"
)

// ErrorPrefix starts a result line that fails its item.
const ErrorPrefix = "ERROR:"

// Line is one parsed result line.
type Line struct {
	Result string // the item's result, when Err is ""
	Err    string // the item's error message; "" when the item is fine
}

// ParseResults parses a command's stdout for a mini-batch of n listed items: exactly n lines
// (a final newline is optional; "\r\n" is accepted), line i for item i. A line starting with
// ErrorPrefix fails its item with the rest of the line as the message ("failed" when empty).
func ParseResults(out []byte, n int) ([]Line, error) {
	if len(out) == 0 {
		if n == 0 {
			return nil, nil
		}
		return nil, fmt.Errorf("%w: no output for %d items", ErrProtocol, n)
	}
	text := out
	if text[len(text)-1] == '\n' {
		text = text[:len(text)-1]
	}
	count := bytes.Count(text, []byte{'\n'}) + 1
	if count != n {
		return nil, fmt.Errorf("%w: %d result lines for %d items", ErrProtocol, count, n)
	}
	lines := make([]Line, 0, n)
	for len(text) > 0 || len(lines) < n {
		var l []byte
		if i := bytes.IndexByte(text, '\n'); i >= 0 {
			l, text = text[:i], text[i+1:]
		} else {
			l, text = text, nil
		}
		s := strings.TrimSuffix(string(l), "\r")
		if msg, ok := strings.CutPrefix(s, ErrorPrefix); ok {
			msg = strings.TrimSpace(msg)
			if msg == "" {
				msg = "failed"
			}
			lines = append(lines, Line{Err: msg})
		} else {
			lines = append(lines, Line{Result: s})
		}
	}
	return lines, nil
}
