package activities_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
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

// testOptions are the defaults, with the workflow ids operational events need.
var testOptions = activities.Options{WorkflowIDs: activities.WorkflowIDs{Event: workflows.EventWorkflowID, Delivery: workflows.DeliveryWorkflowID}}

type fixture struct {
	store    *models.Store
	acts     *activities.Activities
	env      *testsuite.TestActivityEnvironment
	account  models.Account
	endpoint models.Endpoint
	event    models.Event
	delivery models.Delivery
}

// setup stores an endpoint at url and accepts one event for it.
func setup(t *testing.T, kind, url string, opts egress.Options) *fixture {
	t.Helper()
	ctx := context.Background()
	f := &fixture{store: storetest.Open(t, kind)}
	f.account, _ = storetest.Account(t, f.store, "acme")
	secret, _ := signing.NewSecret()
	f.endpoint = models.Endpoint{AccountID: f.account.ID, URL: url, Enabled: true, Secret: secret}
	if err := f.store.CreateEndpoint(ctx, &f.endpoint, 100); err != nil {
		t.Fatal(err)
	}
	res, err := f.store.AcceptEvent(ctx, models.AcceptEventInput{
		AccountID: f.account.ID, Type: "dex.swap",
		Data:       `{"pair": "ETH/USDC", "amount_in": 115792089237316195423570985008687907853269984665640564039457584007913129639935}`,
		WorkflowID: workflows.EventWorkflowID, DeliveryWorkflowID: workflows.DeliveryWorkflowID,
	})
	if err != nil || len(res.Deliveries) != 1 {
		t.Fatalf("accept event: %v, %d deliveries", err, len(res.Deliveries))
	}
	f.event, f.delivery = res.Event, res.Deliveries[0]
	if opts.Guard == nil {
		opts.Guard = &egress.Guard{AllowPrivate: true}
	}
	f.acts = activities.New(f.store, egress.NewClient(opts), "test", testOptions)
	var ts testsuite.WorkflowTestSuite
	f.env = ts.NewTestActivityEnvironment()
	f.env.RegisterActivity(f.acts)
	return f
}

func (f *fixture) attempt(t *testing.T, in activities.AttemptInput) activities.AttemptResult {
	t.Helper()
	if in.DeliveryID == "" {
		in.DeliveryID = f.delivery.ID
	}
	if in.Number == 0 {
		in.Number = 1
	}
	v, err := f.env.ExecuteActivity(f.acts.Attempt, in)
	if err != nil {
		t.Fatalf("Attempt: %v", err)
	}
	var res activities.AttemptResult
	if err := v.Get(&res); err != nil {
		t.Fatal(err)
	}
	return res
}

func (f *fixture) deliveryNow(t *testing.T) models.Delivery {
	t.Helper()
	ev, ds, err := f.store.GetEvent(context.Background(), f.account.ID, f.event.ID)
	if err != nil || len(ds) != 1 || ev.ID != f.event.ID {
		t.Fatalf("get event: %v", err)
	}
	return ds[0]
}

func TestAnAttemptPostsTheSignedEventAndRecordsIt(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		rc := receivertest.New(t)
		f := setup(t, kind, rc.URL+"/hooks", egress.Options{RootCAs: rc.Pool()})

		res := f.attempt(t, activities.AttemptInput{NextDelay: time.Second})
		if res.Status != models.StatusSucceeded || res.StatusCode != 200 || res.Error != "" {
			t.Fatalf("result %+v", res)
		}
		reqs := rc.Got()
		if len(reqs) != 1 {
			t.Fatalf("%d requests", len(reqs))
		}
		h, body := reqs[0].Header, reqs[0].Body
		if h.Get("Content-Type") != "application/json" || h.Get("User-Agent") != "Securo-Webhooks/test" || h.Get("webhook-id") != f.event.ID {
			t.Fatalf("headers %v", h)
		}
		v, _ := signing.NewVerifier(f.endpoint.Secret)
		if err := v.Verify(h, body); err != nil {
			t.Fatalf("signature does not verify: %v", err)
		}
		// data arrives as sent, big integer and spacing included.
		if !strings.HasSuffix(string(body), `"data":`+f.event.Data+`}`) {
			t.Fatalf("body %s", body)
		}
		var payload map[string]json.RawMessage
		if err := json.Unmarshal(body, &payload); err != nil {
			t.Fatalf("body is not JSON: %v", err)
		}
		for _, field := range []string{"id", "type", "created_at", "sandbox", "data"} {
			if _, ok := payload[field]; !ok || len(payload) != 5 {
				t.Fatalf("payload fields %v, want id, type, created_at, sandbox, data", payload)
			}
		}
		if string(payload["id"]) != `"`+f.event.ID+`"` || string(payload["type"]) != `"dex.swap"` || string(payload["sandbox"]) != "false" {
			t.Fatalf("payload %s", body)
		}
		d := f.deliveryNow(t)
		if d.Status != models.StatusSucceeded || d.NextAttemptAt != nil || len(d.Attempts) != 1 {
			t.Fatalf("delivery %+v", d)
		}
		a := d.Attempts[0]
		if a.Number != 1 || a.StatusCode == nil || *a.StatusCode != 200 || a.DurationMS == nil || a.Error != "" || a.ResponseBody != "ok" {
			t.Fatalf("attempt %+v", a)
		}
	})
}

func TestAFailedAttemptKeepsTheAnswerAndSchedulesTheNext(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		rc := receivertest.New(t)
		big := strings.Repeat("é", 8<<10) + "\x00\xff"
		rc.Answer(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusInternalServerError)
			w.Write([]byte(big))
		})
		f := setup(t, kind, rc.URL, egress.Options{RootCAs: rc.Pool()})
		before := time.Now()
		res := f.attempt(t, activities.AttemptInput{NextDelay: 5 * time.Minute})
		if res.Status != models.StatusPending || res.StatusCode != 500 || res.Error != models.AttemptErrorHTTPStatus {
			t.Fatalf("result %+v", res)
		}
		d := f.deliveryNow(t)
		if d.Status != models.StatusPending || d.NextAttemptAt == nil || d.NextAttemptAt.Before(before.Add(5*time.Minute-time.Second)) {
			t.Fatalf("delivery %+v", d)
		}
		if kept := d.Attempts[0].ResponseBody; len(kept) > 4096 || !strings.HasPrefix(kept, "éé") {
			t.Fatalf("kept %d bytes: %.20q", len(kept), kept)
		}

		// The last attempt leaves nothing scheduled.
		f.attempt(t, activities.AttemptInput{Number: 2, Last: true})
		if d := f.deliveryNow(t); d.NextAttemptAt != nil || len(d.Attempts) != 2 {
			t.Fatalf("after the last attempt: %+v", d)
		}
	})
}

func TestAttemptErrorsAreClassified(t *testing.T) {
	slow := receivertest.New(t)
	slow.Answer(func(w http.ResponseWriter, r *http.Request) { time.Sleep(500 * time.Millisecond) })
	redirect := receivertest.New(t)
	redirect.Answer(func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/elsewhere", http.StatusFound) })
	plain := receivertest.New(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closedURL := "https://" + ln.Addr().String()
	ln.Close()

	tests := []struct {
		name   string
		url    string
		opts   egress.Options
		want   string
		status int
	}{
		{name: "a slow receiver times out", url: slow.URL, opts: egress.Options{RootCAs: slow.Pool(), Timeout: 100 * time.Millisecond}, want: models.AttemptErrorTimeout},
		{name: "a redirect is not followed", url: redirect.URL, opts: egress.Options{RootCAs: redirect.Pool()}, want: models.AttemptErrorHTTPStatus, status: 302},
		{name: "a closed port is a connection error", url: closedURL, opts: egress.Options{}, want: models.AttemptErrorConnection},
		{name: "an unknown certificate authority is a tls error", url: plain.URL, opts: egress.Options{}, want: models.AttemptErrorTLS},
		{name: "loopback is blocked unless allowed", url: plain.URL, opts: egress.Options{RootCAs: plain.Pool(), Guard: &egress.Guard{}}, want: models.AttemptErrorBlockedAddress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t, "sqlite", tt.url, tt.opts)
			res := f.attempt(t, activities.AttemptInput{NextDelay: time.Second})
			if res.Status != models.StatusPending || res.Error != tt.want || res.StatusCode != tt.status {
				t.Fatalf("result %+v, want error %s status %d", res, tt.want, tt.status)
			}
			if a := f.deliveryNow(t).Attempts; len(a) != 1 || a[0].Error != tt.want || a[0].ErrorDetail == "" {
				t.Fatalf("attempts %+v", a)
			}
		})
	}
}

func TestAnEndpointThatCannotReceiveSkipsTheDelivery(t *testing.T) {
	tests := []struct {
		name   string
		change func(ctx context.Context, f *fixture) error
		reason string
	}{
		{name: "disabled", reason: models.ReasonEndpointDisabled, change: func(ctx context.Context, f *fixture) error {
			_, err := f.store.UpdateEndpoint(ctx, f.account.ID, f.endpoint.ID, func(e *models.Endpoint) error { e.Enabled = false; return nil })
			return err
		}},
		{name: "deleted", reason: models.ReasonEndpointDeleted, change: func(ctx context.Context, f *fixture) error {
			return f.store.DeleteEndpoint(ctx, f.account.ID, f.endpoint.ID)
		}},
		{name: "moved to sandbox", reason: models.ReasonSandboxMismatch, change: func(ctx context.Context, f *fixture) error {
			_, err := f.store.UpdateEndpoint(ctx, f.account.ID, f.endpoint.ID, func(e *models.Endpoint) error { e.Sandbox = true; return nil })
			return err
		}},
	}
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rc := receivertest.New(t)
				f := setup(t, kind, rc.URL, egress.Options{RootCAs: rc.Pool()})
				if err := tt.change(context.Background(), f); err != nil {
					t.Fatal(err)
				}
				res := f.attempt(t, activities.AttemptInput{})
				if res.Status != models.StatusSkipped || res.Reason != tt.reason {
					t.Fatalf("result %+v", res)
				}
				if n := len(rc.Got()); n != 0 {
					t.Fatalf("receiver got %d requests", n)
				}
				if d := f.deliveryNow(t); d.Status != models.StatusSkipped || d.Reason != tt.reason || len(d.Attempts) != 0 {
					t.Fatalf("delivery %+v", d)
				}
			})
		}
	})
}

func TestAFinishedDeliveryIsNotAttemptedAgain(t *testing.T) {
	rc := receivertest.New(t)
	f := setup(t, "sqlite", rc.URL, egress.Options{RootCAs: rc.Pool()})
	f.attempt(t, activities.AttemptInput{})
	res := f.attempt(t, activities.AttemptInput{Number: 2})
	if res.Status != models.StatusSucceeded || len(rc.Got()) != 1 {
		t.Fatalf("result %+v after %d requests", res, len(rc.Got()))
	}
}

func TestPendingDeliveriesAndFinishDelivery(t *testing.T) {
	rc := receivertest.New(t)
	f := setup(t, "sqlite", rc.URL, egress.Options{RootCAs: rc.Pool()})
	v, err := f.env.ExecuteActivity(f.acts.PendingDeliveries, activities.PendingInput{EventID: f.event.ID})
	if err != nil {
		t.Fatal(err)
	}
	var pending activities.PendingResult
	v.Get(&pending)
	want := activities.PendingDelivery{DeliveryID: f.delivery.ID, WorkflowID: workflows.DeliveryWorkflowID(f.delivery.ID)}
	if len(pending.Deliveries) != 1 || pending.Deliveries[0] != want {
		t.Fatalf("pending %+v", pending)
	}
	if _, err := f.env.ExecuteActivity(f.acts.FinishDelivery, activities.FinishInput{DeliveryID: f.delivery.ID, Status: models.StatusFailed, Reason: models.ReasonAttemptsExhausted}); err != nil {
		t.Fatal(err)
	}
	if d := f.deliveryNow(t); d.Status != models.StatusFailed || d.Reason != models.ReasonAttemptsExhausted {
		t.Fatalf("delivery %+v", d)
	}
}

func TestAnAttemptsErrorDetailNeverQuotesTheURL(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := "https://" + ln.Addr().String() + "/hook?token=s3cret"
	ln.Close()
	f := setup(t, "sqlite", closed, egress.Options{})
	f.attempt(t, activities.AttemptInput{NextDelay: time.Second})
	a := f.deliveryNow(t).Attempts[0]
	if a.ErrorDetail == "" || strings.Contains(a.ErrorDetail, "s3cret") || strings.Contains(a.ErrorDetail, "/hook") {
		t.Fatalf("error detail %q", a.ErrorDetail)
	}
}

func TestARetryAfterMovesNextAttemptAt(t *testing.T) {
	rc := receivertest.New(t)
	rc.Answer(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	f := setup(t, "sqlite", rc.URL, egress.Options{RootCAs: rc.Pool()})
	before := time.Now()
	res := f.attempt(t, activities.AttemptInput{NextDelay: 5 * time.Second})
	if res.Status != models.StatusPending || res.StatusCode != 429 || res.NextDelay != time.Hour {
		t.Fatalf("result %+v, want pending with the next attempt in 1h", res)
	}
	if next := f.deliveryNow(t).NextAttemptAt; next == nil || next.Before(before.Add(time.Hour-time.Second)) || next.After(time.Now().Add(time.Hour)) {
		t.Fatalf("next_attempt_at %v", next)
	}
	// Without Retry-After the schedule stands.
	rc.Answer(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTooManyRequests) })
	if res := f.attempt(t, activities.AttemptInput{Number: 2, NextDelay: 5 * time.Second}); res.NextDelay != 5*time.Second {
		t.Fatalf("result %+v", res)
	}
}

func TestA410GoneDisablesTheEndpointAndEndsItsOtherDeliveries(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		rc := receivertest.New(t)
		rc.Answer(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusGone) })
		f := setup(t, kind, rc.URL, egress.Options{RootCAs: rc.Pool()})
		other, err := f.store.AcceptEvent(ctx, models.AcceptEventInput{AccountID: f.account.ID, Type: "dex.swap", Data: `{}`,
			WorkflowID: workflows.EventWorkflowID, DeliveryWorkflowID: workflows.DeliveryWorkflowID})
		if err != nil {
			t.Fatal(err)
		}
		res := f.attempt(t, activities.AttemptInput{NextDelay: time.Minute})
		if res.Status != models.StatusFailed || res.Reason != models.ReasonGone || res.StatusCode != 410 {
			t.Fatalf("result %+v, want failed/gone", res)
		}
		ep, err := f.store.GetEndpoint(ctx, f.account.ID, f.endpoint.ID)
		if err != nil || ep.Enabled || ep.DisabledReason != models.ReasonGone || ep.DisabledAt == nil {
			t.Fatalf("endpoint %+v, %v: want disabled (gone)", ep, err)
		}
		if d := f.deliveryNow(t); d.Status != models.StatusFailed || d.Reason != models.ReasonGone {
			t.Fatalf("delivery %+v", d)
		}
		_, ds, _ := f.store.GetEvent(ctx, f.account.ID, other.Event.ID)
		if ds[0].Status != models.StatusSkipped || ds[0].Reason != models.ReasonEndpointDisabled {
			t.Fatalf("the endpoint's other delivery %+v, want skipped/endpoint_disabled", ds[0])
		}
		// Enabled again by hand: the reason goes.
		ep, err = f.store.UpdateEndpoint(ctx, f.account.ID, f.endpoint.ID, func(e *models.Endpoint) error { e.Enabled = true; return nil })
		if err != nil || ep.DisabledReason != "" || ep.DisabledAt != nil {
			t.Fatalf("enabled endpoint %+v, %v", ep, err)
		}
	})
}
