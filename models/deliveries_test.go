package models_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/securo/webhooks/internal/storetest"
	"github.com/securo/webhooks/models"
)

func TestPendingDeliveriesAreTheEventsDeliveriesStillToAttempt(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		s := storetest.Open(t, kind)
		acct, _ := storetest.Account(t, s, "acme")
		for range 3 {
			newEndpoint(t, s, acct.ID, nil)
		}
		newEndpoint(t, s, acct.ID, func(e *models.Endpoint) { e.Enabled = false })
		res := accept(t, s, eventInput(acct.ID, "order.paid"))
		accept(t, s, eventInput(acct.ID, "order.paid")) // another event's deliveries stay out

		var pending []models.Delivery
		for _, d := range res.Deliveries {
			if d.Status == models.StatusPending {
				pending = append(pending, d)
			}
		}
		if len(pending) != 3 {
			t.Fatalf("accept made %d pending deliveries, want 3", len(pending))
		}
		if err := s.SetDeliveryState(ctx, pending[0].ID, models.DeliveryState{Status: models.StatusSucceeded}); err != nil {
			t.Fatalf("set delivery state: %v", err)
		}

		got, err := s.PendingDeliveries(ctx, res.Event.ID)
		if err != nil {
			t.Fatalf("PendingDeliveries: %v", err)
		}
		want := deliveryIDs(pending[1:])
		if ids := deliveryIDs(got); !slices.Equal(ids, want) {
			t.Errorf("PendingDeliveries = %v, want %v", ids, want)
		}
		if !slices.IsSortedFunc(got, func(a, b models.Delivery) int { return strings.Compare(a.ID, b.ID) }) {
			t.Errorf("PendingDeliveries = %v, not in id order", deliveryIDs(got))
		}
		if got, err := s.PendingDeliveries(ctx, "evt_missing"); err != nil || len(got) != 0 {
			t.Errorf("PendingDeliveries of a missing event = %d deliveries, %v; want none", len(got), err)
		}
	})
}

func TestFinishAttemptRecordsTheAttemptAndMovesTheDelivery(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		s := storetest.Open(t, kind)
		acct, _ := storetest.Account(t, s, "acme")
		newEndpoint(t, s, acct.ID, nil)
		res := accept(t, s, eventInput(acct.ID, "order.paid"))
		d := res.Deliveries[0]

		// Not UTC and with nanoseconds: the store keeps the instant to the µs.
		started := time.Date(2030, 1, 2, 3, 4, 5, 123456789, time.FixedZone("CET", 3600))
		a, err := s.StartAttempt(ctx, d.ID, 1, started)
		if err != nil {
			t.Fatalf("start attempt: %v", err)
		}
		// Starting attempt 1 again (a run cut short and repeated) restarts
		// the one row rather than adding a second.
		if _, err := s.StartAttempt(ctx, d.ID, 1, started); err != nil {
			t.Fatalf("restart attempt 1: %v", err)
		}

		// Before it finishes, the attempt shows with nothing but its start.
		_, deliveries, err := s.GetEvent(ctx, acct.ID, res.Event.ID)
		if err != nil {
			t.Fatalf("get event: %v", err)
		}
		if n := len(deliveries[0].Attempts); n != 1 {
			t.Fatalf("an unfinished attempt: delivery has %d attempts, want 1", n)
		}
		if got := deliveries[0].Attempts[0]; got.ID != a.ID || got.DurationMS != nil || got.StatusCode != nil || got.Error != "" ||
			!got.StartedAt.Equal(started.Truncate(time.Microsecond)) {
			t.Errorf("unfinished attempt = %+v, want started at %v and nothing else", got, started)
		}

		next := models.Now().Add(5 * time.Second)
		a.DurationMS, a.StatusCode = ptr(int64(1234)), ptr(503)
		a.Error, a.ResponseBody = models.AttemptErrorHTTPStatus, "Service Unavailable\n"
		state := models.DeliveryState{Status: models.StatusPending, Reason: "retrying", NextAttemptAt: &next}
		if err := s.FinishAttempt(ctx, a, state); err != nil {
			t.Fatalf("finish attempt: %v", err)
		}

		_, deliveries, err = s.GetEvent(ctx, acct.ID, res.Event.ID)
		if err != nil {
			t.Fatalf("get event: %v", err)
		}
		got := deliveries[0]
		if got.Status != state.Status || got.Reason != state.Reason || got.NextAttemptAt == nil || !got.NextAttemptAt.Equal(next) {
			t.Errorf("delivery after FinishAttempt = %s/%s next %v, want %s/%s next %v", got.Status, got.Reason, got.NextAttemptAt, state.Status, state.Reason, next)
		}
		if !got.UpdatedAt.After(d.UpdatedAt) && !got.UpdatedAt.Equal(d.UpdatedAt) {
			t.Errorf("delivery updated_at went back from %v to %v", d.UpdatedAt, got.UpdatedAt)
		}
		if len(got.Attempts) != 1 {
			t.Fatalf("delivery has %d attempts, want 1", len(got.Attempts))
		}
		at := got.Attempts[0]
		if at.ID != a.ID || at.Number != 1 || at.DurationMS == nil || *at.DurationMS != 1234 || at.StatusCode == nil || *at.StatusCode != 503 ||
			at.Error != models.AttemptErrorHTTPStatus || at.ResponseBody != "Service Unavailable\n" || !at.StartedAt.Equal(started.Truncate(time.Microsecond)) {
			t.Errorf("attempt after FinishAttempt = %+v, want %+v", at, a)
		}
	})
}

func TestDeliveriesListTheirAttemptsInOrder(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		s := storetest.Open(t, kind)
		acct, _ := storetest.Account(t, s, "acme")
		ep := newEndpoint(t, s, acct.ID, nil)
		newEndpoint(t, s, acct.ID, nil)
		res := accept(t, s, eventInput(acct.ID, "order.paid"))
		var mine, theirs models.Delivery
		for _, d := range res.Deliveries {
			if d.EndpointID == ep.ID {
				mine = d
			} else {
				theirs = d
			}
		}

		// Numbers out of order, past 9, so a text sort would show.
		start := models.Now()
		for _, n := range []int{2, 10, 1, 3} {
			a, err := s.StartAttempt(ctx, mine.ID, n, start.Add(time.Duration(n)*time.Second))
			if err != nil {
				t.Fatalf("start attempt %d: %v", n, err)
			}
			a.StatusCode = ptr(500 + n)
			if err := s.FinishAttempt(ctx, a, models.DeliveryState{Status: models.StatusPending}); err != nil {
				t.Fatalf("finish attempt %d: %v", n, err)
			}
		}
		numbers := func(d models.Delivery) []int {
			var ns []int
			for _, a := range d.Attempts {
				if a.DeliveryID != d.ID {
					t.Errorf("delivery %s lists attempt %s of %s", d.ID, a.ID, a.DeliveryID)
				}
				ns = append(ns, a.Number)
			}
			return ns
		}

		_, deliveries, err := s.GetEvent(ctx, acct.ID, res.Event.ID)
		if err != nil {
			t.Fatalf("get event: %v", err)
		}
		for _, d := range deliveries {
			switch d.ID {
			case mine.ID:
				if got := numbers(d); !slices.Equal(got, []int{1, 2, 3, 10}) {
					t.Errorf("GetEvent: attempts %v, want [1 2 3 10]", got)
				}
				if d.Attempts[3].StatusCode == nil || *d.Attempts[3].StatusCode != 510 {
					t.Errorf("GetEvent: attempt 10 has status %v, want 510", d.Attempts[3].StatusCode)
				}
			case theirs.ID:
				if d.Attempts == nil || len(d.Attempts) != 0 {
					t.Errorf("GetEvent: a delivery never attempted lists %v, want an empty list", d.Attempts)
				}
			default:
				t.Errorf("GetEvent lists delivery %s of another event", d.ID)
			}
		}

		list, _, err := s.ListEndpointDeliveries(ctx, acct.ID, ep.ID, "", models.Page{Limit: 10})
		if err != nil {
			t.Fatalf("list endpoint deliveries: %v", err)
		}
		if len(list) != 1 || list[0].ID != mine.ID {
			t.Fatalf("ListEndpointDeliveries = %v, want [%s]", deliveryIDs(list), mine.ID)
		}
		if got := numbers(list[0]); !slices.Equal(got, []int{1, 2, 3, 10}) {
			t.Errorf("ListEndpointDeliveries: attempts %v, want [1 2 3 10]", got)
		}

		if _, _, err := s.GetEvent(ctx, acct.ID, "evt_missing"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("GetEvent of a missing event error = %v, want ErrNotFound", err)
		}
		other, _ := storetest.Account(t, s, "other")
		if _, _, err := s.GetEvent(ctx, other.ID, res.Event.ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("GetEvent of another account's event error = %v, want ErrNotFound", err)
		}
	})
}

func TestListEndpointDeliveries(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		s := storetest.Open(t, kind)
		acct, _ := storetest.Account(t, s, "acme")
		ep := newEndpoint(t, s, acct.ID, nil)
		otherEp := newEndpoint(t, s, acct.ID, nil)

		var all []models.Delivery // of ep, oldest first
		for range 7 {
			for _, d := range accept(t, s, eventInput(acct.ID, "order.paid")).Deliveries {
				if d.EndpointID == ep.ID {
					all = append(all, d)
				}
			}
		}
		states := map[string]models.DeliveryState{
			all[1].ID: {Status: models.StatusSucceeded},
			all[3].ID: {Status: models.StatusFailed, Reason: models.ReasonAttemptsExhausted},
			all[4].ID: {Status: models.StatusSucceeded},
			all[6].ID: {Status: models.StatusSkipped, Reason: models.ReasonEndpointDeleted},
		}
		for id, st := range states {
			if err := s.SetDeliveryState(ctx, id, st); err != nil {
				t.Fatalf("set delivery state: %v", err)
			}
		}
		newestFirst := func(ds ...models.Delivery) []string {
			var ids []string
			for i := len(ds) - 1; i >= 0; i-- {
				ids = append(ids, ds[i].ID)
			}
			return ids
		}

		tests := []struct {
			name   string
			status string
			limit  int
			want   []string
		}{
			{"every status, newest first", "", 10, newestFirst(all...)},
			{"every status over pages of 3", "", 3, newestFirst(all...)},
			{"pending", models.StatusPending, 10, newestFirst(all[0], all[2], all[5])},
			{"succeeded over pages of 1", models.StatusSucceeded, 1, newestFirst(all[1], all[4])},
			{"failed", models.StatusFailed, 10, newestFirst(all[3])},
			{"skipped", models.StatusSkipped, 10, newestFirst(all[6])},
			{"a status nobody has", "bogus", 10, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var got []string
				cursor := ""
				for page := 0; ; page++ {
					if page > 20 {
						t.Fatal("the cursor does not advance")
					}
					rows, next, err := s.ListEndpointDeliveries(ctx, acct.ID, ep.ID, tt.status, models.Page{Limit: tt.limit, Cursor: cursor})
					if err != nil {
						t.Fatalf("ListEndpointDeliveries: %v", err)
					}
					for _, d := range rows {
						if d.EndpointID != ep.ID || (tt.status != "" && d.Status != tt.status) {
							t.Errorf("listed delivery %s to %s with status %s", d.ID, d.EndpointID, d.Status)
						}
						got = append(got, d.ID)
					}
					if next == "" {
						break
					}
					cursor = next
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("listed %v, want %v", got, tt.want)
				}
			})
		}

		list, _, err := s.ListEndpointDeliveries(ctx, acct.ID, otherEp.ID, "", models.Page{Limit: 10})
		if err != nil || len(list) != 7 {
			t.Errorf("the other endpoint lists %d deliveries, %v; want its own 7", len(list), err)
		}
		if _, _, err := s.ListEndpointDeliveries(ctx, acct.ID, "ep_missing", "", models.Page{Limit: 10}); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("deliveries of a missing endpoint error = %v, want ErrNotFound", err)
		}
	})
}

func TestSetDeliveryState(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		s := storetest.Open(t, kind)
		acct, _ := storetest.Account(t, s, "acme")
		newEndpoint(t, s, acct.ID, nil)
		later := models.Now().Add(time.Hour)

		tests := []struct {
			name  string
			state models.DeliveryState
		}{
			{"succeeded clears the next attempt", models.DeliveryState{Status: models.StatusSucceeded}},
			{"failed keeps its reason", models.DeliveryState{Status: models.StatusFailed, Reason: models.ReasonAttemptsExhausted}},
			{"skipped for a deleted endpoint", models.DeliveryState{Status: models.StatusSkipped, Reason: models.ReasonEndpointDeleted}},
			{"skipped for a sandbox mismatch", models.DeliveryState{Status: models.StatusSkipped, Reason: models.ReasonSandboxMismatch}},
			{"pending with a later attempt", models.DeliveryState{Status: models.StatusPending, NextAttemptAt: &later}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				d := accept(t, s, eventInput(acct.ID, "order.paid")).Deliveries[0]
				if err := s.SetDeliveryState(ctx, d.ID, tt.state); err != nil {
					t.Fatalf("SetDeliveryState: %v", err)
				}
				target, err := s.LoadAttemptTarget(ctx, d.ID)
				if err != nil {
					t.Fatalf("load delivery: %v", err)
				}
				got := target.Delivery
				if got.Status != tt.state.Status || got.Reason != tt.state.Reason {
					t.Errorf("delivery = %s/%q, want %s/%q", got.Status, got.Reason, tt.state.Status, tt.state.Reason)
				}
				switch {
				case tt.state.NextAttemptAt == nil && got.NextAttemptAt != nil:
					t.Errorf("next attempt = %v, want none", *got.NextAttemptAt)
				case tt.state.NextAttemptAt != nil && (got.NextAttemptAt == nil || !got.NextAttemptAt.Equal(*tt.state.NextAttemptAt)):
					t.Errorf("next attempt = %v, want %v", got.NextAttemptAt, *tt.state.NextAttemptAt)
				}
				if got.UpdatedAt.Before(d.UpdatedAt) {
					t.Errorf("updated_at went back from %v to %v", d.UpdatedAt, got.UpdatedAt)
				}
			})
		}
	})
}
