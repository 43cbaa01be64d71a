package api

import (
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sluice-ml/sluice/engine/compute"
	"github.com/sluice-ml/sluice/engine/executor"
	"github.com/sluice-ml/sluice/store/state"
)

// StepJSON is a step of a run.
type StepJSON struct {
	Name       string     `json:"name"`
	Status     string     `json:"status"`
	Attempts   int        `json:"attempts"`
	Started    *time.Time `json:"started"`
	Ended      *time.Time `json:"ended"`
	DurationS  *float64   `json:"duration_s"`
	Reused     bool       `json:"reused"`
	ReusedFrom string     `json:"reused_from,omitempty"`
	Message    string     `json:"message,omitempty"`
	Upstream   []string   `json:"upstream"`
	HasLog     bool       `json:"has_log"`
	Inputs     []state.IO `json:"inputs"`
	Outputs    []state.IO `json:"outputs"`
	// Progress: how far a running dataflow step (parallel, dataflow, score) is, as it last
	// reported (every few seconds); absent for other steps and once the step ends.
	Progress *ProgressJSON `json:"progress,omitempty"`
}

// ProgressJSON is a running step's progress.
type ProgressJSON struct {
	Done  int64 `json:"done"`
	Total int64 `json:"total"` // 0 when unknown
	// ItemsPerS: items written per second since the step started.
	ItemsPerS float64 `json:"items_per_s"`
	// ETAS: seconds left at that rate; null when unknown.
	ETAS *float64 `json:"eta_s"`
	// Bottleneck: the stage that limits the rate ("decode-bound", "infer-bound", "write-bound").
	Bottleneck string `json:"bottleneck,omitempty"`
}

func progressJSON(p compute.Progress) *ProgressJSON {
	out := &ProgressJSON{Done: p.Done, Total: p.Total, ItemsPerS: p.PerSec, Bottleneck: p.Bottleneck}
	if p.ETA > 0 {
		eta := p.ETA.Seconds()
		out.ETAS = &eta
	}
	return out
}

// RunJSON is a run with its steps.
type RunJSON struct {
	ID         string            `json:"id"`
	Pipeline   string            `json:"pipeline"`
	Status     string            `json:"status"`
	Parameters map[string]string `json:"parameters"`
	Created    time.Time         `json:"created"`
	Started    *time.Time        `json:"started"`
	Ended      *time.Time        `json:"ended"`
	Message    string            `json:"message,omitempty"`
	// Version is the published version the run was submitted from; Schedule the schedule that
	// fired it. Both are absent for runs not submitted to the server (sluice run).
	Version  string     `json:"version,omitempty"`
	Schedule string     `json:"schedule,omitempty"`
	Steps    []StepJSON `json:"steps"`
}

// RunSummaryJSON is a run in a list.
type RunSummaryJSON struct {
	ID       string     `json:"id"`
	Pipeline string     `json:"pipeline"`
	Status   string     `json:"status"`
	Created  time.Time  `json:"created"`
	Started  *time.Time `json:"started"`
	Ended    *time.Time `json:"ended"`
	Message  string     `json:"message,omitempty"`
}

func tp(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func durationS(a, b time.Time) *float64 {
	if a.IsZero() {
		return nil
	}
	if b.IsZero() {
		b = time.Now()
	}
	d := b.Sub(a).Seconds()
	return &d
}

// graphs caches the upstream steps of each pipeline text.
var graphs sync.Map // [32]byte -> map[string][]string

func upstreamOf(r *state.Run) map[string][]string {
	key := sha256.Sum256([]byte(r.PipelineFile + "\x00" + r.Spec))
	if g, ok := graphs.Load(key); ok {
		return g.(map[string][]string)
	}
	g := map[string][]string{}
	if p, err := executor.LoadPipeline(r); err == nil {
		for _, name := range p.JobOrder {
			g[name] = append([]string{}, p.Upstream(name)...)
		}
	}
	graphs.Store(key, g)
	return g
}

func runJSON(r *state.Run) RunJSON {
	out := RunJSON{ID: r.ID, Pipeline: r.Pipeline, Status: string(r.Status), Parameters: r.Parameters,
		Created: r.Created.UTC(), Started: tp(r.Started), Ended: tp(r.Ended), Message: r.Message, Steps: []StepJSON{}}
	if out.Parameters == nil {
		out.Parameters = map[string]string{}
	}
	ups := upstreamOf(r)
	for _, s := range r.Steps {
		sj := StepJSON{Name: s.Name, Status: string(s.Status), Attempts: s.Attempts, Started: tp(s.Started), Ended: tp(s.Ended),
			Reused: s.Status == state.Reused, ReusedFrom: s.ReusedFrom, Message: s.Message, Upstream: ups[s.Name],
			HasLog: s.LogPath != "", Inputs: s.Inputs, Outputs: s.Outputs}
		if s.Status != state.Reused && (s.Status == state.Running || !s.Ended.IsZero()) {
			sj.DurationS = durationS(s.Started, s.Ended)
		}
		if sj.Upstream == nil {
			sj.Upstream = []string{}
		}
		if sj.Inputs == nil {
			sj.Inputs = []state.IO{}
		}
		if sj.Outputs == nil {
			sj.Outputs = []state.IO{}
		}
		out.Steps = append(out.Steps, sj)
	}
	return out
}

func (a *API) getRun(w http.ResponseWriter, r *http.Request) {
	rec, err := a.cfg.Workspace.GetRun(r.Context(), r.PathValue("id"))
	if err != nil {
		fail(w, err)
		return
	}
	out := runJSON(rec)
	if a.cfg.Progress != nil {
		if prog := a.cfg.Progress(rec.ID); prog != nil {
			for i := range out.Steps {
				if p, ok := prog[out.Steps[i].Name]; ok && out.Steps[i].Status == string(state.Running) {
					out.Steps[i].Progress = progressJSON(p)
				}
			}
		}
	}
	if src, err := a.cfg.Workspace.GetRunSource(r.Context(), rec.ID); err == nil {
		out.Version, out.Schedule = src.Version, src.Schedule
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) listRuns(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := state.RunFilter{Pipeline: q.Get("pipeline"), Status: state.Status(q.Get("status"))}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			fail(w, fmt.Errorf("%w: limit %q: want 1 to 1000", ErrInvalidBody, l))
			return
		}
		f.Limit = n
	}
	runs, err := a.cfg.Workspace.FindRuns(r.Context(), f)
	if err != nil {
		fail(w, err)
		return
	}
	out := struct {
		Runs []RunSummaryJSON `json:"runs"`
	}{Runs: []RunSummaryJSON{}}
	for _, x := range runs {
		out.Runs = append(out.Runs, RunSummaryJSON{ID: x.ID, Pipeline: x.Pipeline, Status: string(x.Status),
			Created: x.Created.UTC(), Started: tp(x.Started), Ended: tp(x.Ended), Message: x.Message})
	}
	writeJSON(w, http.StatusOK, out)
}

// maxLog bounds the bytes of one step's log an answer carries (its end is kept).
const maxLog = 1 << 20

func (a *API) logs(w http.ResponseWriter, r *http.Request) {
	rec, err := a.cfg.Workspace.GetRun(r.Context(), r.PathValue("id"))
	if err != nil {
		fail(w, err)
		return
	}
	step := r.URL.Query().Get("step")
	var steps []state.Step
	for _, s := range rec.Steps {
		if step == "" || s.Name == step {
			steps = append(steps, s)
		}
	}
	if step != "" && len(steps) == 0 {
		fail(w, fmt.Errorf("run %s has no step %q: %w", rec.ID, step, state.ErrNotFound))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	for _, s := range steps {
		if step == "" {
			fmt.Fprintf(w, "==> %s (%s) <==\n", s.Name, s.Status)
		}
		a.copyLog(w, s.LogPath)
	}
}

func (a *API) copyLog(w io.Writer, path string) {
	if path == "" {
		return
	}
	rel, err := filepath.Rel(a.cfg.Workspace.Dir(), path)
	if err != nil || strings.HasPrefix(rel, "..") {
		return // never serve a file outside the workspace
	}
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > maxLog {
		fmt.Fprintf(w, "[... %d bytes before this point left out ...]\n", st.Size()-maxLog)
		_, _ = f.Seek(st.Size()-maxLog, io.SeekStart)
	}
	_, _ = io.Copy(w, io.LimitReader(f, maxLog))
}

// CancelResponse answers a cancel.
type CancelResponse struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Message string `json:"message"`
}

func (a *API) cancel(w http.ResponseWriter, r *http.Request) {
	rec, err := a.cfg.Workspace.GetRun(r.Context(), r.PathValue("id"))
	if err != nil {
		fail(w, err)
		return
	}
	st, err := a.cfg.Workspace.RequestCancel(r.Context(), rec.ID)
	if err != nil {
		fail(w, err)
		return
	}
	msg, code := "cancel requested; its steps are being stopped", http.StatusAccepted
	switch {
	case st == state.Canceled:
		msg, code = "canceled", http.StatusOK
	case st.Terminal():
		msg, code = "the run had already ended", http.StatusOK
	}
	writeJSON(w, code, CancelResponse{ID: rec.ID, Status: string(st), Message: msg})
}
