package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/securo/webhooks/internal/storetest"
	"github.com/securo/webhooks/models"
)

// agedEvent accepts an event (one delivery per endpoint), gives each
// delivery an attempt and the status given, and moves every time age back.
func agedEvent(t *testing.T, s *models.Store, accountID, key string, age time.Duration, statuses ...string) models.AcceptEventResult {
	t.Helper()
	ctx := context.Background()
	in := eventInput(accountID, "dex.swap")
	in.IdempotencyKey, in.RequestHash = key, "h"
	res := accept(t, s, in)
	if len(res.Deliveries) != len(statuses) {
		t.Fatalf("%d deliveries, want %d", len(res.Deliveries), len(statuses))
	}
	at := time.Now().Add(-age).UTC()
	for i, d := range res.Deliveries {
		a, err := s.StartAttempt(ctx, d.ID, 1, at)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.FinishAttempt(ctx, a, models.DeliveryState{Status: statuses[i]}); err != nil {
			t.Fatal(err)
		}
		if err := s.DB().Exec("UPDATE deliveries SET created_at = ?, updated_at = ? WHERE id = ?", at, at, d.ID).Error; err != nil {
			t.Fatal(err)
		}
	}
	setCreatedAt(t, s, "events", at, res.Event.ID)
	return res
}

func exists(t *testing.T, s *models.Store, table, id string) bool {
	t.Helper()
	var n int64
	if err := s.DB().Table(table).Where("id = ?", id).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// purgeAll purges deliveries, then events, batch rows a transaction, until
// none are left, as the retention activity does.
func purgeAll(t *testing.T, s *models.Store, before time.Time, batch int) (deliveries, events, rounds int) {
	t.Helper()
	for _, step := range []struct {
		purge func(context.Context, time.Time, int) (int, error)
		count *int
	}{{s.PurgeDeliveries, &deliveries}, {s.PurgeEvents, &events}} {
		for {
			n, err := step.purge(context.Background(), before, batch)
			if err != nil {
				t.Fatal(err)
			}
			*step.count += n
			rounds++
			if n < batch {
				break
			}
		}
	}
	return deliveries, events, rounds
}

func TestRetentionPurgesOldFinishedHistoryAndKeepsWhatIsPendingOrRecent(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		s := storetest.Open(t, kind)
		acct, _ := storetest.Account(t, s, "acme")
		newEndpoint(t, s, acct.ID, nil)
		month := 31 * 24 * time.Hour
		oldDone := agedEvent(t, s, acct.ID, "k-old-done", month+time.Hour, models.StatusSucceeded)
		oldFailed := agedEvent(t, s, acct.ID, "k-old-failed", month, models.StatusFailed)
		oldPending := agedEvent(t, s, acct.ID, "k-old-pending", month, models.StatusPending)
		recent := agedEvent(t, s, acct.ID, "k-recent", time.Hour, models.StatusSucceeded)
		newEndpoint(t, s, acct.ID, nil)
		// One delivery ended long ago, its sibling still retries: the event stays.
		mixed := agedEvent(t, s, acct.ID, "k-mixed", month, models.StatusSkipped, models.StatusPending)
		// An event that matched no endpoint has nothing to wait for.
		other, _ := storetest.Account(t, s, "other")
		unmatched := agedEvent(t, s, other.ID, "k-unmatched", month)

		before := time.Now().Add(-30 * 24 * time.Hour)
		deliveries, events, rounds := purgeAll(t, s, before, 1)
		if deliveries != 3 || events != 3 {
			t.Fatalf("purged %d deliveries and %d events, want 3 and 3", deliveries, events)
		}
		if rounds != 8 { // one row a transaction, and one round that finds none for each
			t.Errorf("%d rounds, want 8", rounds)
		}
		for _, gone := range []string{oldDone.Event.ID, oldFailed.Event.ID, unmatched.Event.ID} {
			if exists(t, s, "events", gone) {
				t.Errorf("event %s is still there", gone)
			}
		}
		for _, kept := range []string{oldPending.Event.ID, recent.Event.ID, mixed.Event.ID} {
			if !exists(t, s, "events", kept) {
				t.Errorf("event %s was purged", kept)
			}
		}
		for _, d := range []models.Delivery{oldPending.Deliveries[0], recent.Deliveries[0], mixed.Deliveries[1]} {
			if !exists(t, s, "deliveries", d.ID) {
				t.Errorf("delivery %s (%s) was purged", d.ID, d.Status)
			}
		}
		if exists(t, s, "deliveries", mixed.Deliveries[0].ID) {
			t.Error("the mixed event's finished delivery is still there")
		}
		if n := count(t, s, "attempts"); n != 3 { // the pending ones' and the recent one's
			t.Errorf("%d attempts left, want 3", n)
		}
		if n := count(t, s, "idempotency_keys"); n != 3 {
			t.Errorf("%d idempotency keys left, want 3", n)
		}
		// A second run finds nothing.
		if d, e, _ := purgeAll(t, s, before, 1000); d != 0 || e != 0 {
			t.Errorf("a second purge deleted %d deliveries and %d events", d, e)
		}
	})
}

func TestPurgeHonoursItsContext(t *testing.T) {
	s := storetest.Open(t, "sqlite")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.PurgeDeliveries(ctx, time.Now(), 10); !errors.Is(err, context.Canceled) {
		t.Errorf("PurgeDeliveries with a canceled context: %v", err)
	}
}
