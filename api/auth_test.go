package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/securo/webhooks/internal/storetest"
)

func TestUnauthorized(t *testing.T) {
	h := newHarness(t, "sqlite")
	tests := []struct {
		name   string
		header string // Authorization; "" sends none
	}{
		{"a request without Authorization is refused", ""},
		{"a Basic credential is refused", "Basic dXNlcjpwYXNz"},
		{"Bearer without a key is refused", "Bearer"},
		{"Bearer with only spaces is refused", "Bearer    "},
		{"a key without the Bearer scheme is refused", h.keyA},
		{"a key with a space inside is refused", "Bearer " + h.keyA[:10] + " " + h.keyA[10:]},
		{"an unknown key is refused", "Bearer sk_unknown"},
		{"a key with one character changed is refused", "Bearer " + h.keyA[:len(h.keyA)-1] + "x"},
	}
	routes := []struct{ method, path, body string }{
		{"GET", "/v1/endpoints", ""},
		{"POST", "/v1/endpoints", `{"url":"https://a.example.com"}`},
		{"GET", "/v1/endpoints/ep_x", ""},
		{"PATCH", "/v1/endpoints/ep_x", `{}`},
		{"DELETE", "/v1/endpoints/ep_x", ""},
		{"GET", "/v1/endpoints/ep_x/secret", ""},
		{"POST", "/v1/endpoints/ep_x/secret/rotate", ""},
		{"GET", "/v1/endpoints/ep_x/deliveries", ""},
		{"POST", "/v1/events", `{"type":"a","data":{}}`},
		{"GET", "/v1/events", ""},
		{"GET", "/v1/events/evt_x", ""},
		{"GET", "/v1/api-keys", ""},
		{"POST", "/v1/api-keys", `{"name":"x"}`},
		{"DELETE", "/v1/api-keys/key_x", ""},
		{"POST", "/v1/events/evt_x/resend", ""},
		{"POST", "/v1/endpoints/ep_x/recover", `{"since":"2020-01-01T00:00:00Z"}`},
		{"GET", "/v1/deliveries/dlv_x", ""},
		{"POST", "/v1/deliveries/dlv_x/retry", ""},
		{"POST", "/v1/deliveries/dlv_x/cancel", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.snapshot()
			for _, rt := range routes {
				var headers []string
				if tt.header != "" {
					headers = []string{"Authorization", tt.header}
				}
				r := h.do(rt.method, rt.path, "", rt.body, headers...)
				r.wantError(t, http.StatusUnauthorized, "unauthorized", "")
				if r.header.Get("WWW-Authenticate") != "Bearer" {
					t.Errorf("%s %s: WWW-Authenticate %q, want Bearer", rt.method, rt.path, r.header.Get("WWW-Authenticate"))
				}
			}
			if h.snapshot() != before {
				t.Errorf("an unauthorized request changed the store")
			}
		})
	}
}

func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	h := newHarness(t, "sqlite")
	h.do("GET", "/v1/endpoints", "", "", "Authorization", "bearer "+h.keyA).want(t, http.StatusOK)
}

func TestAccountIsolation(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		h := newHarness(t, kind)
		epA := h.createEndpoint(h.keyA, `{"url":"https://a.example.com"}`)
		evA := h.postEvent(h.keyA, `{"type":"order.created","data":{"secret":"of a"}}`)
		epB := h.createEndpoint(h.keyB, `{"url":"https://b.example.com"}`)
		evB := h.postEvent(h.keyB, `{"type":"order.created","data":{}}`)
		keyA := h.createAPIKey(h.keyA, "a's second key")
		dlvA := h.getEvent(h.keyA, evA.ID).Deliveries[0].ID

		// B asking for A's objects gets the answer a missing id gets.
		routes := []struct {
			name, method, path, body, id string
		}{
			{"B cannot get A's endpoint", "GET", "/v1/endpoints/%s", "", epA.ID},
			{"B cannot patch A's endpoint", "PATCH", "/v1/endpoints/%s", `{"url":"https://evil.example.com"}`, epA.ID},
			{"B cannot delete A's endpoint", "DELETE", "/v1/endpoints/%s", "", epA.ID},
			{"B cannot read A's endpoint secret", "GET", "/v1/endpoints/%s/secret", "", epA.ID},
			{"B cannot rotate A's endpoint secret", "POST", "/v1/endpoints/%s/secret/rotate", `{"grace_period_seconds":0}`, epA.ID},
			{"B cannot list A's endpoint deliveries", "GET", "/v1/endpoints/%s/deliveries", "", epA.ID},
			{"B cannot get A's event", "GET", "/v1/events/%s", "", evA.ID},
			{"B cannot revoke A's API key", "DELETE", "/v1/api-keys/%s", "", keyA.ID},
			{"B cannot resend A's event", "POST", "/v1/events/%s/resend", "", evA.ID},
			{"B cannot recover A's endpoint", "POST", "/v1/endpoints/%s/recover", `{"since":"2020-01-01T00:00:00Z"}`, epA.ID},
			{"B cannot get A's delivery", "GET", "/v1/deliveries/%s", "", dlvA},
			{"B cannot retry A's delivery", "POST", "/v1/deliveries/%s/retry", "", dlvA},
			{"B cannot cancel A's delivery", "POST", "/v1/deliveries/%s/cancel", "", dlvA},
		}
		for _, rt := range routes {
			t.Run(rt.name, func(t *testing.T) {
				before := h.snapshot()
				theirs := h.do(rt.method, strings.Replace(rt.path, "%s", rt.id, 1), h.keyB, rt.body)
				theirs.wantError(t, http.StatusNotFound, "not_found", "")
				missing := h.do(rt.method, strings.Replace(rt.path, "%s", "missing_id", 1), h.keyB, rt.body)
				if got, want := strings.ReplaceAll(string(theirs.body), rt.id, "missing_id"), string(missing.body); got != want {
					t.Errorf("another account's object answers\n%s\nbut a missing one\n%s", got, want)
				}
				if h.snapshot() != before {
					t.Errorf("B's request changed the store")
				}
			})
		}

		t.Run("B's lists show only B's objects", func(t *testing.T) {
			var eps list[endpoint]
			h.do("GET", "/v1/endpoints", h.keyB, "").want(t, http.StatusOK).decode(t, &eps)
			if len(eps.Data) != 1 || eps.Data[0].ID != epB.ID {
				t.Errorf("B's endpoints: %+v", eps.Data)
			}
			var evs list[event]
			h.do("GET", "/v1/events", h.keyB, "").want(t, http.StatusOK).decode(t, &evs)
			if len(evs.Data) != 1 || evs.Data[0].ID != evB.ID {
				t.Errorf("B's events: %+v", evs.Data)
			}
			h.do("GET", "/v1/events?type=order.created", h.keyB, "").want(t, http.StatusOK).decode(t, &evs)
			if len(evs.Data) != 1 || evs.Data[0].ID != evB.ID {
				t.Errorf("B's filtered events: %+v", evs.Data)
			}
			var keys list[apiKey]
			h.do("GET", "/v1/api-keys", h.keyB, "").want(t, http.StatusOK).decode(t, &keys)
			if len(keys.Data) != 1 || keys.Data[0].Prefix != h.keyB[:10] {
				t.Errorf("B's API keys: %+v", keys.Data)
			}
		})

		t.Run("B's events never reach A's endpoints", func(t *testing.T) {
			for _, d := range h.getEvent(h.keyB, evB.ID).Deliveries {
				if d.EndpointID != epB.ID {
					t.Errorf("B's event was delivered to %s", d.EndpointID)
				}
			}
			var ds list[delivery]
			h.do("GET", "/v1/endpoints/"+epA.ID+"/deliveries", h.keyA, "").want(t, http.StatusOK).decode(t, &ds)
			if len(ds.Data) != 1 || ds.Data[0].EventID != evA.ID {
				t.Errorf("A's endpoint deliveries: %+v", ds.Data)
			}
		})

		t.Run("A still sees its endpoint unchanged", func(t *testing.T) {
			var got endpoint
			h.do("GET", "/v1/endpoints/"+epA.ID, h.keyA, "").want(t, http.StatusOK).decode(t, &got)
			if got.URL != epA.URL || got.UpdatedAt != epA.UpdatedAt {
				t.Errorf("A's endpoint is now %+v", got)
			}
			h.do("GET", "/v1/endpoints", keyA.Key, "").want(t, http.StatusOK)
		})
	})
}
