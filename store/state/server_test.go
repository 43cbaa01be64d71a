package state

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestServerOwnedRunsSurviveAsAQueue(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "ws")
	ws, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	type setup struct {
		id, owner string
		running   bool
	}
	for _, s := range []setup{{"cli-running", "", true}, {"srv-queued", "server", false}, {"srv-running", "server", true}} {
		if err := ws.CreateRun(ctx, &Run{ID: s.id, Pipeline: "p", Owner: s.owner, Parameters: map[string]string{}}, []string{"a", "b"}); err != nil {
			t.Fatal(err)
		}
		if s.running {
			l, err := ws.LockRun(s.id)
			if err != nil {
				t.Fatal(err)
			}
			_ = ws.StartRun(ctx, s.id, 1)
			_ = ws.UpdateStep(ctx, s.id, "a", StepUpdate{Status: Finished, LogPath: "x"})
			_ = ws.UpdateStep(ctx, s.id, "b", StepUpdate{Status: Running})
			_ = ws.RecordIO(ctx, s.id, "a", "out", IO{Name: "o", Value: "v"})
			l.Release() // its process died
		}
	}
	if err := ws.CreateRun(ctx, &Run{ID: "srv-queued"}, nil); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate id: %v", err)
	}
	ws2, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ws2.Close()
	cases := []struct {
		id    string
		want  Status
		steps string
	}{
		{"cli-running", Interrupted, "Finished Interrupted"},
		{"srv-queued", Queued, "NotStarted NotStarted"},
		{"srv-running", Queued, "NotStarted NotStarted"},
	}
	for _, c := range cases {
		r, err := ws2.GetRun(ctx, c.id)
		if err != nil {
			t.Fatal(err)
		}
		var st []string
		for _, s := range r.Steps {
			st = append(st, string(s.Status))
			if c.id == "srv-running" && (s.LogPath != "" || len(s.Outputs) > 0) {
				t.Fatalf("requeued step keeps its old record: %+v", s)
			}
		}
		if r.Status != c.want || strings.Join(st, " ") != c.steps {
			t.Errorf("%s: %s [%s], want %s [%s]", c.id, r.Status, strings.Join(st, " "), c.want, c.steps)
		}
	}
	q, err := ws2.QueuedRuns(ctx, "server")
	if err != nil || strings.Join(q, ",") != "srv-queued,srv-running" {
		t.Fatalf("queue: %v %v", q, err)
	}
}

func TestTokensAreHashedVerifiedAndRevoked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ws, err := Open(ctx, filepath.Join(t.TempDir(), "ws"))
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	text, tok, err := ws.CreateToken(ctx, "ci", ScopeWrite)
	if err != nil {
		t.Fatal(err)
	}
	var stored string
	if err := ws.db.QueryRowContext(ctx, `SELECT hash FROM tokens WHERE id=?`, tok.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored, text) || stored != tokenHash(text) {
		t.Fatal("the token must be stored as its hash only")
	}
	cases := []struct {
		name, text string
		ok         bool
	}{
		{"valid", text, true},
		{"wrong secret", text[:len(text)-1] + "x", false},
		{"unknown id", "slc_000000000000_" + text[len("slc_000000000000_"):], false},
		{"no prefix", strings.TrimPrefix(text, "slc_"), false},
		{"empty", "", false},
	}
	for _, c := range cases {
		_, err := ws.VerifyToken(ctx, c.text)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrUnauthorized)) {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	if _, _, err := ws.CreateToken(ctx, "x", "admin"); err == nil {
		t.Error("unknown scope accepted")
	}
	if _, err := ws.RevokeToken(ctx, "ci"); err != nil {
		t.Fatal(err)
	}
	if _, err := ws.VerifyToken(ctx, text); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("revoked token: %v", err)
	}
}

func TestPublishedVersionsAreImmutableWithADefault(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ws, err := Open(ctx, filepath.Join(t.TempDir(), "ws"))
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	pub := func(ver, yaml string, def bool) (bool, error) {
		return ws.PublishPipeline(ctx, &PipelineVersion{Name: "p", Version: ver, YAML: yaml}, def)
	}
	if c, err := pub("", "one", false); !c || err != nil {
		t.Fatal(c, err)
	}
	if c, err := pub("", "two", false); !c || err != nil {
		t.Fatal(c, err)
	}
	if c, err := pub("1", "one", true); c || err != nil {
		t.Fatalf("identical republish: %v %v", c, err)
	}
	if _, err := pub("1", "other", true); !errors.Is(err, ErrExists) {
		t.Fatalf("conflicting republish: %v", err)
	}
	p, err := ws.GetPublished(ctx, "p")
	if err != nil || p.DefaultVersion != "1" || len(p.Versions) != 2 || p.Versions[1].Version != "2" {
		t.Fatalf("%+v %v", p, err)
	}
	if v, err := ws.GetPipelineVersion(ctx, "p", ""); err != nil || v.YAML != "one" {
		t.Fatalf("default: %+v %v", v, err)
	}
	if err := ws.SetDefaultVersion(ctx, "p", "2"); err != nil {
		t.Fatal(err)
	}
	if v, err := ws.GetPipelineVersion(ctx, "p", ""); err != nil || v.YAML != "two" {
		t.Fatalf("new default: %+v %v", v, err)
	}
	for _, c := range [][2]string{{"p", "9"}, {"q", ""}} {
		if _, err := ws.GetPipelineVersion(ctx, c[0], c[1]); !errors.Is(err, ErrNotFound) {
			t.Errorf("%v: %v", c, err)
		}
	}
	if err := ws.SetDefaultVersion(ctx, "p", "9"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown default: %v", err)
	}
}
