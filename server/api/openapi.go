package api

import (
	_ "embed"
	"net/http"
)

// OpenAPI is the OpenAPI 3 document of the API (openapi.json beside this file).
//
//go:embed openapi.json
var OpenAPI []byte

func (a *API) openapi(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(OpenAPI)
}
