// Package activities holds the side effects of delivery: reading what a
// workflow needs from the database and POSTing events to endpoints.
package activities

import (
	"context"
	"net/http"
	"time"

	"github.com/securo/webhooks/models"
)

// Store is what the activities need of the database.
type Store interface {
	PendingDeliveries(ctx context.Context, eventID string) ([]models.Delivery, error)
	LoadAttemptTarget(ctx context.Context, deliveryID string) (models.AttemptTarget, error)
	LoadEventTargets(ctx context.Context, eventID string) ([]models.AttemptTarget, error)
	StartAttempts(ctx context.Context, attempts []models.Attempt) error
	BeginEventAttempts(ctx context.Context, eventID string, attempts []models.Attempt) error
	FinishAttempts(ctx context.Context, outcomes []models.AttemptOutcome) error
	SetDeliveryState(ctx context.Context, deliveryID string, state models.DeliveryState) error
	MarkWorkflowStarted(ctx context.Context, eventID string) error
}

// Activities are registered once on the worker; workflows call them through
// a typed nil pointer so names cannot drift.
type Activities struct {
	store     Store
	client    *http.Client
	userAgent string
	now       func() time.Time
	limiter   *endpointLimiter
}

// DefaultMaxInFlightPerEndpoint caps the attempts one worker process makes
// to one endpoint at once, so a slow endpoint cannot hold every slot.
const DefaultMaxInFlightPerEndpoint = 64

// New builds the activities from their dependencies. client is the shared
// delivery client (see package egress); maxPerEndpoint caps concurrent
// attempts per endpoint in this process (0: the default).
func New(store Store, client *http.Client, version string, maxPerEndpoint int) *Activities {
	if maxPerEndpoint <= 0 {
		maxPerEndpoint = DefaultMaxInFlightPerEndpoint
	}
	return &Activities{store: store, client: client, userAgent: "Securo-Webhooks/" + version, now: time.Now,
		limiter: newEndpointLimiter(maxPerEndpoint)}
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
func (a *Activities) FinishDelivery(ctx context.Context, in FinishInput) error {
	return a.store.SetDeliveryState(ctx, in.DeliveryID, models.DeliveryState{Status: in.Status, Reason: in.Reason})
}
