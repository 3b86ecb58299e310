package models

import (
	"context"
	"encoding/json"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// TestEventInput asks for a webhook.test event to one endpoint.
type TestEventInput struct {
	AccountID  string
	EndpointID string
	// WorkflowID and DeliveryWorkflowID name the Temporal workflows of the
	// event and of its delivery.
	WorkflowID         func(eventID string) string
	DeliveryWorkflowID func(deliveryID string) string
}

// SendTestEvent writes a webhook.test event with one delivery, to the
// endpoint alone, whatever its event types, in the endpoint's mode (sandbox
// or live). A disabled endpoint gets nothing (ErrEndpointDisabled); another
// account's is not found.
func (s *Store) SendTestEvent(ctx context.Context, in TestEventInput) (AcceptEventResult, error) {
	var res AcceptEventResult
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// The lock keeps a concurrent PATCH from disabling the endpoint
		// between the check and the insert.
		var ep Endpoint
		err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Omit(secretColumns...).
			Where("account_id = ? AND id = ?", in.AccountID, in.EndpointID).Take(&ep).Error
		if err != nil {
			return notFound(err, "endpoint", in.EndpointID)
		}
		if !ep.Enabled {
			return fmt.Errorf("endpoint %s: %w", ep.ID, ErrEndpointDisabled)
		}
		data, err := json.Marshal(struct {
			Message    string `json:"message"`
			EndpointID string `json:"endpoint_id"`
		}{"This is a test event from Securo Webhooks", ep.ID})
		if err != nil {
			return err
		}
		res.Event, res.Deliveries, err = insertEvent(tx, AcceptEventInput{
			AccountID: in.AccountID, Type: EventWebhookTest, Data: string(data), Sandbox: ep.Sandbox,
			OnlyEndpointID: ep.ID, WorkflowID: in.WorkflowID, DeliveryWorkflowID: in.DeliveryWorkflowID,
		}, Now())
		return err
	})
	if err != nil {
		return AcceptEventResult{}, fmt.Errorf("send test event: %w", err)
	}
	return res, nil
}
