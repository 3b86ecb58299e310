package models_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/securo/webhooks/models"
)

// Workflow ids with a prefix of their own, so a test sees that the store
// calls the functions it is given rather than making ids up.
func testEventWorkflowID(eventID string) string       { return "test-event-" + eventID }
func testDeliveryWorkflowID(deliveryID string) string { return "test-delivery-" + deliveryID }

// newEndpoint stores an endpoint of account; change may adjust it first.
func newEndpoint(t *testing.T, s *models.Store, accountID string, change func(*models.Endpoint)) models.Endpoint {
	t.Helper()
	ep := models.Endpoint{
		AccountID: accountID,
		URL:       "https://example.com/hook",
		Enabled:   true,
		Secret:    "whsec_test",
	}
	if change != nil {
		change(&ep)
	}
	if err := s.CreateEndpoint(context.Background(), &ep, 100); err != nil {
		t.Fatalf("create endpoint: %v", err)
	}
	return ep
}

// eventInput is an AcceptEventInput of account with the test workflow ids.
func eventInput(accountID, eventType string) models.AcceptEventInput {
	return models.AcceptEventInput{
		AccountID:          accountID,
		Type:               eventType,
		Data:               `{"ok":true}`,
		WorkflowID:         testEventWorkflowID,
		DeliveryWorkflowID: testDeliveryWorkflowID,
	}
}

// accept stores an event and fails the test on error.
func accept(t *testing.T, s *models.Store, in models.AcceptEventInput) models.AcceptEventResult {
	t.Helper()
	res, err := s.AcceptEvent(context.Background(), in)
	if err != nil {
		t.Fatalf("accept %s event: %v", in.Type, err)
	}
	return res
}

// count returns the number of rows of table.
func count(t *testing.T, s *models.Store, table string) int64 {
	t.Helper()
	var n int64
	if err := s.DB().Table(table).Count(&n).Error; err != nil {
		t.Fatalf("count %s: %v", table, err)
	}
	return n
}

// setCreatedAt overwrites created_at of the rows of table with ids.
func setCreatedAt(t *testing.T, s *models.Store, table string, at time.Time, ids ...string) {
	t.Helper()
	res := s.DB().Exec("UPDATE "+table+" SET created_at = ? WHERE id IN ?", at.UTC(), ids)
	if res.Error != nil {
		t.Fatalf("set created_at of %s: %v", table, res.Error)
	}
	if res.RowsAffected != int64(len(ids)) {
		t.Fatalf("set created_at of %s: %d rows changed, want %d", table, res.RowsAffected, len(ids))
	}
}

// deliveryIDs returns the ids of deliveries, sorted.
func deliveryIDs(ds []models.Delivery) []string {
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	slices.Sort(ids)
	return ids
}

// eventIDs returns the ids of events in their order.
func eventIDs(evs []models.Event) []string {
	ids := make([]string, len(evs))
	for i, e := range evs {
		ids[i] = e.ID
	}
	return ids
}

// newestFirst sorts events the way pages list them: by created_at, then id,
// both descending.
func newestFirst(evs []models.Event) []string {
	evs = slices.Clone(evs)
	slices.SortFunc(evs, func(a, b models.Event) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		switch {
		case a.ID > b.ID:
			return -1
		case a.ID < b.ID:
			return 1
		}
		return 0
	})
	return eventIDs(evs)
}

func ptr[T any](v T) *T { return &v }
