package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// ListEndpointDeliveries returns a page of one endpoint's deliveries with
// their attempts, newest first; status filters when not empty.
func (s *Store) ListEndpointDeliveries(ctx context.Context, accountID, endpointID, status string, p Page) ([]Delivery, string, error) {
	if _, err := s.GetEndpoint(ctx, accountID, endpointID); err != nil {
		return nil, "", err
	}
	q := s.db.WithContext(ctx).Where("account_id = ? AND endpoint_id = ?", accountID, endpointID)
	if status != "" {
		q = q.Where("status = ?", status)
	}
	q, err := paginate(q, "deliveries", p)
	if err != nil {
		return nil, "", err
	}
	var rows []Delivery
	if err := q.Find(&rows).Error; err != nil {
		return nil, "", fmt.Errorf("list deliveries: %w", err)
	}
	rows, next := nextCursor(rows, p.Limit, func(d Delivery) (time.Time, string) { return d.CreatedAt, d.ID })
	if err := s.attachAttempts(ctx, rows); err != nil {
		return nil, "", err
	}
	return rows, next, nil
}

func (s *Store) attachAttempts(ctx context.Context, deliveries []Delivery) error {
	if len(deliveries) == 0 {
		return nil
	}
	ids := make([]string, len(deliveries))
	for i, d := range deliveries {
		ids[i] = d.ID
	}
	var attempts []Attempt
	if err := s.db.WithContext(ctx).Where("delivery_id IN ?", ids).Order("delivery_id, number").Find(&attempts).Error; err != nil {
		return fmt.Errorf("attempts: %w", err)
	}
	byDelivery := make(map[string][]Attempt, len(deliveries))
	for _, a := range attempts {
		byDelivery[a.DeliveryID] = append(byDelivery[a.DeliveryID], a)
	}
	for i := range deliveries {
		deliveries[i].Attempts = byDelivery[deliveries[i].ID]
		if deliveries[i].Attempts == nil {
			deliveries[i].Attempts = []Attempt{}
		}
	}
	return nil
}

// PendingDeliveries returns the event's deliveries still to be attempted.
func (s *Store) PendingDeliveries(ctx context.Context, eventID string) ([]Delivery, error) {
	var rows []Delivery
	err := s.db.WithContext(ctx).Where("event_id = ? AND status = ?", eventID, StatusPending).Order("id").Find(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("pending deliveries of %s: %w", eventID, err)
	}
	return rows, nil
}

// AttemptTarget is what one attempt needs: the delivery, its event and its
// endpoint as they are now (the endpoint possibly deleted).
type AttemptTarget struct {
	Delivery Delivery
	Event    Event
	Endpoint Endpoint
}

// LoadAttemptTarget reads a delivery with its event and endpoint.
func (s *Store) LoadAttemptTarget(ctx context.Context, deliveryID string) (AttemptTarget, error) {
	var t AttemptTarget
	db := s.db.WithContext(ctx)
	if err := db.Where("id = ?", deliveryID).Take(&t.Delivery).Error; err != nil {
		return t, notFound(err, "delivery", deliveryID)
	}
	if err := db.Where("id = ?", t.Delivery.EventID).Take(&t.Event).Error; err != nil {
		return t, notFound(err, "event", t.Delivery.EventID)
	}
	if err := db.Unscoped().Where("id = ?", t.Delivery.EndpointID).Take(&t.Endpoint).Error; err != nil {
		return t, notFound(err, "endpoint", t.Delivery.EndpointID)
	}
	return t, nil
}

// StartAttempt records an attempt before its POST.
func (s *Store) StartAttempt(ctx context.Context, deliveryID string, number int, startedAt time.Time) (Attempt, error) {
	a := Attempt{ID: NewID("att"), DeliveryID: deliveryID, Number: number, StartedAt: startedAt.UTC().Truncate(time.Microsecond)}
	if err := s.db.WithContext(ctx).Create(&a).Error; err != nil {
		return Attempt{}, fmt.Errorf("start attempt %d of %s: %w", number, deliveryID, err)
	}
	return a, nil
}

// DeliveryState is a delivery's status after an attempt or a check.
type DeliveryState struct {
	Status        string
	Reason        string
	NextAttemptAt *time.Time
}

// FinishAttempt completes the attempt row and moves its delivery to state,
// in one transaction.
func (s *Store) FinishAttempt(ctx context.Context, a Attempt, state DeliveryState) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&a).Select("duration_ms", "status_code", "error", "error_detail", "response_body").Updates(&a).Error; err != nil {
			return err
		}
		return setDeliveryState(tx, a.DeliveryID, state)
	})
	if err != nil {
		return fmt.Errorf("finish attempt %d of %s: %w", a.Number, a.DeliveryID, err)
	}
	return nil
}

// SetDeliveryState moves a delivery to state.
func (s *Store) SetDeliveryState(ctx context.Context, deliveryID string, state DeliveryState) error {
	if err := setDeliveryState(s.db.WithContext(ctx), deliveryID, state); err != nil {
		return fmt.Errorf("set delivery %s %s: %w", deliveryID, state.Status, err)
	}
	return nil
}

func setDeliveryState(tx *gorm.DB, id string, state DeliveryState) error {
	if state.NextAttemptAt != nil {
		// SQLite compares times as text: store every time in UTC.
		utc := state.NextAttemptAt.UTC().Truncate(time.Microsecond)
		state.NextAttemptAt = &utc
	}
	return tx.Model(&Delivery{}).Where("id = ?", id).Updates(map[string]any{
		"status":          state.Status,
		"reason":          state.Reason,
		"next_attempt_at": state.NextAttemptAt,
		"updated_at":      Now(),
	}).Error
}
