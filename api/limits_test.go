package api_test

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/securo/webhooks/api"
)

func TestEveryAnswerCarriesSecurityHeaders(t *testing.T) {
	h := newHarness(t, "sqlite")
	ep := h.createEndpoint(h.keyA, `{"url":"https://a.example.com"}`)
	answers := map[string]reply{
		"health":               h.do("GET", "/healthz", "", ""),
		"unauthorized":         h.do("GET", "/v1/endpoints", "", ""),
		"a created endpoint":   h.do("POST", "/v1/endpoints", h.keyA, `{"url":"https://b.example.com"}`),
		"an endpoint":          h.do("GET", "/v1/endpoints/"+ep.ID, h.keyA, ""),
		"a secret":             h.do("GET", "/v1/endpoints/"+ep.ID+"/secret", h.keyA, ""),
		"a rotated secret":     h.do("POST", "/v1/endpoints/"+ep.ID+"/secret/rotate", h.keyA, ""),
		"a new API key":        h.do("POST", "/v1/api-keys", h.keyA, `{}`),
		"a validation error":   h.do("POST", "/v1/endpoints", h.keyA, `{"url":"ftp://x"}`),
		"an unknown route":     h.do("GET", "/nothing", "", ""),
		"a method not allowed": h.do("PUT", "/v1/events", h.keyA, `{}`),
	}
	want := map[string]string{
		"X-Content-Type-Options":  "nosniff",
		"X-Frame-Options":         "DENY",
		"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
		"Referrer-Policy":         "no-referrer",
		"Cache-Control":           "no-store",
	}
	for name, r := range answers {
		for header, value := range want {
			if got := r.header.Get(header); got != value {
				t.Errorf("%s (%d): %s = %q, want %q", name, r.status, header, got, value)
			}
		}
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s: Content-Type %q, want JSON", name, ct)
		}
	}
}

func TestAKeptResponseBodyNeverReachesABrowserAsHTML(t *testing.T) {
	// What receivers answer is kept on attempts and shown through the API:
	// it goes out as a JSON string, under nosniff and a CSP that runs nothing.
	h := newHarness(t, "sqlite")
	r := h.do("GET", "/v1/events?type=%3Cscript%3E", h.keyA, "")
	if strings.Contains(r.header.Get("Content-Type"), "html") || r.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("headers %v", r.header)
	}
}

func TestRateLimitIsPerAccountAndSaysWhenToRetry(t *testing.T) {
	h := newHarness(t, "sqlite", func(d *api.Deps) { d.RateLimit = api.RateLimit{Requests: 3, Per: time.Minute} })
	for range 3 {
		h.do("GET", "/v1/endpoints", h.keyA, "").want(t, http.StatusOK)
	}
	before := h.snapshot()
	r := h.do("POST", "/v1/events", h.keyA, `{"type":"a","data":{}}`)
	e := r.wantError(t, http.StatusTooManyRequests, "rate_limited", "")
	retry, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || retry < 1 || retry > 20 {
		t.Errorf("Retry-After %q, want 1 to 20 seconds (one request every 20 s)", r.header.Get("Retry-After"))
	}
	if !strings.Contains(e.Message, "3 per 1m0s") {
		t.Errorf("message %q does not state the limit", e.Message)
	}
	if h.snapshot() != before {
		t.Error("a rate-limited request changed the store")
	}
	h.do("GET", "/v1/endpoints", h.keyB, "").want(t, http.StatusOK)
	h.do("GET", "/healthz", "", "").want(t, http.StatusOK)
}

func TestNoRateLimitUnlessConfigured(t *testing.T) {
	h := newHarness(t, "sqlite")
	for range 200 {
		h.do("GET", "/v1/endpoints", h.keyA, "").want(t, http.StatusOK)
	}
}

func TestLongURLsAndHeadersAreRefused(t *testing.T) {
	h := newHarness(t, "sqlite")
	before := h.snapshot()
	h.do("GET", "/v1/events?type="+strings.Repeat("a", 5000), h.keyA, "").wantError(t, http.StatusRequestURITooLong, "uri_too_long", "")
	h.do("POST", "/v1/endpoints?x="+strings.Repeat("a", 5000), h.keyA, `{"url":"https://a.example.com"}`).wantError(t, http.StatusRequestURITooLong, "uri_too_long", "")
	r := h.do("GET", "/v1/endpoints", h.keyA, "", "X-Padding", strings.Repeat("p", 32<<10))
	if r.status != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("a 32 KiB header: status %d, want 431", r.status)
	}
	h.do("GET", "/v1/endpoints", h.keyA, "", "X-Padding", strings.Repeat("p", 8<<10)).want(t, http.StatusOK)
	if h.snapshot() != before {
		t.Error("a refused request changed the store")
	}
}

func TestSecretsAndKeysAreNeverLogged(t *testing.T) {
	logs := &syncBuffer{}
	h := newHarness(t, "sqlite", func(d *api.Deps) {
		d.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	h.launcher.err = errors.New("temporal is down") // failures are logged
	ep := h.createEndpoint(h.keyA, `{"url":"https://a.example.com"}`)
	h.do("GET", "/v1/endpoints/"+ep.ID+"/secret", h.keyA, "").want(t, http.StatusOK)
	h.do("PATCH", "/v1/endpoints/"+ep.ID, h.keyA, `{"description":"x"}`).want(t, http.StatusOK)
	key := h.createAPIKey(h.keyA, "ci")
	h.do("GET", "/v1/api-keys", key.Key, "").want(t, http.StatusOK)
	h.postEvent(key.Key, `{"type":"a","data":{}}`)
	h.do("GET", "/v1/endpoints", "", "", "Authorization", "Bearer "+h.keyB+"x").want(t, http.StatusUnauthorized)
	if !strings.Contains(logs.String(), "temporal is down") {
		t.Fatalf("nothing was logged at debug level; the test checks nothing:\n%s", logs.String())
	}
	for name, secret := range map[string]string{"the endpoint secret": ep.Secret, "a new key": key.Key, "A's key": h.keyA, "B's key": h.keyB} {
		if strings.Contains(logs.String(), secret) || strings.Contains(logs.String(), secret[6:]) {
			t.Errorf("the logs hold %s", name)
		}
	}
}
