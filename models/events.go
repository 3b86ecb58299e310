package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// IdempotencyTTL is how long an Idempotency-Key keeps naming its event.
const IdempotencyTTL = 24 * time.Hour

// AcceptEventInput is an event as the API accepted it.
type AcceptEventInput struct {
	AccountID      string
	Type           string
	Data           string
	Sandbox        bool
	IdempotencyKey string // optional
	RequestHash    string // of the request body, to tell a replay from a conflict
	// ExcludeEndpointID is an endpoint the event never goes to: the one an
	// operational event is about.
	ExcludeEndpointID string
	// OnlyEndpointID, when set, is the one endpoint the event goes to,
	// whatever its event types: a test event.
	OnlyEndpointID string
	// WorkflowID and DeliveryWorkflowID name the Temporal workflows of the
	// event and of each of its deliveries.
	WorkflowID         func(eventID string) string
	DeliveryWorkflowID func(deliveryID string) string
}

// AcceptEventResult is the stored event; Replayed is true when an earlier
// request with the same Idempotency-Key made it.
type AcceptEventResult struct {
	Event      Event
	Deliveries []Delivery
	Replayed   bool
}

// AcceptEvent writes the event and one delivery per matching endpoint in one
// transaction: live events go to live endpoints, sandbox events to sandbox
// ones; an endpoint disabled now gets a skipped delivery and never this event.
func (s *Store) AcceptEvent(ctx context.Context, in AcceptEventInput) (AcceptEventResult, error) {
	res, err := s.acceptEvent(ctx, in)
	if errors.Is(err, gorm.ErrDuplicatedKey) && in.IdempotencyKey != "" {
		// A concurrent request with the same key committed first: answer as
		// a replay of its event.
		res, err = s.acceptEvent(ctx, in)
	}
	if err != nil {
		return AcceptEventResult{}, fmt.Errorf("accept event: %w", err)
	}
	return res, nil
}

func (s *Store) acceptEvent(ctx context.Context, in AcceptEventInput) (AcceptEventResult, error) {
	var res AcceptEventResult
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		now := Now()
		if in.IdempotencyKey != "" {
			var key IdempotencyKey
			err := tx.Where("account_id = ? AND key = ?", in.AccountID, in.IdempotencyKey).Take(&key).Error
			switch {
			case err == nil && now.Sub(key.CreatedAt) < IdempotencyTTL:
				if key.RequestHash != in.RequestHash {
					return ErrIdempotencyConflict
				}
				if err := tx.Where("id = ?", key.EventID).Take(&res.Event).Error; err != nil {
					return err
				}
				if err := tx.Where("event_id = ?", key.EventID).Order("id").Find(&res.Deliveries).Error; err != nil {
					return err
				}
				res.Replayed = true
				return nil
			case err == nil:
				if err := tx.Where("account_id = ? AND key = ?", in.AccountID, in.IdempotencyKey).Delete(&IdempotencyKey{}).Error; err != nil {
					return err
				}
			case !errors.Is(err, gorm.ErrRecordNotFound):
				return err
			}
		}

		var err error
		res.Event, res.Deliveries, err = insertEvent(tx, in, now)
		if err != nil {
			return err
		}
		if in.IdempotencyKey != "" {
			key := IdempotencyKey{AccountID: in.AccountID, Key: in.IdempotencyKey, EventID: res.Event.ID, RequestHash: in.RequestHash, CreatedAt: now}
			if err := tx.Create(&key).Error; err != nil {
				return err
			}
		}
		return nil
	})
	return res, err
}

// insertEvent writes an event and one delivery per matching endpoint.
func insertEvent(tx *gorm.DB, in AcceptEventInput, now time.Time) (Event, []Delivery, error) {
	id := NewID("evt")
	ev := Event{ID: id, AccountID: in.AccountID, Type: in.Type, Data: in.Data, Sandbox: in.Sandbox, WorkflowID: in.WorkflowID(id), CreatedAt: now}
	if err := tx.Create(&ev).Error; err != nil {
		return Event{}, nil, err
	}
	var endpoints []Endpoint
	q := tx.Omit(secretColumns...).Where("account_id = ? AND sandbox = ?", in.AccountID, in.Sandbox)
	if in.OnlyEndpointID != "" {
		q = q.Where("id = ?", in.OnlyEndpointID)
	}
	if err := q.Order("id").Find(&endpoints).Error; err != nil {
		return Event{}, nil, err
	}
	var deliveries []Delivery
	for i := range endpoints {
		ep := &endpoints[i]
		if (in.OnlyEndpointID == "" && !ep.Matches(in.Type)) || ep.ID == in.ExcludeEndpointID {
			continue
		}
		dlvID := NewID("dlv")
		d := Delivery{ID: dlvID, AccountID: in.AccountID, EventID: id, EndpointID: ep.ID, Status: StatusPending,
			WorkflowID: in.DeliveryWorkflowID(dlvID), NextAttemptAt: &now, CreatedAt: now, UpdatedAt: now}
		if !ep.Enabled {
			d.Status, d.Reason, d.NextAttemptAt = StatusSkipped, ReasonEndpointDisabled, nil
		}
		deliveries = append(deliveries, d)
	}
	if len(deliveries) > 0 {
		if err := tx.Create(&deliveries).Error; err != nil {
			return Event{}, nil, err
		}
	}
	return ev, deliveries, nil
}

// EventFilter narrows ListEvents.
type EventFilter struct {
	Type    string
	Sandbox *bool
}

// ListEvents returns a page of the account's events and the next cursor.
func (s *Store) ListEvents(ctx context.Context, accountID string, f EventFilter, p Page) ([]Event, string, error) {
	q := s.db.WithContext(ctx).Where("account_id = ?", accountID)
	if f.Type != "" {
		q = q.Where("type = ?", f.Type)
	}
	if f.Sandbox != nil {
		q = q.Where("sandbox = ?", *f.Sandbox)
	}
	q, err := paginate(q, "events", p)
	if err != nil {
		return nil, "", err
	}
	var rows []Event
	if err := q.Find(&rows).Error; err != nil {
		return nil, "", fmt.Errorf("list events: %w", err)
	}
	rows, next := nextCursor(rows, p.Limit, func(e Event) (time.Time, string) { return e.CreatedAt, e.ID })
	return rows, next, nil
}

// GetEvent returns one event of the account with its deliveries and their
// attempts.
func (s *Store) GetEvent(ctx context.Context, accountID, id string) (Event, []Delivery, error) {
	var ev Event
	db := s.db.WithContext(ctx)
	if err := db.Where("account_id = ? AND id = ?", accountID, id).Take(&ev).Error; err != nil {
		return Event{}, nil, notFound(err, "event", id)
	}
	var deliveries []Delivery
	if err := db.Where("event_id = ?", id).Order("created_at, id").Find(&deliveries).Error; err != nil {
		return Event{}, nil, fmt.Errorf("deliveries of event %s: %w", id, err)
	}
	if err := s.attachAttempts(ctx, deliveries); err != nil {
		return Event{}, nil, err
	}
	return ev, deliveries, nil
}

// LoadEvent returns an event by id alone, for the worker.
func (s *Store) LoadEvent(ctx context.Context, id string) (Event, error) {
	var ev Event
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&ev).Error; err != nil {
		return Event{}, notFound(err, "event", id)
	}
	return ev, nil
}

// MarkWorkflowStarted records that the event's workflow exists, so the
// sweeper leaves the event alone.
func (s *Store) MarkWorkflowStarted(ctx context.Context, eventID string) error {
	if err := markWorkflowStarted(s.db.WithContext(ctx), eventID); err != nil {
		return fmt.Errorf("mark workflow of %s started: %w", eventID, err)
	}
	return nil
}

func markWorkflowStarted(tx *gorm.DB, eventID string) error {
	return tx.Model(&Event{}).Where("id = ? AND workflow_started_at IS NULL", eventID).Update("workflow_started_at", Now()).Error
}

// UnstartedEvents returns up to limit events accepted before `before` whose
// workflow has not been seen to start, oldest first.
func (s *Store) UnstartedEvents(ctx context.Context, before time.Time, limit int) ([]Event, error) {
	var rows []Event
	err := s.db.WithContext(ctx).
		// UTC: SQLite compares times as text, so the zone must be the stored one.
		Where("workflow_started_at IS NULL AND created_at < ?", before.UTC()).
		Order("created_at, id").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("unstarted events: %w", err)
	}
	return rows, nil
}
