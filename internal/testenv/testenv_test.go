package testenv

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMissing runs a child test binary both ways and checks it skips, then fails.
func TestMissing(t *testing.T) {
	if os.Getenv("TESTENV_CHILD") != "" {
		Missing(t, "widget absent")
		return
	}
	for _, strict := range []bool{false, true} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMissing$", "-test.v")
		cmd.Env = append(os.Environ(), "TESTENV_CHILD=1", StrictVar+"=")
		if strict {
			cmd.Env = append(cmd.Env, StrictVar+"=1")
		}
		out, err := cmd.CombinedOutput()
		got := string(out)
		if strict {
			if err == nil || !strings.Contains(got, "--- FAIL") || !strings.Contains(got, "widget absent") {
				t.Errorf("strict: want a failure naming the dependency, got err=%v\n%s", err, got)
			}
		} else if err != nil || !strings.Contains(got, "--- SKIP") || !strings.Contains(got, "widget absent") {
			t.Errorf("lenient: want a skip naming the dependency, got err=%v\n%s", err, got)
		}
	}
}
