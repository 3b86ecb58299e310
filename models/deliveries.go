package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
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

// NewAttempt is attempt number of a delivery, started at startedAt.
func NewAttempt(deliveryID string, number int, startedAt time.Time) Attempt {
	return Attempt{ID: NewID("att"), DeliveryID: deliveryID, Number: number, StartedAt: startedAt.UTC().Truncate(time.Microsecond)}
}

// StartAttempt records an attempt before its POST.
func (s *Store) StartAttempt(ctx context.Context, deliveryID string, number int, startedAt time.Time) (Attempt, error) {
	a := NewAttempt(deliveryID, number, startedAt)
	if err := s.StartAttempts(ctx, []Attempt{a}); err != nil {
		return Attempt{}, err
	}
	return a, nil
}

// DeliveryState is a delivery's status after an attempt or a check.
type DeliveryState struct {
	Status        string
	Reason        string
	NextAttemptAt *time.Time
	// WorkflowID, when set, names the workflow that ran the delivery: the
	// event's, for a delivery that ended in its first attempt.
	WorkflowID string
}

// FinishAttempt completes the attempt row and moves its delivery to state,
// in one transaction.
func (s *Store) FinishAttempt(ctx context.Context, a Attempt, state DeliveryState) error {
	_, err := s.FinishAttempts(ctx, []AttemptOutcome{{DeliveryID: a.DeliveryID, Attempt: &a, State: state}})
	return err
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
	changes := map[string]any{
		"status":          state.Status,
		"reason":          state.Reason,
		"next_attempt_at": state.NextAttemptAt,
		"updated_at":      Now(),
	}
	if state.WorkflowID != "" {
		changes["workflow_id"] = state.WorkflowID
	}
	return tx.Model(&Delivery{}).Where("id = ?", id).Updates(changes).Error
}

// LoadEventTargets reads everything the first attempts of an event need, in
// three queries: the event, its pending deliveries and their endpoints as
// they are now (deleted ones included).
func (s *Store) LoadEventTargets(ctx context.Context, eventID string) ([]AttemptTarget, error) {
	db := s.db.WithContext(ctx)
	var ev Event
	if err := db.Where("id = ?", eventID).Take(&ev).Error; err != nil {
		return nil, notFound(err, "event", eventID)
	}
	var deliveries []Delivery
	if err := db.Where("event_id = ? AND status = ?", eventID, StatusPending).Order("id").Find(&deliveries).Error; err != nil {
		return nil, fmt.Errorf("pending deliveries of %s: %w", eventID, err)
	}
	if len(deliveries) == 0 {
		return nil, nil
	}
	ids := make([]string, len(deliveries))
	for i, d := range deliveries {
		ids[i] = d.EndpointID
	}
	var endpoints []Endpoint
	if err := db.Unscoped().Where("id IN ?", ids).Find(&endpoints).Error; err != nil {
		return nil, fmt.Errorf("endpoints of %s: %w", eventID, err)
	}
	byID := make(map[string]Endpoint, len(endpoints))
	for _, ep := range endpoints {
		byID[ep.ID] = ep
	}
	out := make([]AttemptTarget, 0, len(deliveries))
	for _, d := range deliveries {
		ep, ok := byID[d.EndpointID]
		if !ok {
			return nil, fmt.Errorf("endpoint %s of delivery %s: %w", d.EndpointID, d.ID, ErrNotFound)
		}
		out = append(out, AttemptTarget{Delivery: d, Event: ev, Endpoint: ep})
	}
	return out, nil
}

// StartAttempts records several attempts before their POSTs, in one
// statement. An attempt recorded before under the same number (a run cut
// short and repeated) is started afresh.
func (s *Store) StartAttempts(ctx context.Context, attempts []Attempt) error {
	if err := startAttempts(s.db.WithContext(ctx), attempts); err != nil {
		return fmt.Errorf("start %d attempts: %w", len(attempts), err)
	}
	return nil
}

func startAttempts(tx *gorm.DB, attempts []Attempt) error {
	if len(attempts) == 0 {
		return nil
	}
	return tx.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "delivery_id"}, {Name: "number"}},
		DoUpdates: clause.AssignmentColumns([]string{"started_at", "duration_ms", "status_code", "error", "error_detail", "response_body"}),
	}).Create(&attempts).Error
}

// BeginEventAttempts records, in one transaction, that the event's workflow
// runs and that its first attempts start: one write where two would do.
func (s *Store) BeginEventAttempts(ctx context.Context, eventID string, attempts []Attempt) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := markWorkflowStarted(tx, eventID); err != nil {
			return err
		}
		return startAttempts(tx, attempts)
	})
	if err != nil {
		return fmt.Errorf("begin attempts of %s: %w", eventID, err)
	}
	return nil
}

// AttemptOutcome is one finished attempt (nil when no attempt was made, as
// for a skip) and the state its delivery moves to.
type AttemptOutcome struct {
	DeliveryID string
	Attempt    *Attempt
	State      DeliveryState
	// DisableEndpoint, when set, disables the delivery's endpoint with this
	// reason and ends its other pending deliveries (skipped,
	// endpoint_disabled): a 410 Gone.
	DisableEndpoint string
	EndpointID      string
	// Failing records a failed attempt at that time on the endpoint (the
	// start of its failing streak, if none is running) with LastError;
	// Recovered ends the streak: a success.
	Failing   *time.Time
	LastError string
	Recovered bool
	// Emit is an operational event written in the same transaction.
	Emit *AcceptEventInput
}

// FinishAttempts completes several attempts and moves their deliveries, in
// one transaction, and returns the operational events it wrote.
func (s *Store) FinishAttempts(ctx context.Context, outcomes []AttemptOutcome) ([]Event, error) {
	if len(outcomes) == 0 {
		return nil, nil
	}
	var emitted []Event
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, o := range outcomes {
			if o.Attempt != nil {
				// By (delivery, number): a restarted attempt keeps its first row.
				a := o.Attempt
				if err := tx.Model(&Attempt{}).Where("delivery_id = ? AND number = ?", a.DeliveryID, a.Number).Updates(map[string]any{
					"duration_ms": a.DurationMS, "status_code": a.StatusCode, "error": a.Error,
					"error_detail": a.ErrorDetail, "response_body": a.ResponseBody,
				}).Error; err != nil {
					return err
				}
			}
			if err := setDeliveryState(tx, o.DeliveryID, o.State); err != nil {
				return err
			}
			if err := recordStreak(tx, o); err != nil {
				return err
			}
			if o.DisableEndpoint != "" {
				if err := disableEndpoint(tx, o.EndpointID, o.DisableEndpoint); err != nil {
					return err
				}
			}
			if o.Emit != nil {
				ev, _, err := insertEvent(tx, *o.Emit, Now())
				if err != nil {
					return err
				}
				emitted = append(emitted, ev)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("finish %d attempts: %w", len(outcomes), err)
	}
	return emitted, nil
}

// recordStreak keeps the endpoint's failing streak: started by a failure
// when none is running, ended by a success.
func recordStreak(tx *gorm.DB, o AttemptOutcome) error {
	switch {
	case o.EndpointID == "":
		return nil
	case o.Recovered:
		return tx.Model(&Endpoint{}).Where("id = ? AND failing_since IS NOT NULL", o.EndpointID).
			Updates(map[string]any{"failing_since": nil, "last_error": ""}).Error
	case o.Failing != nil:
		return tx.Model(&Endpoint{}).Where("id = ?", o.EndpointID).Updates(map[string]any{
			"failing_since": gorm.Expr("COALESCE(failing_since, ?)", o.Failing.UTC().Truncate(time.Microsecond)),
			"last_error":    o.LastError,
		}).Error
	}
	return nil
}

// FinishDelivery ends a delivery and writes an operational event about it
// (when emit is set) in one transaction.
func (s *Store) FinishDelivery(ctx context.Context, deliveryID string, state DeliveryState, emit *AcceptEventInput) ([]Event, error) {
	var emitted []Event
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := setDeliveryState(tx, deliveryID, state); err != nil {
			return err
		}
		if emit != nil {
			ev, _, err := insertEvent(tx, *emit, Now())
			if err != nil {
				return err
			}
			emitted = append(emitted, ev)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("finish delivery %s: %w", deliveryID, err)
	}
	return emitted, nil
}

// disableEndpoint disables an endpoint for reason and ends its pending
// deliveries: their workflows find them ended at their next attempt.
func disableEndpoint(tx *gorm.DB, endpointID, reason string) error {
	now := Now()
	err := tx.Model(&Endpoint{}).Where("id = ?", endpointID).Updates(map[string]any{
		"enabled": false, "disabled_reason": reason, "disabled_at": now, "updated_at": now,
	}).Error
	if err != nil {
		return err
	}
	return tx.Model(&Delivery{}).Where("endpoint_id = ? AND status = ?", endpointID, StatusPending).Updates(map[string]any{
		"status": StatusSkipped, "reason": ReasonEndpointDisabled, "next_attempt_at": nil, "updated_at": now,
	}).Error
}
