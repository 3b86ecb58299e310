package api_test

import (
	"net/http"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/securo/webhooks/api"
	"github.com/securo/webhooks/api/dashboard"
)

func TestTheDashboardIsServedWithItsOwnPolicy(t *testing.T) {
	guide := fstest.MapFS{
		"webhooks.md":         {Data: []byte("# Webhooks guide\n\nStep **one**.\n\n<script>alert(1)</script>\n\n![shot](images/a.png)\n")},
		"images/a.png":        {Data: []byte("\x89PNG\r\n\x1a\n")},
		"images/nested/b.txt": {Data: []byte("x")},
	}
	dash, err := dashboard.New(dashboard.Config{TemporalUIURL: "http://127.0.0.1:8233/", TemporalNamespace: "ns1", Guide: guide})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, "sqlite", func(d *api.Deps) { d.Dashboard = dash })

	cases := []struct {
		path, contentType, contains string
	}{
		{"/dashboard", "text/html", `<script type="module" src="/dashboard/assets/app.js">`},
		{"/dashboard/", "text/html", `id="main"`},
		{"/dashboard/assets/app.js", "text/javascript", "renderWebhooks"},
		{"/dashboard/assets/style.css", "text/css", ":focus-visible"},
		{"/dashboard/config.json", "application/json", `{"temporal_ui_url":"http://127.0.0.1:8233","temporal_namespace":"ns1","guide":true}`},
		{"/dashboard/guide", "text/html", "<strong>one</strong>"},
		{"/dashboard/images/a.png", "image/png", "PNG"},
	}
	for _, tc := range cases {
		t.Run(tc.path, func(t *testing.T) {
			r := h.do("GET", tc.path, "", "").want(t, http.StatusOK)
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, tc.contentType) {
				t.Errorf("Content-Type %q, want %s", ct, tc.contentType)
			}
			if !strings.Contains(string(r.body), tc.contains) {
				t.Errorf("body lacks %q:\n%.400s", tc.contains, r.body)
			}
			csp := r.header.Get("Content-Security-Policy")
			for _, want := range []string{"script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("Content-Security-Policy %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-inline") || r.header.Get("X-Frame-Options") != "DENY" || r.header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("weak headers: %v", r.header)
			}
		})
	}

	t.Run("the guide drops raw HTML and is titled by its heading", func(t *testing.T) {
		body := string(h.do("GET", "/dashboard/guide", "", "").want(t, http.StatusOK).body)
		if strings.Contains(body, "alert(1)") || !strings.Contains(body, "<title>Webhooks guide · Securo Webhooks</title>") {
			t.Fatalf("guide page:\n%s", body)
		}
	})
	t.Run("unknown dashboard paths are 404 and the API keeps its strict policy", func(t *testing.T) {
		h.do("GET", "/dashboard/nope", "", "").want(t, http.StatusNotFound)
		h.do("GET", "/dashboard/assets/", "", "").want(t, http.StatusNotFound)
		h.do("GET", "/dashboard/images/nested/", "", "").want(t, http.StatusNotFound)
		h.do("POST", "/dashboard", "", "").want(t, http.StatusMethodNotAllowed)
		h.do("HEAD", "/dashboard", "", "").want(t, http.StatusOK)
		r := h.do("GET", "/v1/endpoints", h.keyA, "").want(t, http.StatusOK)
		if csp := r.header.Get("Content-Security-Policy"); !strings.HasPrefix(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
			t.Fatalf("the API's policy changed: %q", csp)
		}
	})
}

func TestWithoutAGuideTheDashboardSaysSo(t *testing.T) {
	dash, err := dashboard.New(dashboard.Config{})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, "sqlite", func(d *api.Deps) { d.Dashboard = dash })
	r := h.do("GET", "/dashboard/config.json", "", "").want(t, http.StatusOK)
	if string(r.body) != `{"temporal_ui_url":"","temporal_namespace":"","guide":false}` {
		t.Fatalf("config %s", r.body)
	}
	h.do("GET", "/dashboard/guide", "", "").want(t, http.StatusNotFound)
}
