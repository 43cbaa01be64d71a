// Package api is the REST API of `sluice serve` (DESIGN.md §5): publishing pipelines, submitting
// and following runs, schedules, plus /healthz, /metrics, /openapi.json and the web view, all
// behind bearer tokens except /healthz.
//
// Contract of every route: JSON in and out (logs are text), request bodies limited in size (413)
// and decoded strictly (an unknown field is 422, malformed JSON 400), errors as
// {"error": {"code": ..., "message": ...}} with 401 (no valid token), 403 (token without the
// scope, or a path outside the data roots), 404, 409 (a published version with other contents),
// 413 and 422 (well-formed but invalid). The routes and their shapes are described by the
// OpenAPI 3 document openapi.json, embedded and served at /openapi.json; tests check the two
// against each other.
//
// Browsers: a GET of a web page with ?token=T sets an HttpOnly, SameSite=Strict cookie holding
// the token and redirects without it; the cookie authenticates GET requests only, so a page of
// another site can make a browser neither read nor change anything.
package api
