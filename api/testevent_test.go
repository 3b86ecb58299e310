package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/securo/webhooks/internal/storetest"
)

func TestSendTestEventGoesToThatEndpointAloneInItsMode(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		h := newHarness(t, kind)
		// The target subscribes to nothing the test event matches; its
		// neighbours take everything, in both modes, and so does account B.
		target := h.createEndpoint(h.keyA, `{"url":"https://target.example.com","sandbox":true,"event_types":["dex.swap"]}`)
		sandboxAll := h.createEndpoint(h.keyA, `{"url":"https://sandbox.example.com","sandbox":true}`)
		h.createEndpoint(h.keyA, `{"url":"https://live.example.com"}`)
		h.createEndpoint(h.keyB, `{"url":"https://b.example.com","sandbox":true}`)

		var ev event
		h.do("POST", "/v1/endpoints/"+target.ID+"/test", h.keyA, "").want(t, http.StatusAccepted).decode(t, &ev)
		var data struct {
			Message    string `json:"message"`
			EndpointID string `json:"endpoint_id"`
		}
		if err := json.Unmarshal(ev.Data, &data); err != nil {
			t.Fatal(err)
		}
		if ev.Type != "webhook.test" || !ev.Sandbox || data.EndpointID != target.ID || data.Message == "" || ev.WorkflowID == "" {
			t.Fatalf("test event %+v data %s", ev, ev.Data)
		}
		if len(ev.Deliveries) != 1 || ev.Deliveries[0].EndpointID != target.ID || ev.Deliveries[0].Status != "pending" {
			t.Fatalf("deliveries %+v, want one pending to %s", ev.Deliveries, target.ID)
		}
		if h.launcher.count(ev.ID) != 1 {
			t.Fatalf("the event's workflow was launched %d times", h.launcher.count(ev.ID))
		}
		if got := h.getEvent(h.keyA, ev.ID).Deliveries; len(got) != 1 || got[0].EndpointID != target.ID {
			t.Fatalf("stored deliveries %+v", got)
		}
		// A live endpoint gets a live test event; B sees none of A's.
		live := h.createEndpoint(h.keyA, `{"url":"https://live2.example.com","event_types":["x.y"]}`)
		h.do("POST", "/v1/endpoints/"+live.ID+"/test", h.keyA, "{}").want(t, http.StatusAccepted).decode(t, &ev)
		if ev.Sandbox || len(ev.Deliveries) != 1 || ev.Deliveries[0].EndpointID != live.ID {
			t.Fatalf("live test event %+v", ev)
		}
		var l list[event]
		h.do("GET", "/v1/events", h.keyB, "").want(t, http.StatusOK).decode(t, &l)
		if len(l.Data) != 0 {
			t.Fatalf("account B sees %d events", len(l.Data))
		}
		var ds list[delivery]
		h.do("GET", "/v1/endpoints/"+sandboxAll.ID+"/deliveries", h.keyA, "").want(t, http.StatusOK).decode(t, &ds)
		if len(ds.Data) != 0 {
			t.Fatalf("a neighbour endpoint got test deliveries: %+v", ds.Data)
		}
	})
}

func TestSendTestEventRefusalsChangeNothing(t *testing.T) {
	h := newHarness(t, "sqlite")
	a := h.createEndpoint(h.keyA, `{"url":"https://a.example.com"}`)
	off := h.createEndpoint(h.keyA, `{"url":"https://off.example.com","enabled":false}`)
	deleted := h.createEndpoint(h.keyA, `{"url":"https://gone.example.com"}`)
	h.do("DELETE", "/v1/endpoints/"+deleted.ID, h.keyA, "").want(t, http.StatusNoContent)

	before := h.snapshot()
	cases := []struct {
		name, key, id, body string
		status              int
		code, field         string
	}{
		{"another account's endpoint", h.keyB, a.ID, "", http.StatusNotFound, "not_found", ""},
		{"an unknown endpoint", h.keyA, "ep_nope", "", http.StatusNotFound, "not_found", ""},
		{"a deleted endpoint", h.keyA, deleted.ID, "", http.StatusNotFound, "not_found", ""},
		{"an unknown field", h.keyA, a.ID, `{"type":"dex.swap"}`, http.StatusBadRequest, "invalid_json", "type"},
		{"no key", "", a.ID, "", http.StatusUnauthorized, "unauthorized", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h.do("POST", "/v1/endpoints/"+tc.id+"/test", tc.key, tc.body).wantError(t, tc.status, tc.code, tc.field)
		})
	}
	t.Run("a disabled endpoint", func(t *testing.T) {
		e := h.do("POST", "/v1/endpoints/"+off.ID+"/test", h.keyA, "").wantError(t, http.StatusConflict, "endpoint_disabled", "")
		if !strings.Contains(e.Message, "enable it") {
			t.Errorf("message %q does not say what to do", e.Message)
		}
	})
	if h.snapshot() != before {
		t.Error("a refused test event changed the store")
	}
	if n := h.launcher.total(); n != 0 {
		t.Errorf("%d workflows launched for refused requests", n)
	}
}
