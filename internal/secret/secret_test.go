package secret

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	Add("s3cr3t-value-1", "short")
	t.Setenv("SECRET_TEST_CS", "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=KEYPART123456==;EndpointSuffix=x")
	if _, err := Env("SECRET_TEST_CS"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ in, want string }{
		{"token s3cr3t-value-1 here", "token [REDACTED] here"},
		{"short stays", "short stays"}, // too short to be a credential
		{"key KEYPART123456== alone", "key [REDACTED] alone"},
		{"GET https://a.blob/c?sv=1&sig=abc%2Fdef&se=2", "GET https://a.blob/c?sv=1&sig=[REDACTED]&se=2"},
		{"nothing", "nothing"},
	} {
		if got := Redact(tc.in); got != tc.want {
			t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if _, err := Env("SECRET_TEST_UNSET_VAR"); !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), "SECRET_TEST_UNSET_VAR") {
		t.Fatalf("missing: %v", err)
	}
	base := errors.New("base")
	err := Error(fmt.Errorf("auth with s3cr3t-value-1 failed: %w", base))
	if strings.Contains(err.Error(), "s3cr3t") || !errors.Is(err, base) {
		t.Fatalf("Error: %v", err)
	}
}

// Writer never lets a secret through, however the writes are cut.
func TestWriter(t *testing.T) {
	Add("split-across-writes-secret")
	var out bytes.Buffer
	w := Writer(&out)
	text := "line one\nthe split-across-writes-secret is here\nlast without newline split-across-writes-secret"
	for i := 0; i < len(text); i += 5 {
		io.WriteString(w, text[i:min(i+5, len(text))])
	}
	w.Close()
	if strings.Contains(out.String(), "split-across") || strings.Count(out.String(), Mask) != 2 {
		t.Fatalf("out = %q", out.String())
	}
}
