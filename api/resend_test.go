package api_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/securo/webhooks/internal/storetest"
	"github.com/securo/webhooks/launcher"
	"github.com/securo/webhooks/models"
)

func TestResendMakesNewDeliveriesWithFreshAttempts(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		h := newHarness(t, kind)
		ctx := context.Background()
		a := h.createEndpoint(h.keyA, `{"url":"https://a.example.com"}`)
		b := h.createEndpoint(h.keyA, `{"url":"https://b.example.com"}`)
		ev := h.postEvent(h.keyA, `{"type":"dex.swap","data":{}}`)
		first := h.getEvent(h.keyA, ev.ID).Deliveries
		for _, d := range first {
			if err := h.store.SetDeliveryState(ctx, d.ID, models.DeliveryState{Status: models.StatusFailed, Reason: models.ReasonAttemptsExhausted}); err != nil {
				t.Fatal(err)
			}
		}

		// Every endpoint the event went to.
		var got struct{ Deliveries []delivery }
		h.do("POST", "/v1/events/"+ev.ID+"/resend", h.keyA, "").want(t, http.StatusAccepted).decode(t, &got)
		if len(got.Deliveries) != 2 {
			t.Fatalf("resend made %d deliveries, want 2", len(got.Deliveries))
		}
		for _, d := range got.Deliveries {
			if d.Status != "pending" || len(d.Attempts) != 0 || d.EventID != ev.ID || d.ID == first[0].ID || d.ID == first[1].ID || h.launcher.count(d.ID) != 1 {
				t.Errorf("new delivery %+v", d)
			}
		}
		// The failed deliveries stay failed: a resend is a delivery of its own.
		for _, d := range h.getEvent(h.keyA, ev.ID).Deliveries {
			if (d.ID == first[0].ID || d.ID == first[1].ID) && d.Status != "failed" {
				t.Errorf("the original delivery was revived: %+v", d)
			}
		}

		// One endpoint; then one that is disabled now.
		h.do("POST", "/v1/events/"+ev.ID+"/resend", h.keyA, `{"endpoint_id":"`+a.ID+`"}`).want(t, http.StatusAccepted).decode(t, &got)
		if len(got.Deliveries) != 1 || got.Deliveries[0].EndpointID != a.ID {
			t.Fatalf("resend to one endpoint: %+v", got.Deliveries)
		}
		h.do("PATCH", "/v1/endpoints/"+b.ID, h.keyA, `{"enabled":false}`).want(t, http.StatusOK)
		h.do("POST", "/v1/events/"+ev.ID+"/resend", h.keyA, `{"endpoint_id":"`+b.ID+`"}`).wantError(t, http.StatusUnprocessableEntity, "validation_failed", "endpoint_id")
		h.do("POST", "/v1/events/"+ev.ID+"/resend", h.keyA, "").want(t, http.StatusAccepted).decode(t, &got)
		if len(got.Deliveries) != 1 || got.Deliveries[0].EndpointID != a.ID {
			t.Fatalf("resend skips the disabled endpoint: %+v", got.Deliveries)
		}
		if n := len(h.getEvent(h.keyA, ev.ID).Deliveries); n != 6 {
			t.Fatalf("the event has %d deliveries, want 6", n)
		}

		// Another account sees nothing; unknown things are 404.
		h.do("POST", "/v1/events/"+ev.ID+"/resend", h.keyB, "").wantError(t, http.StatusNotFound, "not_found", "")
		h.do("POST", "/v1/events/evt_nope/resend", h.keyA, "").wantError(t, http.StatusNotFound, "not_found", "")
		h.do("POST", "/v1/events/"+ev.ID+"/resend", h.keyA, `{"endpoint_id":"ep_nope"}`).wantError(t, http.StatusNotFound, "not_found", "")
		h.do("POST", "/v1/events/"+ev.ID+"/resend", h.keyA, `{"endpoint":"x"}`).wantError(t, http.StatusBadRequest, "invalid_json", "endpoint")
	})
}

func TestAResendThatCannotStartIsEndedAndAnswers503(t *testing.T) {
	h := newHarness(t, "sqlite")
	h.createEndpoint(h.keyA, `{"url":"https://a.example.com"}`)
	ev := h.postEvent(h.keyA, `{"type":"dex.swap","data":{}}`)
	h.launcher.err = errors.New("temporal is down")
	h.do("POST", "/v1/events/"+ev.ID+"/resend", h.keyA, "").wantError(t, http.StatusServiceUnavailable, "unavailable", "")
	for _, d := range h.getEvent(h.keyA, ev.ID).Deliveries[1:] {
		if d.Status != "failed" || d.Reason != models.ReasonNotStarted {
			t.Fatalf("an unstarted resend was left %s/%s", d.Status, d.Reason)
		}
	}
}

func TestRecoverResendsTheFailedDeliveriesOfAWindow(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		h := newHarness(t, kind)
		ctx := context.Background()
		ep := h.createEndpoint(h.keyA, `{"url":"https://a.example.com"}`)
		var evs []event
		for range 3 {
			evs = append(evs, h.postEvent(h.keyA, `{"type":"dex.swap","data":{}}`))
		}
		// Two failed, one succeeded.
		for i, ev := range evs {
			status := models.StatusFailed
			if i == 2 {
				status = models.StatusSucceeded
			}
			d := h.getEvent(h.keyA, ev.ID).Deliveries[0]
			if err := h.store.SetDeliveryState(ctx, d.ID, models.DeliveryState{Status: status}); err != nil {
				t.Fatal(err)
			}
		}
		since := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
		var got struct{ Started int }
		h.do("POST", "/v1/endpoints/"+ep.ID+"/recover", h.keyA, `{"since":"`+since+`"}`).want(t, http.StatusAccepted).decode(t, &got)
		if got.Started != 2 {
			t.Fatalf("recover started %d, want 2", got.Started)
		}
		// A window in the future holds nothing.
		future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		h.do("POST", "/v1/endpoints/"+ep.ID+"/recover", h.keyA, `{"since":"`+future+`"}`).want(t, http.StatusAccepted).decode(t, &got)
		if got.Started != 0 {
			t.Fatalf("recover of a future window started %d", got.Started)
		}
		h.do("POST", "/v1/endpoints/"+ep.ID+"/recover", h.keyA, `{}`).wantError(t, http.StatusUnprocessableEntity, "validation_failed", "since")
		h.do("POST", "/v1/endpoints/"+ep.ID+"/recover", h.keyA, `{"since":"`+since+`","until":"`+since+`"}`).wantError(t, http.StatusUnprocessableEntity, "validation_failed", "until")
		h.do("POST", "/v1/endpoints/"+ep.ID+"/recover", h.keyA, `{"since":"yesterday"}`).wantError(t, http.StatusUnprocessableEntity, "validation_failed", "since")
		h.do("POST", "/v1/endpoints/"+ep.ID+"/recover", h.keyB, `{"since":"`+since+`"}`).wantError(t, http.StatusNotFound, "not_found", "")
	})
}

func TestGetDelivery(t *testing.T) {
	h := newHarness(t, "sqlite")
	h.createEndpoint(h.keyA, `{"url":"https://a.example.com"}`)
	ev := h.postEvent(h.keyA, `{"type":"dex.swap","data":{}}`)
	want := h.getEvent(h.keyA, ev.ID).Deliveries[0]
	var got delivery
	h.do("GET", "/v1/deliveries/"+want.ID, h.keyA, "").want(t, http.StatusOK).decode(t, &got)
	if got.ID != want.ID || got.Status != "pending" || got.NextAttemptAt == nil || got.Attempts == nil {
		t.Fatalf("delivery %+v", got)
	}
	h.do("GET", "/v1/deliveries/"+want.ID, h.keyB, "").wantError(t, http.StatusNotFound, "not_found", "")
}

func TestRetryAndCancelSignalThePendingDeliverysWorkflow(t *testing.T) {
	h := newHarness(t, "sqlite")
	ctx := context.Background()
	h.createEndpoint(h.keyA, `{"url":"https://a.example.com"}`)
	ev := h.postEvent(h.keyA, `{"type":"dex.swap","data":{}}`)
	d := h.getEvent(h.keyA, ev.ID).Deliveries[0]

	h.do("POST", "/v1/deliveries/"+d.ID+"/retry", h.keyA, "").want(t, http.StatusAccepted)
	h.do("POST", "/v1/deliveries/"+d.ID+"/cancel", h.keyA, "").want(t, http.StatusAccepted)
	if want := []string{d.WorkflowID + " retry-now", d.WorkflowID + " cancel"}; len(h.launcher.signals) != 2 || h.launcher.signals[0] != want[0] || h.launcher.signals[1] != want[1] {
		t.Fatalf("signals %v, want %v", h.launcher.signals, want)
	}
	h.do("POST", "/v1/deliveries/"+d.ID+"/retry", h.keyB, "").wantError(t, http.StatusNotFound, "not_found", "")

	h.launcher.signalErr = fmt.Errorf("no such workflow: %w", launcher.ErrNotRunning)
	h.do("POST", "/v1/deliveries/"+d.ID+"/retry", h.keyA, "").wantError(t, http.StatusConflict, "not_running", "")
	h.launcher.signalErr = errors.New("connection refused")
	h.do("POST", "/v1/deliveries/"+d.ID+"/cancel", h.keyA, "").wantError(t, http.StatusServiceUnavailable, "unavailable", "")

	if err := h.store.SetDeliveryState(ctx, d.ID, models.DeliveryState{Status: models.StatusSucceeded}); err != nil {
		t.Fatal(err)
	}
	h.do("POST", "/v1/deliveries/"+d.ID+"/cancel", h.keyA, "").wantError(t, http.StatusConflict, "delivery_finished", "")
}
