package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// ErrNotResendable is returned for an explicit resend to an endpoint that
// cannot receive the event now: disabled, deleted, or moved between sandbox
// and live since.
var ErrNotResendable = errors.New("endpoint cannot receive this event now")

// ReasonNotStarted ends a resend whose workflow could not be started.
const ReasonNotStarted = "not_started"

// ResendInput asks to deliver an event again.
type ResendInput struct {
	AccountID  string
	EventID    string
	EndpointID string // optional: every endpoint the event was fanned out to
	// DeliveryWorkflowID names the workflow of each new delivery.
	DeliveryWorkflowID func(deliveryID string) string
}

// ResendEvent writes a new pending delivery of the event for each endpoint
// it was fanned out to (or the one named) that is enabled now and has the
// event's sandbox state. A delivery that ended skipped or failed is not
// touched: the resend is a delivery of its own, with fresh attempts.
func (s *Store) ResendEvent(ctx context.Context, in ResendInput) (Event, []Delivery, error) {
	var ev Event
	var created []Delivery
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("account_id = ? AND id = ?", in.AccountID, in.EventID).Take(&ev).Error; err != nil {
			return notFound(err, "event", in.EventID)
		}
		var endpointIDs []string
		q := tx.Model(&Delivery{}).Where("event_id = ?", ev.ID)
		if in.EndpointID != "" {
			q = q.Where("endpoint_id = ?", in.EndpointID)
		}
		if err := q.Distinct("endpoint_id").Order("endpoint_id").Pluck("endpoint_id", &endpointIDs).Error; err != nil {
			return err
		}
		if in.EndpointID != "" && len(endpointIDs) == 0 {
			return fmt.Errorf("endpoint %s had no delivery of event %s: %w", in.EndpointID, ev.ID, ErrNotFound)
		}
		var endpoints []Endpoint
		if len(endpointIDs) > 0 {
			if err := tx.Omit(secretColumns...).Where("id IN ? AND enabled = ? AND sandbox = ?", endpointIDs, true, ev.Sandbox).Order("id").Find(&endpoints).Error; err != nil {
				return err
			}
		}
		if in.EndpointID != "" && len(endpoints) == 0 {
			return fmt.Errorf("endpoint %s: %w", in.EndpointID, ErrNotResendable)
		}
		now := Now()
		for _, ep := range endpoints {
			id := NewID("dlv")
			created = append(created, Delivery{ID: id, AccountID: ev.AccountID, EventID: ev.ID, EndpointID: ep.ID,
				Status: StatusPending, WorkflowID: in.DeliveryWorkflowID(id), NextAttemptAt: &now, CreatedAt: now, UpdatedAt: now})
		}
		if len(created) == 0 {
			return nil
		}
		return tx.Create(&created).Error
	})
	if err != nil {
		return Event{}, nil, fmt.Errorf("resend %s: %w", in.EventID, err)
	}
	for i := range created {
		created[i].Attempts = []Attempt{}
	}
	return ev, created, nil
}

// FailedEventsOf lists the events whose deliveries to the endpoint failed
// between since and until (until zero: now), oldest first, at most limit.
func (s *Store) FailedEventsOf(ctx context.Context, accountID, endpointID string, since, until time.Time, limit int) ([]string, error) {
	if _, err := s.GetEndpoint(ctx, accountID, endpointID); err != nil {
		return nil, err
	}
	q := s.db.WithContext(ctx).Model(&Delivery{}).
		Where("account_id = ? AND endpoint_id = ? AND status = ? AND created_at >= ?", accountID, endpointID, StatusFailed, since.UTC())
	if !until.IsZero() {
		q = q.Where("created_at < ?", until.UTC())
	}
	var ids []string
	if err := q.Distinct("event_id").Order("event_id").Limit(limit).Pluck("event_id", &ids).Error; err != nil {
		return nil, fmt.Errorf("failed deliveries of %s: %w", endpointID, err)
	}
	return ids, nil
}

// GetDelivery returns one delivery of the account with its attempts.
func (s *Store) GetDelivery(ctx context.Context, accountID, id string) (Delivery, error) {
	var d Delivery
	if err := s.db.WithContext(ctx).Where("account_id = ? AND id = ?", accountID, id).Take(&d).Error; err != nil {
		return Delivery{}, notFound(err, "delivery", id)
	}
	ds := []Delivery{d}
	if err := s.attachAttempts(ctx, ds); err != nil {
		return Delivery{}, err
	}
	return ds[0], nil
}
