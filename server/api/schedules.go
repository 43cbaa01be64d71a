package api

import (
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/sluice-ml/sluice/store/state"
)

// ScheduleRequest is the body of POST /api/v1/schedules.
type ScheduleRequest struct {
	Name       string         `json:"name"`
	Pipeline   string         `json:"pipeline"`
	Version    string         `json:"version"`
	Cron       string         `json:"cron"`
	TimeZone   string         `json:"timezone"`
	WatchPath  string         `json:"watch_path"`
	Parameter  string         `json:"parameter"`
	Parameters map[string]any `json:"parameters"`
	Paused     bool           `json:"paused"`
}

// ScheduleJSON is a schedule.
type ScheduleJSON struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Kind       string            `json:"kind"`
	Pipeline   string            `json:"pipeline"`
	Version    string            `json:"version"`
	Cron       string            `json:"cron,omitempty"`
	TimeZone   string            `json:"timezone,omitempty"`
	WatchPath  string            `json:"watch_path,omitempty"`
	Parameter  string            `json:"parameter,omitempty"`
	Parameters map[string]string `json:"parameters"`
	Paused     bool              `json:"paused"`
	Created    time.Time         `json:"created"`
	LastFire   *time.Time        `json:"last_fire"`
}

func scheduleJSON(s *state.Schedule) ScheduleJSON {
	p := s.Parameters
	if p == nil {
		p = map[string]string{}
	}
	return ScheduleJSON{ID: s.ID, Name: s.Name, Kind: s.Kind, Pipeline: s.Pipeline, Version: s.Version, Cron: s.Cron,
		TimeZone: s.TimeZone, WatchPath: s.WatchPath, Parameter: s.Parameter, Parameters: p, Paused: s.Paused,
		Created: s.Created.UTC(), LastFire: tp(s.LastFire)}
}

func (a *API) createSchedule(w http.ResponseWriter, r *http.Request) {
	var req ScheduleRequest
	if err := decode(w, r, a.cfg.MaxBodyBytes, &req); err != nil {
		fail(w, err)
		return
	}
	s := &state.Schedule{Name: req.Name, Pipeline: req.Pipeline, Version: req.Version, Cron: req.Cron, TimeZone: req.TimeZone,
		WatchPath: req.WatchPath, Parameter: req.Parameter, Parameters: map[string]string{}, Paused: req.Paused}
	switch {
	case req.Cron != "" && req.WatchPath == "":
		s.Kind = state.ScheduleCron
	case req.WatchPath != "" && req.Cron == "":
		s.Kind = state.ScheduleDatastore
	default:
		fail(w, fmt.Errorf("%w: give either cron (with timezone) or watch_path (with parameter)", ErrInvalidBody))
		return
	}
	keys := make([]string, 0, len(req.Parameters))
	for k := range req.Parameters {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v, err := paramText(k, req.Parameters[k])
		if err != nil {
			fail(w, err)
			return
		}
		s.Parameters[k] = v
	}
	if err := a.cfg.Scheduler.Validate(r.Context(), s); err != nil {
		fail(w, err)
		return
	}
	if err := a.cfg.Workspace.CreateSchedule(r.Context(), s); err != nil {
		fail(w, err)
		return
	}
	w.Header().Set("Location", "/api/v1/schedules/"+s.ID)
	writeJSON(w, http.StatusCreated, scheduleJSON(s))
}

func (a *API) listSchedules(w http.ResponseWriter, r *http.Request) {
	ss, err := a.cfg.Workspace.ListSchedules(r.Context())
	if err != nil {
		fail(w, err)
		return
	}
	out := struct {
		Schedules []ScheduleJSON `json:"schedules"`
	}{Schedules: []ScheduleJSON{}}
	for _, s := range ss {
		out.Schedules = append(out.Schedules, scheduleJSON(s))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) getSchedule(w http.ResponseWriter, r *http.Request) {
	s, err := a.cfg.Workspace.GetSchedule(r.Context(), r.PathValue("id"))
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, scheduleJSON(s))
}

func (a *API) deleteSchedule(w http.ResponseWriter, r *http.Request) {
	if err := a.cfg.Workspace.DeleteSchedule(r.Context(), r.PathValue("id")); err != nil {
		fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) pauseSchedule(w http.ResponseWriter, r *http.Request)  { a.setPaused(w, r, true) }
func (a *API) resumeSchedule(w http.ResponseWriter, r *http.Request) { a.setPaused(w, r, false) }

func (a *API) setPaused(w http.ResponseWriter, r *http.Request, paused bool) {
	id := r.PathValue("id")
	if err := a.cfg.Workspace.SetSchedulePaused(r.Context(), id, paused); err != nil {
		fail(w, err)
		return
	}
	s, err := a.cfg.Workspace.GetSchedule(r.Context(), id)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, scheduleJSON(s))
}
