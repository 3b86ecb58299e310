// Package activities holds the side effects of delivery: reading what a
// workflow needs from the database and POSTing events to endpoints.
package activities

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/securo/webhooks/models"
)

// Store is what the activities need of the database.
type Store interface {
	PendingDeliveries(ctx context.Context, eventID string) ([]models.Delivery, error)
	LoadAttemptTarget(ctx context.Context, deliveryID string) (models.AttemptTarget, error)
	LoadEventTargets(ctx context.Context, eventID string) ([]models.AttemptTarget, error)
	StartAttempts(ctx context.Context, attempts []models.Attempt) error
	BeginEventAttempts(ctx context.Context, eventID string, attempts []models.Attempt) error
	FinishAttempts(ctx context.Context, outcomes []models.AttemptOutcome) ([]models.Event, error)
	FinishDelivery(ctx context.Context, deliveryID string, state models.DeliveryState, emit *models.AcceptEventInput) ([]models.Event, error)
	SetDeliveryState(ctx context.Context, deliveryID string, state models.DeliveryState) error
	MarkWorkflowStarted(ctx context.Context, eventID string) error
	PurgeDeliveries(ctx context.Context, before time.Time, limit int) (int, error)
	PurgeEvents(ctx context.Context, before time.Time, limit int) (int, error)
}

// Activities are registered once on the worker; workflows call them through
// a typed nil pointer so names cannot drift.
type Activities struct {
	store            Store
	client           *http.Client
	userAgent        string
	now              func() time.Time
	limiter          *endpointLimiter
	autoDisableAfter time.Duration
	launcher         Launcher
	ids              WorkflowIDs
	metrics          Recorder
	log              *slog.Logger
}

// Recorder counts attempts and deliveries (package metrics implements it).
type Recorder interface {
	// AttemptStarted is called as a POST begins; sinceAccepted is the time
	// since the delivery was accepted for a first attempt, negative for
	// later ones. The function it returns is called when the POST ends.
	AttemptStarted(sinceAccepted time.Duration) (finished func(class string, took time.Duration))
	// DeliveryFinished counts a delivery that ended.
	DeliveryFinished(status, reason string)
}

type noRecorder struct{}

func (noRecorder) AttemptStarted(time.Duration) func(string, time.Duration) {
	return func(string, time.Duration) {}
}
func (noRecorder) DeliveryFinished(string, string) {}

// Launcher starts the workflow of an operational event right away; without
// one, the sweeper starts it.
type Launcher interface {
	Launch(ctx context.Context, ev models.Event) error
}

// WorkflowIDs name the workflows of the operational events the activities
// write (workflows.EventWorkflowID and DeliveryWorkflowID).
type WorkflowIDs struct {
	Event, Delivery func(id string) string
}

// DefaultAutoDisableAfter is how long an endpoint's attempts may all fail
// before it is disabled (reason failing).
const DefaultAutoDisableAfter = 5 * 24 * time.Hour

// Options shape the activities; zero values take the defaults.
type Options struct {
	// MaxInFlightPerEndpoint caps concurrent attempts per endpoint in this
	// process.
	MaxInFlightPerEndpoint int
	AutoDisableAfter       time.Duration
	Launcher               Launcher
	WorkflowIDs            WorkflowIDs
	// Metrics counts attempts and deliveries; nil counts nothing.
	Metrics Recorder
	// Logger gets one line per attempt (ids, number, status, outcome,
	// duration; never a payload, secret or signature); nil discards.
	Logger *slog.Logger
}

// DefaultMaxInFlightPerEndpoint caps the attempts one worker process makes
// to one endpoint at once, so a slow endpoint cannot hold every slot.
const DefaultMaxInFlightPerEndpoint = 64

// New builds the activities from their dependencies. client is the shared
// delivery client (see package egress).
func New(store Store, client *http.Client, version string, o Options) *Activities {
	if o.MaxInFlightPerEndpoint <= 0 {
		o.MaxInFlightPerEndpoint = DefaultMaxInFlightPerEndpoint
	}
	if o.AutoDisableAfter <= 0 {
		o.AutoDisableAfter = DefaultAutoDisableAfter
	}
	if o.Metrics == nil {
		o.Metrics = noRecorder{}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Activities{store: store, client: client, userAgent: "Securo-Webhooks/" + version, now: time.Now,
		limiter: newEndpointLimiter(o.MaxInFlightPerEndpoint), autoDisableAfter: o.AutoDisableAfter,
		launcher: o.Launcher, ids: o.WorkflowIDs, metrics: o.Metrics, log: o.Logger}
}

// at is the time an attempt is judged at: the workflow's, else the clock.
func (a *Activities) at(workflowNow time.Time) time.Time {
	if workflowNow.IsZero() {
		return a.now()
	}
	return workflowNow
}

// launch starts the workflows of operational events just written; one that
// fails is left to the sweeper.
func (a *Activities) launch(ctx context.Context, events []models.Event) {
	if a.launcher == nil {
		return
	}
	for _, ev := range events {
		if err := a.launcher.Launch(ctx, ev); err != nil {
			activity.GetLogger(ctx).Warn("starting an operational event's workflow failed; the sweeper will", "event", ev.ID, "error", err)
		}
	}
}

// PendingInput names an event.
type PendingInput struct {
	EventID string
}

// PendingDelivery is one delivery a workflow must run: ids only, payloads
// and secrets never enter workflow history.
type PendingDelivery struct {
	DeliveryID string
	WorkflowID string
}

// PendingResult lists the event's deliveries still to run.
type PendingResult struct {
	Deliveries []PendingDelivery
}

// PendingDeliveries lists the event's pending deliveries, and records that
// the event's workflow runs.
func (a *Activities) PendingDeliveries(ctx context.Context, in PendingInput) (PendingResult, error) {
	if err := a.store.MarkWorkflowStarted(ctx, in.EventID); err != nil {
		return PendingResult{}, err
	}
	rows, err := a.store.PendingDeliveries(ctx, in.EventID)
	if err != nil {
		return PendingResult{}, err
	}
	out := PendingResult{Deliveries: make([]PendingDelivery, len(rows))}
	for i, d := range rows {
		out.Deliveries[i] = PendingDelivery{DeliveryID: d.ID, WorkflowID: d.WorkflowID}
	}
	return out, nil
}

// FinishInput ends a delivery.
type FinishInput struct {
	DeliveryID string
	Status     string
	Reason     string
}

// FinishDelivery records a delivery's final state.
// A delivery that fails for good emits delivery.failed, unless it was itself
// delivering an operational event (no loops) or a test event (a test says
// its outcome on the endpoint's page, to no other endpoint).
func (a *Activities) FinishDelivery(ctx context.Context, in FinishInput) error {
	var emit *models.AcceptEventInput
	if in.Status == models.StatusFailed {
		t, err := a.store.LoadAttemptTarget(ctx, in.DeliveryID)
		if err != nil {
			return err
		}
		if !models.IsReserved(t.Event.Type) {
			data, _ := json.Marshal(map[string]any{
				"delivery_id": t.Delivery.ID, "event_id": t.Event.ID, "event_type": t.Event.Type,
				"endpoint_id": t.Endpoint.ID, "url": t.Endpoint.URL, "reason": in.Reason, "last_error": t.Endpoint.LastError,
			})
			emit = a.operational(t.Endpoint, models.EventDeliveryFailed, data)
		}
	}
	emitted, err := a.store.FinishDelivery(ctx, in.DeliveryID, models.DeliveryState{Status: in.Status, Reason: in.Reason}, emit)
	if err != nil {
		return err
	}
	a.metrics.DeliveryFinished(in.Status, in.Reason)
	a.launch(ctx, emitted)
	return nil
}
