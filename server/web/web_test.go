package web_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sluice-ml/sluice/server/web"
)

func TestPagesAndAssetsAreEmbedded(t *testing.T) {
	t.Parallel()
	h := web.Handler()
	cases := []struct {
		path string
		code int
		want string
	}{
		{"/", 200, `<script src="/assets/app.js">`},
		{"/runs/abc", 200, `<main id="main">`},
		{"/pipelines/x", 200, `<main id="main">`},
		{"/assets/app.js", 200, "function drawGraph"},
		{"/assets/style.css", 200, "g.node"},
		{"/nope", 404, "not_found"},
		{"/assets/nope.js", 404, ""},
	}
	for _, c := range cases {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, c.path, nil))
		if rec.Code != c.code || !strings.Contains(rec.Body.String(), c.want) {
			t.Errorf("%s: %d %.80q", c.path, rec.Code, rec.Body.String())
		}
	}
}
