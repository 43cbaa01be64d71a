package testenv

import (
	"fmt"
	"os"
	"testing"
)

// StrictVar is the environment variable that turns Missing's skips into failures.
const StrictVar = "SLUICE_TEST_STRICT"

// Strict reports whether missing dependencies fail tests.
func Strict() bool { return os.Getenv(StrictVar) != "" }

// Missing skips t because something it needs is absent, or fails it on a strict run.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if Strict() {
		t.Fatalf("%s (%s is set, so a missing dependency fails the test)", msg, StrictVar)
	}
	t.Skip(msg)
}
