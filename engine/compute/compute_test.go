package compute

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/sluice-ml/sluice/engine/spec"
)

func TestRegistryLookup(t *testing.T) {
	t.Parallel()
	r := NewRegistry()
	for _, tc := range []struct {
		name string
		err  error
		hint string
	}{
		{"local", nil, ""},
		{"local-gpu", nil, ""},
		{"databricks:prod", ErrUnknownTarget, "not configured in the workspace file"},
		{"hdinsight:spark", ErrUnknownTarget, "not configured"},
		{"adla", ErrRetired, "retired by Microsoft on 2024-02-29"},
		{"adla:old", ErrRetired, "Spark"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg, err := r.Lookup(tc.name)
			if !errors.Is(err, tc.err) || (tc.err == nil) != (tg != nil) {
				t.Fatalf("Lookup(%q) = %v, %v", tc.name, tg, err)
			}
			if err != nil && !strings.Contains(err.Error(), tc.hint) {
				t.Fatalf("%q lacks %q", err, tc.hint)
			}
		})
	}
	if _, err := (Local{}).Prepare(context.Background(), &spec.Job{Name: "s", Type: "stylize"}); !errors.Is(err, ErrUnsupportedJob) {
		t.Fatalf("stylize on local: %v", err)
	}
}
