package api

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/sluice-ml/sluice/server/catalog"
	"github.com/sluice-ml/sluice/store/state"
)

// PublishRequest is the body of POST /api/v1/pipelines.
type PublishRequest struct {
	Name        string `json:"name"`
	Version     string `json:"version"`
	Description string `json:"description"`
	YAML        string `json:"yaml"`
	// Default makes this version the default; the first version of a name always is.
	Default *bool `json:"default"`
}

// VersionJSON is a published version.
type VersionJSON struct {
	Version     string    `json:"version"`
	Description string    `json:"description"`
	Created     time.Time `json:"created"`
	Default     bool      `json:"default"`
	YAML        string    `json:"yaml,omitempty"`
}

// InputJSON describes a pipeline input (a parameter a submit may set).
type InputJSON struct {
	Name        string  `json:"name"`
	Type        string  `json:"type"`
	Default     *string `json:"default"`
	Optional    bool    `json:"optional"`
	Description string  `json:"description,omitempty"`
}

// PipelineJSON is a published pipeline with its versions.
type PipelineJSON struct {
	Name           string        `json:"name"`
	DefaultVersion string        `json:"default_version"`
	Description    string        `json:"description"`
	Created        time.Time     `json:"created"`
	Updated        time.Time     `json:"updated"`
	Versions       []VersionJSON `json:"versions"`
	// Inputs and Jobs describe the default version, or the one asked for with ?version= (GET
	// of one pipeline only).
	Inputs []InputJSON `json:"inputs,omitempty"`
	Jobs   []string    `json:"jobs,omitempty"`
}

func pipelineJSON(p *state.PublishedPipeline) PipelineJSON {
	out := PipelineJSON{Name: p.Name, DefaultVersion: p.DefaultVersion, Created: p.Created, Updated: p.Updated,
		Versions: []VersionJSON{}}
	for _, v := range p.Versions {
		out.Versions = append(out.Versions, VersionJSON{Version: v.Version, Description: v.Description, Created: v.Created,
			Default: v.Version == p.DefaultVersion})
		if v.Version == p.DefaultVersion {
			out.Description = v.Description
		}
	}
	return out
}

func (a *API) publish(w http.ResponseWriter, r *http.Request) {
	var req PublishRequest
	if err := decode(w, r, a.cfg.MaxBodyBytes, &req); err != nil {
		fail(w, err)
		return
	}
	if req.YAML == "" {
		fail(w, fmt.Errorf("%w: yaml: the pipeline file's text is required", ErrInvalidBody))
		return
	}
	v := &state.PipelineVersion{Name: req.Name, Version: req.Version, Description: req.Description, YAML: req.YAML}
	created, err := a.cfg.Catalog.Publish(r.Context(), v, req.Default == nil || *req.Default)
	if err != nil {
		fail(w, err)
		return
	}
	p, err := a.cfg.Workspace.GetPublished(r.Context(), v.Name)
	if err != nil {
		fail(w, err)
		return
	}
	code := http.StatusCreated
	if !created {
		code = http.StatusOK
	}
	w.Header().Set("Location", "/api/v1/pipelines/"+p.Name)
	writeJSON(w, code, pipelineJSON(p))
}

func (a *API) listPipelines(w http.ResponseWriter, r *http.Request) {
	ps, err := a.cfg.Workspace.ListPublished(r.Context())
	if err != nil {
		fail(w, err)
		return
	}
	out := struct {
		Pipelines []PipelineJSON `json:"pipelines"`
	}{Pipelines: []PipelineJSON{}}
	for _, p := range ps {
		out.Pipelines = append(out.Pipelines, pipelineJSON(p))
	}
	writeJSON(w, http.StatusOK, out)
}

func (a *API) getPipeline(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	p, err := a.cfg.Workspace.GetPublished(r.Context(), name)
	if err != nil {
		fail(w, err)
		return
	}
	out := pipelineJSON(p)
	sp, v, err := a.cfg.Catalog.Pipeline(r.Context(), name, r.URL.Query().Get("version"))
	if err != nil {
		fail(w, err)
		return
	}
	for i := range out.Versions {
		if out.Versions[i].Version == v.Version {
			out.Versions[i].YAML = v.YAML
		}
	}
	for _, n := range sp.InputOrder {
		in := sp.Inputs[n]
		ij := InputJSON{Name: n, Type: string(in.Type), Optional: in.Optional, Description: in.Description}
		if in.Default != nil {
			s := in.Default.String()
			ij.Default = &s
		}
		out.Inputs = append(out.Inputs, ij)
	}
	out.Jobs = append([]string(nil), sp.TopoOrder()...)
	writeJSON(w, http.StatusOK, out)
}

// DefaultRequest is the body of PUT /api/v1/pipelines/{name}/default.
type DefaultRequest struct {
	Version string `json:"version"`
}

func (a *API) setDefault(w http.ResponseWriter, r *http.Request) {
	var req DefaultRequest
	if err := decode(w, r, a.cfg.MaxBodyBytes, &req); err != nil {
		fail(w, err)
		return
	}
	name := r.PathValue("name")
	if err := a.cfg.Workspace.SetDefaultVersion(r.Context(), name, req.Version); err != nil {
		fail(w, err)
		return
	}
	p, err := a.cfg.Workspace.GetPublished(r.Context(), name)
	if err != nil {
		fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, pipelineJSON(p))
}

// SubmitRequest is the body of POST /api/v1/pipelines/{name}/runs: this API's own fields, or
// the Azure ML published-pipeline body (ExperimentName, ParameterAssignments), not both.
type SubmitRequest struct {
	Parameters map[string]any `json:"parameters"`
	Version    string         `json:"version"`
	NoReuse    bool           `json:"no_reuse"`

	ExperimentName       string         `json:"ExperimentName"`
	ParameterAssignments map[string]any `json:"ParameterAssignments"`
	RunSource            string         `json:"RunSource"`
	Description          string         `json:"Description"`
}

// SubmitResponse answers a submit.
type SubmitResponse struct {
	ID         string            `json:"id"`
	AzureID    string            `json:"Id"` // the same id, for Azure ML clients
	Status     string            `json:"status"`
	Pipeline   string            `json:"pipeline"`
	Version    string            `json:"version"`
	Parameters map[string]string `json:"parameters"`
	Experiment string            `json:"experiment,omitempty"`
	Created    time.Time         `json:"created"`
	URL        string            `json:"url"`
}

func (a *API) submit(w http.ResponseWriter, r *http.Request) {
	var req SubmitRequest
	if err := decode(w, r, a.cfg.MaxBodyBytes, &req); err != nil {
		fail(w, err)
		return
	}
	if req.Parameters != nil && req.ParameterAssignments != nil {
		fail(w, fmt.Errorf("%w: give parameters or ParameterAssignments, not both", ErrInvalidBody))
		return
	}
	raw := req.Parameters
	if raw == nil {
		raw = req.ParameterAssignments
	}
	params := make(map[string]string, len(raw))
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s, err := paramText(k, raw[k])
		if err != nil {
			fail(w, err)
			return
		}
		params[k] = s
	}
	sub := catalog.Submission{Pipeline: r.PathValue("name"), Version: req.Version, Parameters: params, NoReuse: req.NoReuse}
	key := r.Header.Get("Idempotency-Key")
	if key != "" {
		if len(key) > 200 {
			fail(w, fmt.Errorf("%w: Idempotency-Key longer than 200 characters", ErrInvalidBody))
			return
		}
		sub.RunID = idempotentID(tokenOf(r), key)
	}
	rec, v, err := a.cfg.Catalog.Submit(r.Context(), sub)
	code := http.StatusCreated
	if key != "" && errors.Is(err, state.ErrExists) {
		// The same request again: answer with the run it made.
		rec, err = a.cfg.Workspace.GetRun(r.Context(), sub.RunID)
		code = http.StatusOK
		if err == nil {
			v = &state.PipelineVersion{Version: req.Version}
		}
	}
	if err != nil {
		fail(w, err)
		return
	}
	w.Header().Set("Location", "/api/v1/runs/"+rec.ID)
	writeJSON(w, code, SubmitResponse{ID: rec.ID, AzureID: rec.ID, Status: string(rec.Status), Pipeline: rec.Pipeline,
		Version: v.Version, Parameters: rec.Parameters, Experiment: req.ExperimentName, Created: rec.Created,
		URL: "/api/v1/runs/" + rec.ID})
}
