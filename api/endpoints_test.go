package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/securo/webhooks/api"
	"github.com/securo/webhooks/internal/storetest"
)

func TestEndpointLifecycle(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		h := newHarness(t, kind)

		ep := h.createEndpoint(h.keyA, `{"url":"https://hooks.example.com/in?x=1&y=2"}`)
		if ep.ID == "" || ep.URL != "https://hooks.example.com/in?x=1&y=2" || ep.Description != "" || ep.Sandbox || !ep.Enabled {
			t.Fatalf("created endpoint %+v, want the url with defaults", ep)
		}
		if ep.EventTypes == nil || len(ep.EventTypes) != 0 {
			t.Errorf("event_types %#v, want []", ep.EventTypes)
		}
		if !strings.HasPrefix(ep.Secret, "whsec_") {
			t.Errorf("secret %q, want a whsec_ secret", ep.Secret)
		}
		for _, ts := range []string{ep.CreatedAt, ep.UpdatedAt} {
			if parsed, err := time.Parse(time.RFC3339Nano, ts); err != nil || !strings.HasSuffix(ts, "Z") || time.Since(parsed) > time.Minute {
				t.Errorf("timestamp %q is not a recent RFC 3339 UTC time", ts)
			}
		}

		var got endpoint
		h.do("GET", "/v1/endpoints/"+ep.ID, h.keyA, "").want(t, http.StatusOK).decode(t, &got)
		if got.ID != ep.ID || got.Secret != ep.Secret || got.URL != ep.URL {
			t.Errorf("GET answered %+v, want %+v", got, ep)
		}

		var secret struct{ Secret string }
		h.do("GET", "/v1/endpoints/"+ep.ID+"/secret", h.keyA, "").want(t, http.StatusOK).decode(t, &secret)
		if secret.Secret != ep.Secret {
			t.Errorf("secret route answered %q, want %q", secret.Secret, ep.Secret)
		}

		r := h.do("GET", "/v1/endpoints", h.keyA, "").want(t, http.StatusOK)
		if strings.Contains(string(r.body), `"secret"`) {
			t.Errorf("list shows secrets: %s", r.body)
		}
		var l list[endpoint]
		r.decode(t, &l)
		if len(l.Data) != 1 || l.Data[0].ID != ep.ID || l.NextCursor == nil || *l.NextCursor != "" {
			t.Errorf("list %s, want the one endpoint and next_cursor \"\"", r.body)
		}

		var patched endpoint
		h.do("PATCH", "/v1/endpoints/"+ep.ID, h.keyA, `{"description":"orders","event_types":["order.*","invoice.paid"]}`).
			want(t, http.StatusOK).decode(t, &patched)
		if patched.Description != "orders" || strings.Join(patched.EventTypes, ",") != "order.*,invoice.paid" ||
			patched.URL != ep.URL || patched.Sandbox || !patched.Enabled || patched.Secret != ep.Secret || patched.CreatedAt != ep.CreatedAt {
			t.Errorf("PATCH answered %+v; want only description and event_types changed", patched)
		}
		if patched.UpdatedAt <= ep.UpdatedAt {
			t.Errorf("updated_at %s did not move on from %s", patched.UpdatedAt, ep.UpdatedAt)
		}

		h.do("PATCH", "/v1/endpoints/"+ep.ID, h.keyA, `{"enabled":false}`).want(t, http.StatusOK).decode(t, &patched)
		if patched.Enabled || patched.Description != "orders" {
			t.Errorf("PATCH enabled=false answered %+v", patched)
		}
		h.do("GET", "/v1/endpoints/"+ep.ID, h.keyA, "").want(t, http.StatusOK).decode(t, &got)
		if got.Enabled || got.Description != "orders" || len(got.EventTypes) != 2 {
			t.Errorf("GET after PATCH answered %+v", got)
		}

		h.do("DELETE", "/v1/endpoints/"+ep.ID, h.keyA, "").want(t, http.StatusNoContent)
		for _, path := range []string{"", "/secret", "/deliveries"} {
			h.do("GET", "/v1/endpoints/"+ep.ID+path, h.keyA, "").wantError(t, http.StatusNotFound, "not_found", "")
		}
		h.do("PATCH", "/v1/endpoints/"+ep.ID, h.keyA, `{"enabled":true}`).wantError(t, http.StatusNotFound, "not_found", "")
		h.do("DELETE", "/v1/endpoints/"+ep.ID, h.keyA, "").wantError(t, http.StatusNotFound, "not_found", "")
		h.do("GET", "/v1/endpoints", h.keyA, "").want(t, http.StatusOK).decode(t, &l)
		if len(l.Data) != 0 {
			t.Errorf("list after delete has %d endpoints", len(l.Data))
		}
	})
}

func TestCreateEndpointTakesEveryField(t *testing.T) {
	h := newHarness(t, "sqlite", allowPrivate)
	ep := h.createEndpoint(h.keyA, `{"url":"http://localhost:9000/hook","description":"dev box","event_types":["*"],"sandbox":true,"enabled":false}`)
	if ep.URL != "http://localhost:9000/hook" || ep.Description != "dev box" || strings.Join(ep.EventTypes, ",") != "*" || !ep.Sandbox || ep.Enabled {
		t.Errorf("created %+v, want every field as sent", ep)
	}
}

func TestPatchValidatesTheWholeEndpoint(t *testing.T) {
	h := newHarness(t, "sqlite")
	ep := h.createEndpoint(h.keyA, `{"url":"http://dev.example.com/hook","sandbox":true}`)
	before := h.snapshot()

	e := h.do("PATCH", "/v1/endpoints/"+ep.ID, h.keyA, `{"sandbox":false,"description":"now live"}`).
		wantError(t, http.StatusUnprocessableEntity, "validation_failed", "url")
	if !strings.Contains(e.Message, "https") {
		t.Errorf("message %q does not say https is needed", e.Message)
	}
	if after := h.snapshot(); after != before {
		t.Errorf("a refused PATCH changed the store:\nbefore %s\nafter  %s", before, after)
	}

	// The same change with an https URL is fine.
	var got endpoint
	h.do("PATCH", "/v1/endpoints/"+ep.ID, h.keyA, `{"sandbox":false,"url":"https://dev.example.com/hook"}`).want(t, http.StatusOK).decode(t, &got)
	if got.Sandbox || got.URL != "https://dev.example.com/hook" {
		t.Errorf("PATCH answered %+v", got)
	}
}

func TestEndpointLimit(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		h := newHarness(t, kind, func(d *api.Deps) { d.MaxEndpoints = 3 })
		var ids []string
		for range 3 {
			ids = append(ids, h.createEndpoint(h.keyA, `{"url":"https://a.example.com"}`).ID)
		}
		before := h.snapshot()
		e := h.do("POST", "/v1/endpoints", h.keyA, `{"url":"https://a.example.com"}`).
			wantError(t, http.StatusUnprocessableEntity, "validation_failed", "")
		if !strings.Contains(e.Message, "3") {
			t.Errorf("message %q does not state the limit of 3", e.Message)
		}
		if after := h.snapshot(); after != before {
			t.Errorf("a refused create changed the store")
		}
		// Other accounts have their own allowance, and deleting frees a place.
		h.createEndpoint(h.keyB, `{"url":"https://b.example.com"}`)
		h.do("DELETE", "/v1/endpoints/"+ids[0], h.keyA, "").want(t, http.StatusNoContent)
		h.createEndpoint(h.keyA, `{"url":"https://a.example.com"}`)
	})
}
