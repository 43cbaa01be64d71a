package spec

import (
	"fmt"
	"strings"
)

// validName reports whether s is a valid job, input or output name: [A-Za-z_][A-Za-z0-9_-]*.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case i > 0 && (c == '-' || '0' <= c && c <= '9'):
		default:
			return false
		}
	}
	return true
}

// validEnvName reports whether s is a valid environment variable name: [A-Za-z_][A-Za-z0-9_]*.
func validEnvName(s string) bool {
	return validName(s) && !strings.Contains(s, "-")
}

// refSegment reports whether s may be one segment of a reference (a name, maybe invalid
// as a name, but without dots, spaces or braces).
func refSegment(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '-' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

const bindingForms = "${{parent.inputs.NAME}}, ${{parent.jobs.JOB.outputs.NAME}}, ${{inputs.NAME}} or ${{outputs.NAME}}"

// parseRef parses the expression inside ${{ }} (spaces around it allowed). It returns a
// message ("" when fine).
func parseRef(expr string) (*Binding, string) {
	parts := strings.Split(strings.TrimSpace(expr), ".")
	for _, p := range parts {
		if !refSegment(p) {
			return nil, fmt.Sprintf("malformed binding ${{%s}}: want %s", expr, bindingForms)
		}
	}
	switch {
	case len(parts) == 3 && parts[0] == "parent" && parts[1] == "inputs":
		return &Binding{Kind: BindParentInput, Name: parts[2]}, ""
	case len(parts) == 5 && parts[0] == "parent" && parts[1] == "jobs" && parts[3] == "outputs":
		return &Binding{Kind: BindJobOutput, Job: parts[2], Name: parts[4]}, ""
	case len(parts) == 2 && parts[0] == "inputs":
		return &Binding{Kind: BindInput, Name: parts[1]}, ""
	case len(parts) == 2 && parts[0] == "outputs":
		return &Binding{Kind: BindOutput, Name: parts[1]}, ""
	}
	return nil, fmt.Sprintf("malformed binding ${{%s}}: want %s", expr, bindingForms)
}

// ParseBinding parses a value that is one binding as a whole, such as
// "${{parent.inputs.images}}" (surrounding spaces allowed). ok is false when s holds no
// "${{" at all: it is a literal. A value that holds "${{" but is not exactly one
// well-formed binding is an error wrapping ErrInvalid.
func ParseBinding(s string) (b *Binding, ok bool, err error) {
	b, ok, _, msg := parseWholeBinding(s)
	if msg != "" {
		return nil, true, fmt.Errorf("%w: %s", ErrInvalid, msg)
	}
	return b, ok, nil
}

// parseWholeBinding is ParseBinding, with the byte offset of the "${{" in s.
func parseWholeBinding(s string) (b *Binding, ok bool, off int, msg string) {
	off = strings.Index(s, "${{")
	if off < 0 {
		return nil, false, 0, ""
	}
	t := strings.TrimSpace(s)
	if !strings.HasPrefix(t, "${{") {
		return nil, true, off, fmt.Sprintf("a binding must be the whole value, not part of %q", s)
	}
	end := strings.Index(t, "}}")
	if end < 0 {
		return nil, true, off, fmt.Sprintf("unterminated binding %q: missing }}", t)
	}
	if end+2 != len(t) {
		return nil, true, off, fmt.Sprintf("a binding must be the whole value, not part of %q", s)
	}
	b, msg = parseRef(t[3:end])
	return b, true, off, msg
}

// templateProblem is a syntax problem in a command, at byte offset Off of the raw text.
type templateProblem struct {
	Off int
	Msg string
}

// parseTemplate splits a command into literal text and ${{...}} references. refOffs holds
// the byte offset of each reference's "${{" in raw, in the order of the references in parts.
// Only ${{inputs.X}} and ${{outputs.Y}} may appear in a command.
func parseTemplate(raw string) (parts []TemplatePart, refOffs []int, probs []templateProblem) {
	rest, base := raw, 0
	for {
		i := strings.Index(rest, "${{")
		if i < 0 {
			break
		}
		j := strings.Index(rest[i+3:], "}}")
		if j < 0 {
			probs = append(probs, templateProblem{base + i, "unterminated ${{ in command: missing }}"})
			break
		}
		if i > 0 {
			parts = appendText(parts, rest[:i])
		}
		expr := rest[i+3 : i+3+j]
		b, msg := parseRef(expr)
		switch {
		case msg != "":
			probs = append(probs, templateProblem{base + i, msg})
			parts = appendText(parts, rest[i:i+3+j+2])
		case b.Kind != BindInput && b.Kind != BindOutput:
			probs = append(probs, templateProblem{base + i, fmt.Sprintf(
				"%s cannot appear in a command: use ${{inputs.NAME}} or ${{outputs.NAME}} and bind the job input", b)})
			parts = appendText(parts, rest[i:i+3+j+2])
		default:
			parts = append(parts, TemplatePart{Ref: b})
			refOffs = append(refOffs, base+i)
		}
		base += i + 3 + j + 2
		rest = rest[i+3+j+2:]
	}
	if rest != "" {
		parts = appendText(parts, rest)
	}
	return parts, refOffs, probs
}

// appendText appends literal text, merging it with a literal part before it.
func appendText(parts []TemplatePart, s string) []TemplatePart {
	if n := len(parts); n > 0 && parts[n-1].Ref == nil {
		parts[n-1].Text += s
		return parts
	}
	return append(parts, TemplatePart{Text: s})
}

// Expand returns the command with each reference replaced by lookup(ref); literal text is
// kept as is. It is a convenience for executors.
func (t *Template) Expand(lookup func(ref *Binding) string) string {
	var sb strings.Builder
	for _, p := range t.Parts {
		if p.Ref == nil {
			sb.WriteString(p.Text)
		} else {
			sb.WriteString(lookup(p.Ref))
		}
	}
	return sb.String()
}
