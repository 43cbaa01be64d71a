package dataflow_test

import (
	"fmt"
	"os"
	"testing"
)

// childEnv switches the test binary into a child process of one of the tests (chaos, rss):
// the tests re-execute themselves so that a child can be SIGKILLed or measured alone.
const childEnv = "SLUICE_DATAFLOW_CHILD"

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "":
		os.Exit(m.Run())
	case "chaos":
		os.Exit(chaosChild())
	case "rss":
		os.Exit(rssChild())
	default:
		fmt.Fprintf(os.Stderr, "unknown %s=%q\n", childEnv, os.Getenv(childEnv))
		os.Exit(2)
	}
}
