//go:build !cuda

package gpu

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/sluice-ml/sluice/internal/testenv"
	"github.com/sluice-ml/sluice/nn"
)

func TestStubAnswersBuiltWithoutCUDA(t *testing.T) {
	t.Parallel()
	if Built {
		t.Fatal("Built is true in a build without the cuda tag")
	}
	if err := Available(); !errors.Is(err, ErrNotBuilt) || !strings.Contains(err.Error(), "built without CUDA") {
		t.Fatalf("Available() = %v", err)
	}
	if _, err := Devices(); !errors.Is(err, ErrNotBuilt) {
		t.Fatalf("Devices() = %v", err)
	}
	if s, err := Open(context.Background(), "model.onnx", Options{}); s != nil || !errors.Is(err, ErrNotBuilt) {
		t.Fatalf("Open = %v, %v", s, err)
	}
	if s, err := NewSession(context.Background(), nil, Options{}); s != nil || !errors.Is(err, ErrNotBuilt) {
		t.Fatalf("NewSession = %v, %v", s, err)
	}
	var s *Session
	if _, err := s.Run(context.Background(), map[string]*nn.Tensor{}); !errors.Is(err, ErrNotBuilt) {
		t.Fatalf("Run = %v", err)
	}
	if _, err := s.ModelOnly(context.Background(), nil, 1); !errors.Is(err, ErrNotBuilt) {
		t.Fatalf("ModelOnly = %v", err)
	}
	if _, err := s.Profile(context.Background(), nil, 1); !errors.Is(err, ErrNotBuilt) {
		t.Fatalf("Profile = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
}

// TestDefaultBuildHasNoCUDA: gorgonia.org/cu exits the process in its init
// when there is no GPU, so the default build of the CLI must not link it.
func TestDefaultBuildHasNoCUDA(t *testing.T) {
	t.Parallel()
	gobin, err := exec.LookPath("go")
	if err != nil {
		testenv.Missing(t, "go command: %v", err)
		return
	}
	out, err := exec.Command(gobin, "list", "-deps", "../cmd/sluice").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps ../cmd/sluice: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 || !contains(deps, "github.com/sluice-ml/sluice/gpu") {
		t.Fatalf("go list gave %d packages, without the gpu package: %q", len(deps), out)
	}
	for _, p := range deps {
		if p == "gorgonia.org/cu" || strings.HasPrefix(p, "gorgonia.org/cu/") {
			t.Fatalf("the default build of cmd/sluice depends on %s", p)
		}
	}
	// The same query with the tag does list it: the check above can fail.
	out, err = exec.Command(gobin, "list", "-e", "-deps", "-tags", "cuda", "../cmd/sluice").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps -tags cuda ../cmd/sluice: %v\n%s", err, out)
	}
	if !contains(strings.Fields(string(out)), "gorgonia.org/cu") {
		t.Fatalf("the cuda build of cmd/sluice does not list gorgonia.org/cu")
	}
}

func contains(l []string, s string) bool {
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}
