package activities_test

import (
	"testing"
	"time"

	"github.com/securo/webhooks/activities"
	"github.com/securo/webhooks/egress"
	"github.com/securo/webhooks/internal/storetest"
	"github.com/securo/webhooks/models"
)

func TestPurgeExpiredDeletesOldHistoryInBatchesAndKeepsPendingDeliveries(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		f := setup(t, kind, "https://example.com", egress.Options{})
		old := time.Now().Add(-40 * 24 * time.Hour).UTC()
		// The fixture's delivery is pending: it and its event stay.
		pending := f.delivery
		// Three more events, each delivered long ago.
		for range 3 {
			res, err := f.store.AcceptEvent(t.Context(), models.AcceptEventInput{AccountID: f.account.ID, Type: "dex.swap", Data: `{}`,
				WorkflowID: func(id string) string { return "e-" + id }, DeliveryWorkflowID: func(id string) string { return "d-" + id }})
			if err != nil {
				t.Fatal(err)
			}
			if err := f.store.SetDeliveryState(t.Context(), res.Deliveries[0].ID, models.DeliveryState{Status: models.StatusSucceeded}); err != nil {
				t.Fatal(err)
			}
		}
		for _, table := range []string{"events", "deliveries"} {
			if err := f.store.DB().Exec("UPDATE "+table+" SET created_at = ?", old).Error; err != nil {
				t.Fatal(err)
			}
		}
		if err := f.store.DB().Exec("UPDATE deliveries SET updated_at = ?", old).Error; err != nil {
			t.Fatal(err)
		}

		v, err := f.env.ExecuteActivity(f.acts.PurgeExpired, activities.PurgeInput{Before: time.Now().Add(-30 * 24 * time.Hour), BatchSize: 2})
		if err != nil {
			t.Fatal(err)
		}
		var res activities.PurgeResult
		if err := v.Get(&res); err != nil || res.Deliveries != 3 || res.Events != 3 {
			t.Fatalf("purged %+v, %v; want 3 deliveries and 3 events", res, err)
		}
		if _, err := f.store.LoadAttemptTarget(t.Context(), pending.ID); err != nil {
			t.Errorf("the pending delivery or its event was purged: %v", err)
		}
	})
}
