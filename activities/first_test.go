package activities_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"github.com/securo/webhooks/activities"
	"github.com/securo/webhooks/egress"
	"github.com/securo/webhooks/internal/receivertest"
	"github.com/securo/webhooks/internal/storetest"
	"github.com/securo/webhooks/models"
	"github.com/securo/webhooks/signing"
	"github.com/securo/webhooks/workflows"
)

func TestFirstAttemptsDeliverEveryEndpointOfAnEventAtOnce(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		ok, failing := receivertest.New(t), receivertest.New(t)
		failing.Answer(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusBadGateway) })
		store := storetest.Open(t, kind)
		acct, _ := storetest.Account(t, store, "acme")
		var eps []models.Endpoint
		for _, spec := range []struct {
			url     string
			enabled bool
		}{{ok.URL + "/a", true}, {failing.URL, true}, {ok.URL + "/later-disabled", true}, {ok.URL + "/b", true}} {
			secret, _ := signing.NewSecret()
			ep := models.Endpoint{AccountID: acct.ID, URL: spec.url, Enabled: spec.enabled, Secret: secret}
			if err := store.CreateEndpoint(ctx, &ep, 100); err != nil {
				t.Fatal(err)
			}
			eps = append(eps, ep)
		}
		res, err := store.AcceptEvent(ctx, models.AcceptEventInput{AccountID: acct.ID, Type: "dex.swap", Data: `{"n":1}`,
			WorkflowID: workflows.EventWorkflowID, DeliveryWorkflowID: workflows.DeliveryWorkflowID})
		if err != nil {
			t.Fatal(err)
		}
		// Disabled after acceptance, before the first attempt: skipped.
		if _, err := store.UpdateEndpoint(ctx, acct.ID, eps[2].ID, func(e *models.Endpoint) error { e.Enabled = false; return nil }); err != nil {
			t.Fatal(err)
		}

		pool := ok.Pool()
		pool.AddCert(failing.Certificate())
		acts := activities.New(store, egress.NewClient(egress.Options{Guard: &egress.Guard{AllowPrivate: true}, RootCAs: pool}), "test", testOptions)
		var ts testsuite.WorkflowTestSuite
		env := ts.NewTestActivityEnvironment()
		env.RegisterActivity(acts)
		v, err := env.ExecuteLocalActivity(acts.FirstAttempts, activities.FirstAttemptsInput{EventID: res.Event.ID, NextDelay: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		var got activities.FirstAttemptsResult
		if err := v.Get(&got); err != nil {
			t.Fatal(err)
		}
		status := map[string]activities.AttemptResult{}
		for _, d := range got.Deliveries {
			for _, ep := range eps {
				for _, dl := range res.Deliveries {
					if dl.ID == d.DeliveryID && dl.EndpointID == ep.ID {
						status[ep.URL] = d.Result
					}
				}
			}
		}
		if len(got.Deliveries) != 4 ||
			status[ok.URL+"/a"].Status != models.StatusSucceeded || status[ok.URL+"/b"].Status != models.StatusSucceeded ||
			status[failing.URL].Status != models.StatusPending || status[failing.URL].StatusCode != 502 ||
			status[ok.URL+"/later-disabled"].Reason != models.ReasonEndpointDisabled {
			t.Fatalf("results %+v", status)
		}
		if n := len(ok.Got()); n != 2 {
			t.Fatalf("ok receiver got %d requests, want 2", n)
		}
		ev, deliveries, err := store.GetEvent(ctx, acct.ID, res.Event.ID)
		if err != nil || ev.WorkflowStartedAt == nil {
			t.Fatalf("the event is not marked as started: %v", err)
		}
		for _, d := range deliveries {
			switch d.EndpointID {
			case eps[1].ID:
				if d.Status != models.StatusPending || d.NextAttemptAt == nil || len(d.Attempts) != 1 || *d.Attempts[0].StatusCode != 502 {
					t.Errorf("failing delivery %+v", d)
				}
			case eps[2].ID:
				if d.Status != models.StatusSkipped || len(d.Attempts) != 0 {
					t.Errorf("disabled delivery %+v", d)
				}
			default:
				if d.Status != models.StatusSucceeded || len(d.Attempts) != 1 || d.Attempts[0].DurationMS == nil || d.WorkflowID != ev.WorkflowID {
					t.Errorf("delivery %+v", d)
				}
			}
		}
	})
}

func TestAnEndpointAtItsInFlightCapIsThrottledNotAttempted(t *testing.T) {
	ctx := context.Background()
	slow := receivertest.New(t)
	release := make(chan struct{})
	slow.Answer(func(w http.ResponseWriter, r *http.Request) { <-release })
	defer close(release)
	store := storetest.Open(t, "sqlite")
	acct, _ := storetest.Account(t, store, "acme")
	secret, _ := signing.NewSecret()
	ep := models.Endpoint{AccountID: acct.ID, URL: slow.URL, Enabled: true, Secret: secret}
	if err := store.CreateEndpoint(ctx, &ep, 100); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for range 2 {
		res, err := store.AcceptEvent(ctx, models.AcceptEventInput{AccountID: acct.ID, Type: "x", Data: `{}`,
			WorkflowID: workflows.EventWorkflowID, DeliveryWorkflowID: workflows.DeliveryWorkflowID})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, res.Deliveries[0].ID)
	}
	capped := testOptions
	capped.MaxInFlightPerEndpoint = 1
	acts := activities.New(store, egress.NewClient(egress.Options{Guard: &egress.Guard{AllowPrivate: true}, RootCAs: slow.Pool()}), "test", capped)
	var ts testsuite.WorkflowTestSuite
	first := ts.NewTestActivityEnvironment()
	first.RegisterActivity(acts)
	done := make(chan error, 1)
	go func() {
		_, err := first.ExecuteActivity(acts.Attempt, activities.AttemptInput{DeliveryID: ids[0], Number: 1})
		done <- err
	}()
	slow.WaitFor(t, 1, 10*time.Second)

	second := ts.NewTestActivityEnvironment()
	second.RegisterActivity(acts)
	v, err := second.ExecuteActivity(acts.Attempt, activities.AttemptInput{DeliveryID: ids[1], Number: 1})
	if err != nil {
		t.Fatal(err)
	}
	var res activities.AttemptResult
	v.Get(&res)
	if res.Status != activities.StatusThrottled {
		t.Fatalf("second attempt %+v, want throttled", res)
	}
	_, deliveries, _ := store.GetEvent(ctx, acct.ID, mustEventOf(t, store, ids[1]))
	if len(deliveries[0].Attempts) != 0 || deliveries[0].Status != models.StatusPending {
		t.Fatalf("a throttled attempt was recorded: %+v", deliveries[0])
	}
	release <- struct{}{}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func mustEventOf(t *testing.T, s *models.Store, deliveryID string) string {
	t.Helper()
	target, err := s.LoadAttemptTarget(context.Background(), deliveryID)
	if err != nil {
		t.Fatal(err)
	}
	return target.Event.ID
}
