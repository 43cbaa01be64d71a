package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sluice-ml/sluice/engine/compute"
	"github.com/sluice-ml/sluice/server/catalog"
	"github.com/sluice-ml/sluice/server/schedule"
	"github.com/sluice-ml/sluice/store/state"
)

// Config sets up the API.
type Config struct {
	Workspace *state.Workspace
	Catalog   *catalog.Catalog
	Scheduler *schedule.Scheduler
	// Metrics serves GET /metrics; Web serves GET / and every other path the API does not own.
	Metrics http.Handler
	Web     http.Handler
	// Progress, when set, returns the latest progress of the running steps of a run (by step
	// name) that report it; GET /api/v1/runs/{id} shows it on those steps.
	Progress func(runID string) map[string]compute.Progress
	// MaxBodyBytes bounds request bodies (default 1 MiB).
	MaxBodyBytes int64
	// MaxInFlight bounds the requests handled at once (default 64); the others wait their turn.
	MaxInFlight int
	// SecureCookies marks the web session cookie Secure (set when serving TLS).
	SecureCookies bool
	// Observe, when set, is called once per request with its route pattern and status code.
	Observe func(route string, code int, d time.Duration)
	Logger  *slog.Logger
}

// API is the HTTP handler of the server.
type API struct {
	cfg   Config
	mux   *http.ServeMux
	slots chan struct{}
}

// Scope needed by a route.
type scope int

const (
	public scope = iota // no token (/healthz)
	read
	write
)

// Route is one method and path pattern the API serves (net/http pattern syntax).
type Route struct {
	Method, Pattern string
	scope           scope
	handler         http.HandlerFunc
}

// New makes the API.
func New(cfg Config) *API {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 64
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	a := &API{cfg: cfg, mux: http.NewServeMux(), slots: make(chan struct{}, cfg.MaxInFlight)}
	for _, rt := range a.Routes() {
		a.mux.Handle(rt.Method+" "+rt.Pattern, a.wrap(rt))
	}
	// Any other method: authenticated like the rest, then a JSON 405 (or 404).
	a.mux.Handle("/", a.wrap(Route{Method: "*", Pattern: "/", scope: read, handler: a.noRoute}))
	return a
}

// noRoute answers a request whose method no route of its path takes.
func (a *API) noRoute(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{"GET", "POST", "PUT", "DELETE"} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := a.mux.Handler(probe); pattern != "/" && pattern != "GET /" && pattern != "" {
			allow = append(allow, m)
		}
	}
	if len(allow) == 0 {
		writeError(w, http.StatusNotFound, "not_found", "no route "+r.Method+" "+r.URL.Path)
		return
	}
	w.Header().Set("Allow", strings.Join(allow, ", "))
	writeError(w, http.StatusMethodNotAllowed, "method_not_allowed",
		r.Method+" "+r.URL.Path+": allowed methods are "+strings.Join(allow, ", "))
}

// Routes lists every route, the web view's catch-all included.
func (a *API) Routes() []Route {
	return []Route{
		{"GET", "/healthz", public, a.healthz},
		{"GET", "/openapi.json", read, a.openapi},
		{"GET", "/metrics", read, a.metrics},
		{"POST", "/api/v1/pipelines", write, a.publish},
		{"GET", "/api/v1/pipelines", read, a.listPipelines},
		{"GET", "/api/v1/pipelines/{name}", read, a.getPipeline},
		{"PUT", "/api/v1/pipelines/{name}/default", write, a.setDefault},
		{"POST", "/api/v1/pipelines/{name}/runs", write, a.submit},
		{"GET", "/api/v1/runs", read, a.listRuns},
		{"GET", "/api/v1/runs/{id}", read, a.getRun},
		{"GET", "/api/v1/runs/{id}/logs", read, a.logs},
		{"POST", "/api/v1/runs/{id}/cancel", write, a.cancel},
		{"GET", "/api/v1/schedules", read, a.listSchedules},
		{"POST", "/api/v1/schedules", write, a.createSchedule},
		{"GET", "/api/v1/schedules/{id}", read, a.getSchedule},
		{"DELETE", "/api/v1/schedules/{id}", write, a.deleteSchedule},
		{"POST", "/api/v1/schedules/{id}/pause", write, a.pauseSchedule},
		{"POST", "/api/v1/schedules/{id}/resume", write, a.resumeSchedule},
		{"GET", "/", read, a.web},
	}
}

// ServeHTTP serves the API.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Flush lets streaming handlers flush through the wrapper.
func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (a *API) wrap(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if a.cfg.Observe != nil {
				a.cfg.Observe(rt.Method+" "+rt.Pattern, sw.code, time.Since(start))
			}
		}()
		if rt.scope != public {
			select {
			case a.slots <- struct{}{}:
				defer func() { <-a.slots }()
			case <-r.Context().Done():
				writeError(sw, http.StatusServiceUnavailable, "unavailable", "the server is busy")
				return
			}
			tok, ok := a.authenticate(sw, r)
			if !ok {
				return
			}
			if rt.scope == write && tok.Scope != state.ScopeWrite {
				writeError(sw, http.StatusForbidden, "forbidden", "this token may only read (scope "+tok.Scope+")")
				return
			}
			r = r.WithContext(context.WithValue(r.Context(), tokenKey{}, tok))
		}
		rt.handler(sw, r)
	})
}

type tokenKey struct{}

const cookieName = "sluice_token"

// authenticate checks the bearer token (or, for GET, the session cookie). A GET of a web page
// with ?token= sets the cookie and redirects to the same page without the token.
func (a *API) authenticate(w http.ResponseWriter, r *http.Request) (*state.Token, bool) {
	text, fromQuery := "", false
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, rest, _ := strings.Cut(h, " ")
		if strings.EqualFold(scheme, "Bearer") {
			text = strings.TrimSpace(rest)
		}
	} else if r.Method == http.MethodGet || r.Method == http.MethodHead {
		if q := r.URL.Query().Get("token"); q != "" && !strings.HasPrefix(r.URL.Path, "/api/") {
			text, fromQuery = q, true
		} else if c, err := r.Cookie(cookieName); err == nil {
			text = c.Value
		}
	}
	if text == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="sluice"`)
		writeError(w, http.StatusUnauthorized, "unauthorized", "a bearer token is required (Authorization: Bearer TOKEN)")
		return nil, false
	}
	tok, err := a.cfg.Workspace.VerifyToken(r.Context(), text)
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="sluice", error="invalid_token"`)
		if errors.Is(err, state.ErrUnauthorized) {
			writeError(w, http.StatusUnauthorized, "unauthorized", "the token is invalid or revoked")
		} else {
			writeError(w, http.StatusInternalServerError, "internal", "checking the token failed")
		}
		return nil, false
	}
	if fromQuery {
		http.SetCookie(w, &http.Cookie{Name: cookieName, Value: text, Path: "/", HttpOnly: true,
			SameSite: http.SameSiteStrictMode, Secure: a.cfg.SecureCookies})
		u := *r.URL
		q := u.Query()
		q.Del("token")
		u.RawQuery = q.Encode()
		http.Redirect(w, r, (&url.URL{Path: u.Path, RawQuery: u.RawQuery}).String(), http.StatusSeeOther)
		return nil, false
	}
	return tok, true
}

func tokenOf(r *http.Request) *state.Token {
	t, _ := r.Context().Value(tokenKey{}).(*state.Token)
	return t
}

func (a *API) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (a *API) metrics(w http.ResponseWriter, r *http.Request) {
	if a.cfg.Metrics == nil {
		writeError(w, http.StatusNotFound, "not_found", "metrics are off")
		return
	}
	a.cfg.Metrics.ServeHTTP(w, r)
}

func (a *API) web(w http.ResponseWriter, r *http.Request) {
	if a.cfg.Web == nil || strings.HasPrefix(r.URL.Path, "/api/") {
		writeError(w, http.StatusNotFound, "not_found", "no route "+r.Method+" "+r.URL.Path)
		return
	}
	a.cfg.Web.ServeHTTP(w, r)
}

// idempotentID derives a run id from an Idempotency-Key header, per token.
func idempotentID(tok *state.Token, key string) string {
	h := sha256.Sum256([]byte(tok.ID + "\x00" + key))
	return "idem-" + hex.EncodeToString(h[:12])
}
