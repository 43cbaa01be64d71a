package argv

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/sluice-ml/sluice/engine/command"
)

func TestSplit(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want []string
		err  bool
	}{
		{"python main.py a b", []string{"python", "main.py", "a", "b"}, false},
		{"  x   'a b'  \"c d\" e\\ f ", []string{"x", "a b", "c d", "e f"}, false},
		{`x 'it'\''s'`, []string{"x", "it's"}, false},
		{`x "a\"b\\c"`, []string{"x", `a"b\c`}, false},
		{`x ''`, []string{"x", ""}, false},
		{"a#b", []string{"a#b"}, false},
		{"x $HOME", nil, true},
		{"x | y", nil, true},
		{"x; y", nil, true},
		{`x "$(id)"`, nil, true},
		{"x 'open", nil, true},
		{`x "open`, nil, true},
		{`x \`, nil, true},
		{"x *.py", nil, true},
	} {
		got, err := Split(tc.in)
		if tc.err {
			if !errors.Is(err, ErrUnsupported) {
				t.Errorf("Split(%q) = %q, %v; want ErrUnsupported", tc.in, got, err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("Split(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// Whatever command.Quote makes of a word, Split gives the word back.
func FuzzSplitQuote(f *testing.F) {
	for _, s := range []string{"", "a b", "it's", `"$x"`, "a\nb", "\\", "*"} {
		f.Add(s, "x")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		if strings.ContainsRune(a+b, 0) {
			return
		}
		line := "prog " + command.Quote(a) + " " + command.Quote(b)
		got, err := Split(line)
		if err != nil {
			t.Fatalf("Split(%q): %v", line, err)
		}
		if !slices.Equal(got, []string{"prog", a, b}) {
			t.Fatalf("Split(%q) = %q, want %q", line, got, []string{"prog", a, b})
		}
	})
}

// Split never panics, and a successful split has no empty result for a non-blank line.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{"a 'b' \"c\"", "\\\n", "'", "\"\\", "x#y #z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		w, err := Split(s)
		if err == nil && strings.TrimSpace(s) != "" && len(w) == 0 && !strings.Contains(s, "\\") {
			t.Fatalf("Split(%q) gave no words", s)
		}
	})
}
