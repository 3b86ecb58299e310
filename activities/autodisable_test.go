package activities_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/securo/webhooks/activities"
	"github.com/securo/webhooks/egress"
	"github.com/securo/webhooks/internal/receivertest"
	"github.com/securo/webhooks/models"
	"github.com/securo/webhooks/retry"
	"github.com/securo/webhooks/workflows"
)

// The delivery workflow with the real activities, a real database and a
// real receiver, on the test suite's skipping clock: five days of failures
// pass in milliseconds, judged by the workflow's time.
func TestAnEndpointFailingForFiveDaysIsDisabledAndSaysSo(t *testing.T) {
	ctx := context.Background()
	rc := receivertest.New(t)
	rc.Answer(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "still down", http.StatusBadGateway) })
	f := setup(t, "sqlite", rc.URL, egress.Options{RootCAs: rc.Pool()})
	watcher := models.Endpoint{AccountID: f.account.ID, URL: "https://ops.example.com", Enabled: true, Secret: f.endpoint.Secret,
		EventTypes: models.StringList{models.EventEndpointDisabled}}
	if err := f.store.CreateEndpoint(ctx, &watcher, 100); err != nil {
		t.Fatal(err)
	}

	day := 24 * time.Hour
	res, err := runDelivery(f, workflows.DeliveryInput{DeliveryID: f.delivery.ID,
		Schedule: []time.Duration{0, day, day, day, day, day, day, day}})
	if err != nil {
		t.Fatal(err)
	}
	// Attempt 1 starts the streak; the first attempt five days or more after
	// it disables the endpoint. The delays are jittered by ±20 %, so that is
	// attempt 6, 7 or 8, the same every time for one delivery id.
	want, elapsed := 1, time.Duration(0)
	for elapsed < activities.DefaultAutoDisableAfter {
		want++
		elapsed += retry.Jitter(f.delivery.ID, want, day)
	}
	if res.Status != models.StatusSkipped || res.Reason != models.ReasonEndpointDisabled || res.Attempts != want {
		t.Fatalf("result %+v, want skipped/endpoint_disabled after %d attempts", res, want)
	}
	ep, err := f.store.GetEndpoint(ctx, f.account.ID, f.endpoint.ID)
	if err != nil || ep.Enabled || ep.DisabledReason != models.ReasonFailing || ep.FailingSince == nil || ep.LastError == "" {
		t.Fatalf("endpoint %+v, %v: want disabled (failing) with its streak and last error", ep, err)
	}
	// endpoint.disabled, an ordinary event of the account, to the watcher
	// alone: never to the endpoint it is about.
	events, _, err := f.store.ListEvents(ctx, f.account.ID, models.EventFilter{Type: models.EventEndpointDisabled}, models.Page{Limit: 10})
	if err != nil || len(events) != 1 {
		t.Fatalf("endpoint.disabled events %d, %v", len(events), err)
	}
	var data map[string]any
	json.Unmarshal([]byte(events[0].Data), &data)
	if data["endpoint_id"] != f.endpoint.ID || data["reason"] != models.ReasonFailing || data["last_error"] == "" {
		t.Fatalf("endpoint.disabled data %v", data)
	}
	_, ds, _ := f.store.GetEvent(ctx, f.account.ID, events[0].ID)
	if len(ds) != 1 || ds[0].EndpointID != watcher.ID {
		t.Fatalf("endpoint.disabled went to %+v, want the watcher alone", ds)
	}
}

func TestOneSuccessResetsTheFailingStreak(t *testing.T) {
	ctx := context.Background()
	rc := receivertest.New(t)
	down := true
	rc.Answer(func(w http.ResponseWriter, r *http.Request) {
		if down {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	f := setup(t, "sqlite", rc.URL, egress.Options{RootCAs: rc.Pool()})
	start := time.Now()
	f.attempt(t, activities.AttemptInput{NextDelay: time.Hour, Now: start})
	if ep, _ := f.store.GetEndpoint(ctx, f.account.ID, f.endpoint.ID); ep.FailingSince == nil || !ep.FailingSince.Equal(start.UTC().Truncate(time.Microsecond)) {
		t.Fatalf("failing since %v, want the attempt's workflow time %v", ep.FailingSince, start)
	}
	// A later failure keeps the start of the streak.
	f.attempt(t, activities.AttemptInput{Number: 2, NextDelay: time.Hour, Now: start.Add(time.Hour)})
	if ep, _ := f.store.GetEndpoint(ctx, f.account.ID, f.endpoint.ID); !ep.FailingSince.Equal(start.UTC().Truncate(time.Microsecond)) {
		t.Fatalf("failing since moved to %v", ep.FailingSince)
	}
	down = false
	f.attempt(t, activities.AttemptInput{Number: 3, Now: start.Add(2 * time.Hour)})
	if ep, _ := f.store.GetEndpoint(ctx, f.account.ID, f.endpoint.ID); ep.FailingSince != nil || ep.LastError != "" {
		t.Fatalf("after a success: failing since %v, last error %q", ep.FailingSince, ep.LastError)
	}
}

func TestAFailedDeliveryEmitsDeliveryFailedButAnOperationalOneDoesNot(t *testing.T) {
	ctx := context.Background()
	f := setup(t, "sqlite", "https://example.invalid", egress.Options{})
	watcher := models.Endpoint{AccountID: f.account.ID, URL: "https://ops.example.com", Enabled: true, Secret: f.endpoint.Secret,
		EventTypes: models.StringList{models.EventDeliveryFailed}}
	if err := f.store.CreateEndpoint(ctx, &watcher, 100); err != nil {
		t.Fatal(err)
	}
	finish := func(deliveryID string) {
		t.Helper()
		if _, err := f.env.ExecuteActivity(f.acts.FinishDelivery, activities.FinishInput{DeliveryID: deliveryID, Status: models.StatusFailed, Reason: models.ReasonAttemptsExhausted}); err != nil {
			t.Fatal(err)
		}
	}
	finish(f.delivery.ID)
	failed, _, _ := f.store.ListEvents(ctx, f.account.ID, models.EventFilter{Type: models.EventDeliveryFailed}, models.Page{Limit: 10})
	if len(failed) != 1 {
		t.Fatalf("%d delivery.failed events, want 1", len(failed))
	}
	var data map[string]any
	json.Unmarshal([]byte(failed[0].Data), &data)
	if data["delivery_id"] != f.delivery.ID || data["event_id"] != f.event.ID || data["endpoint_id"] != f.endpoint.ID {
		t.Fatalf("delivery.failed data %v", data)
	}
	// Its own delivery (to the watcher) failing emits nothing: no loops.
	_, ds, _ := f.store.GetEvent(ctx, f.account.ID, failed[0].ID)
	if len(ds) != 1 || ds[0].EndpointID != watcher.ID {
		t.Fatalf("delivery.failed went to %+v", ds)
	}
	finish(ds[0].ID)
	if again, _, _ := f.store.ListEvents(ctx, f.account.ID, models.EventFilter{Type: models.EventDeliveryFailed}, models.Page{Limit: 10}); len(again) != 1 {
		t.Fatalf("a failed operational delivery emitted %d more", len(again)-1)
	}
}

func TestAFailedTestEventEmitsNoDeliveryFailed(t *testing.T) {
	ctx := context.Background()
	f := setup(t, "sqlite", "https://example.invalid", egress.Options{})
	watcher := models.Endpoint{AccountID: f.account.ID, URL: "https://ops.example.com", Enabled: true, Secret: f.endpoint.Secret,
		EventTypes: models.StringList{models.EventDeliveryFailed}}
	if err := f.store.CreateEndpoint(ctx, &watcher, 100); err != nil {
		t.Fatal(err)
	}
	res, err := f.store.SendTestEvent(ctx, models.TestEventInput{AccountID: f.account.ID, EndpointID: f.endpoint.ID,
		WorkflowID: workflows.EventWorkflowID, DeliveryWorkflowID: workflows.DeliveryWorkflowID})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deliveries) != 1 || res.Deliveries[0].EndpointID != f.endpoint.ID {
		t.Fatalf("test event deliveries %+v", res.Deliveries)
	}
	if _, err := f.env.ExecuteActivity(f.acts.FinishDelivery, activities.FinishInput{DeliveryID: res.Deliveries[0].ID, Status: models.StatusFailed, Reason: models.ReasonAttemptsExhausted}); err != nil {
		t.Fatal(err)
	}
	// The test's outcome shows on its endpoint's page; the watcher hears
	// nothing of it.
	if failed, _, _ := f.store.ListEvents(ctx, f.account.ID, models.EventFilter{Type: models.EventDeliveryFailed}, models.Page{Limit: 10}); len(failed) != 0 {
		t.Fatalf("a failed test delivery emitted %d delivery.failed", len(failed))
	}
}

func TestTheDeliveryWorkflowStopsAtA410AndEmitsEndpointDisabled(t *testing.T) {
	ctx := context.Background()
	rc := receivertest.New(t)
	rc.Answer(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusGone) })
	f := setup(t, "sqlite", rc.URL, egress.Options{RootCAs: rc.Pool()})
	res, err := runDelivery(f, workflows.DeliveryInput{DeliveryID: f.delivery.ID})
	if err != nil || res != (workflows.DeliveryResult{Status: models.StatusFailed, Reason: models.ReasonGone, Attempts: 1}) {
		t.Fatalf("result %+v, %v", res, err)
	}
	if events, _, _ := f.store.ListEvents(ctx, f.account.ID, models.EventFilter{Type: models.EventEndpointDisabled}, models.Page{Limit: 10}); len(events) != 1 {
		t.Fatalf("%d endpoint.disabled events, want 1", len(events))
	}
}

func TestTheDeliveryWorkflowEmitsDeliveryFailedWhenAttemptsRunOut(t *testing.T) {
	ctx := context.Background()
	rc := receivertest.New(t)
	rc.Answer(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	f := setup(t, "sqlite", rc.URL, egress.Options{RootCAs: rc.Pool()})
	res, err := runDelivery(f, workflows.DeliveryInput{DeliveryID: f.delivery.ID})
	if err != nil || res.Status != models.StatusFailed || res.Attempts != len(workflows.DefaultSchedule) {
		t.Fatalf("result %+v, %v", res, err)
	}
	if n := len(rc.Got()); n != len(workflows.DefaultSchedule) {
		t.Fatalf("receiver got %d attempts over the whole schedule, want %d", n, len(workflows.DefaultSchedule))
	}
	if events, _, _ := f.store.ListEvents(ctx, f.account.ID, models.EventFilter{Type: models.EventDeliveryFailed}, models.Page{Limit: 10}); len(events) != 1 {
		t.Fatalf("%d delivery.failed events, want 1", len(events))
	}
}

// runDelivery runs the delivery workflow with the fixture's real activities
// on the test suite's skipping clock.
func runDelivery(f *fixture, in workflows.DeliveryInput) (workflows.DeliveryResult, error) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(workflows.DeliveryWorkflow)
	env.RegisterActivity(f.acts)
	env.ExecuteWorkflow(workflows.DeliveryWorkflow, in)
	var res workflows.DeliveryResult
	err := env.GetWorkflowResult(&res)
	return res, err
}
