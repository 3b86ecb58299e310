package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/securo/webhooks/internal/storetest"
	"github.com/securo/webhooks/models"
)

func TestEndpointDeliveries(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		h := newHarness(t, kind)
		ctx := context.Background()
		ep := h.createEndpoint(h.keyA, `{"url":"https://a.example.com","event_types":["order.*"]}`)
		other := h.createEndpoint(h.keyA, `{"url":"https://b.example.com","event_types":["invoice.*"]}`)
		var events []event
		for _, typ := range []string{"order.created", "order.paid", "order.shipped"} {
			events = append(events, h.postEvent(h.keyA, `{"type":"`+typ+`","data":{}}`))
		}
		h.postEvent(h.keyA, `{"type":"invoice.paid","data":{}}`)

		// The first event's delivery succeeds on its second attempt.
		first := h.getEvent(h.keyA, events[0].ID).Deliveries[0]
		started := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
		a1, err := h.store.StartAttempt(ctx, first.ID, 1, started)
		if err != nil {
			t.Fatal(err)
		}
		dur, code := int64(31), 503
		a1.DurationMS, a1.StatusCode, a1.Error, a1.ResponseBody = &dur, &code, models.AttemptErrorHTTPStatus, "busy"
		next := started.Add(time.Minute)
		if err := h.store.FinishAttempt(ctx, a1, models.DeliveryState{Status: models.StatusPending, NextAttemptAt: &next}); err != nil {
			t.Fatal(err)
		}
		a2, err := h.store.StartAttempt(ctx, first.ID, 2, next)
		if err != nil {
			t.Fatal(err)
		}
		ok := 200
		a2.DurationMS, a2.StatusCode = &dur, &ok
		if err := h.store.FinishAttempt(ctx, a2, models.DeliveryState{Status: models.StatusSucceeded}); err != nil {
			t.Fatal(err)
		}
		// An attempt cut short shows with no duration or status code.
		second := h.getEvent(h.keyA, events[1].ID).Deliveries[0]
		if _, err := h.store.StartAttempt(ctx, second.ID, 1, started); err != nil {
			t.Fatal(err)
		}

		var l list[delivery]
		h.do("GET", "/v1/endpoints/"+ep.ID+"/deliveries", h.keyA, "").want(t, http.StatusOK).decode(t, &l)
		if len(l.Data) != 3 || *l.NextCursor != "" {
			t.Fatalf("listed %d deliveries, cursor %q; want 3 and none", len(l.Data), *l.NextCursor)
		}
		for i, d := range l.Data {
			if want := events[2-i].ID; d.EventID != want || d.EndpointID != ep.ID {
				t.Errorf("delivery %d is of event %s to %s, want %s to %s (newest first)", i, d.EventID, d.EndpointID, want, ep.ID)
			}
		}
		done := l.Data[2]
		if done.Status != "succeeded" || done.NextAttemptAt != nil || len(done.Attempts) != 2 {
			t.Fatalf("succeeded delivery %+v", done)
		}
		at := done.Attempts[0]
		if at.Number != 1 || at.StartedAt != "2026-05-01T12:00:00Z" || *at.DurationMS != 31 || *at.StatusCode != 503 ||
			at.Error != "http_status" || at.ResponseBody != "busy" {
			t.Errorf("first attempt %+v", at)
		}
		if at := done.Attempts[1]; at.Number != 2 || *at.StatusCode != 200 || at.Error != "" {
			t.Errorf("second attempt %+v", at)
		}
		if cut := l.Data[1].Attempts; len(cut) != 1 || cut[0].DurationMS != nil || cut[0].StatusCode != nil {
			t.Errorf("unfinished attempt %+v", cut)
		}

		tests := []struct {
			name   string
			query  string
			events []string
		}{
			{"status=succeeded lists the delivered one", "?status=succeeded", []string{events[0].ID}},
			{"status=pending lists the rest", "?status=pending", []string{events[2].ID, events[1].ID}},
			{"status=failed lists none", "?status=failed", nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				h.do("GET", "/v1/endpoints/"+ep.ID+"/deliveries"+tt.query, h.keyA, "").want(t, http.StatusOK).decode(t, &l)
				var got []string
				for _, d := range l.Data {
					got = append(got, d.EventID)
				}
				if len(got) != len(tt.events) || (len(got) > 0 && got[0] != tt.events[0]) {
					t.Errorf("listed events %v, want %v", got, tt.events)
				}
			})
		}

		t.Run("pages of two walk all three", func(t *testing.T) {
			var seen []string
			cursor := ""
			for range 3 {
				h.do("GET", "/v1/endpoints/"+ep.ID+"/deliveries?limit=2&cursor="+cursor, h.keyA, "").want(t, http.StatusOK).decode(t, &l)
				for _, d := range l.Data {
					seen = append(seen, d.EventID)
				}
				if cursor = *l.NextCursor; cursor == "" {
					break
				}
			}
			if len(seen) != 3 || seen[0] != events[2].ID || seen[2] != events[0].ID {
				t.Errorf("walked %v", seen)
			}
		})

		h.do("GET", "/v1/endpoints/"+other.ID+"/deliveries", h.keyA, "").want(t, http.StatusOK).decode(t, &l)
		if len(l.Data) != 1 {
			t.Errorf("the invoice endpoint lists %d deliveries, want 1", len(l.Data))
		}
	})
}
