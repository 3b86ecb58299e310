package models_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/securo/webhooks/internal/storetest"
	"github.com/securo/webhooks/models"
)

func TestEndpointMatches(t *testing.T) {
	tests := []struct {
		name       string
		eventTypes models.StringList
		eventType  string
		want       bool
	}{
		{"an empty list matches every type", nil, "order.paid", true},
		{"an empty, non-nil list matches every type", models.StringList{}, "order.paid", true},
		{"a star matches every type", models.StringList{"*"}, "order.paid", true},
		{"an exact type matches itself", models.StringList{"order.paid"}, "order.paid", true},
		{"an exact type does not match another", models.StringList{"order.paid"}, "order.refunded", false},
		{"an exact type does not match a longer one", models.StringList{"order"}, "order.paid", false},
		{"a prefix matches a type under it", models.StringList{"dex.*"}, "dex.swap", true},
		{"a prefix matches a type two levels under it", models.StringList{"dex.*"}, "dex.swap.done", true},
		{"a prefix does not match its bare name", models.StringList{"dex.*"}, "dex", false},
		{"a prefix does not match its name with a dot", models.StringList{"dex.*"}, "dex.", false},
		{"a prefix does not match a longer name", models.StringList{"dex.*"}, "dexter.x", false},
		{"a prefix does not match another type", models.StringList{"dex.*"}, "order.paid", false},
		{"any entry of a list may match", models.StringList{"order.paid", "dex.*"}, "dex.swap", true},
		{"no entry of a list matches", models.StringList{"order.paid", "dex.*"}, "user.created", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep := models.Endpoint{EventTypes: tt.eventTypes}
			if got := ep.Matches(tt.eventType); got != tt.want {
				t.Errorf("Endpoint{EventTypes: %q}.Matches(%q) = %v, want %v", tt.eventTypes, tt.eventType, got, tt.want)
			}
		})
	}
}

func TestEndpointLifecycle(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		s := storetest.Open(t, kind)
		acct, _ := storetest.Account(t, s, "acme")

		ep := models.Endpoint{
			AccountID:   acct.ID,
			URL:         "https://example.com/a",
			Description: "orders",
			EventTypes:  models.StringList{"order.*"},
			Sandbox:     true,
			Enabled:     true,
			Secret:      "whsec_a",
		}
		if err := s.CreateEndpoint(ctx, &ep, 10); err != nil {
			t.Fatalf("create endpoint: %v", err)
		}
		if ep.ID == "" || ep.CreatedAt.IsZero() || !ep.UpdatedAt.Equal(ep.CreatedAt) {
			t.Fatalf("CreateEndpoint set id %q, created %v, updated %v", ep.ID, ep.CreatedAt, ep.UpdatedAt)
		}

		got, err := s.GetEndpoint(ctx, acct.ID, ep.ID)
		if err != nil {
			t.Fatalf("get endpoint: %v", err)
		}
		if got.URL != ep.URL || got.Description != ep.Description || !slices.Equal(got.EventTypes, ep.EventTypes) ||
			got.Sandbox != ep.Sandbox || got.Enabled != ep.Enabled || got.Secret != ep.Secret ||
			!got.CreatedAt.Equal(ep.CreatedAt) || got.DeletedAt.Valid {
			t.Errorf("GetEndpoint = %+v, want %+v", got, ep)
		}

		second := newEndpoint(t, s, acct.ID, func(e *models.Endpoint) { e.URL = "https://example.com/b" })
		list, next, err := s.ListEndpoints(ctx, acct.ID, models.Page{Limit: 10})
		if err != nil {
			t.Fatalf("list endpoints: %v", err)
		}
		if next != "" || len(list) != 2 || list[0].ID != second.ID || list[1].ID != ep.ID {
			t.Errorf("ListEndpoints = %d endpoints, next %q; want %s then %s", len(list), next, second.ID, ep.ID)
		}

		updated, err := s.UpdateEndpoint(ctx, acct.ID, ep.ID, func(e *models.Endpoint) error {
			e.URL = "https://example.com/new"
			e.Description = ""
			e.EventTypes = nil
			e.Sandbox = false
			e.Enabled = false
			return nil
		})
		if err != nil {
			t.Fatalf("update endpoint: %v", err)
		}
		got, err = s.GetEndpoint(ctx, acct.ID, ep.ID)
		if err != nil {
			t.Fatalf("get updated endpoint: %v", err)
		}
		if got.URL != "https://example.com/new" || got.Description != "" || len(got.EventTypes) != 0 ||
			got.Sandbox || got.Enabled || got.Secret != ep.Secret {
			t.Errorf("after update GetEndpoint = %+v, want the new url and zero fields written", got)
		}
		if !got.UpdatedAt.Equal(updated.UpdatedAt) || got.UpdatedAt.Before(ep.UpdatedAt) {
			t.Errorf("after update updated_at = %v, returned %v, created %v", got.UpdatedAt, updated.UpdatedAt, ep.UpdatedAt)
		}

		if err := s.DeleteEndpoint(ctx, acct.ID, ep.ID); err != nil {
			t.Fatalf("delete endpoint: %v", err)
		}
		if _, err := s.GetEndpoint(ctx, acct.ID, ep.ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("GetEndpoint of a deleted endpoint error = %v, want ErrNotFound", err)
		}
		list, _, err = s.ListEndpoints(ctx, acct.ID, models.Page{Limit: 10})
		if err != nil {
			t.Fatalf("list endpoints: %v", err)
		}
		if len(list) != 1 || list[0].ID != second.ID {
			t.Errorf("after delete ListEndpoints = %d endpoints, want only %s", len(list), second.ID)
		}
		if err := s.DeleteEndpoint(ctx, acct.ID, ep.ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("deleting a deleted endpoint error = %v, want ErrNotFound", err)
		}
		if _, err := s.UpdateEndpoint(ctx, acct.ID, ep.ID, func(*models.Endpoint) error { return nil }); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("updating a deleted endpoint error = %v, want ErrNotFound", err)
		}
	})
}

func TestAnotherAccountsEndpointIsNotFound(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		s := storetest.Open(t, kind)
		owner, _ := storetest.Account(t, s, "owner")
		other, _ := storetest.Account(t, s, "other")
		ep := newEndpoint(t, s, owner.ID, nil)

		tests := []struct {
			name string
			call func() error
		}{
			{"get", func() error { _, err := s.GetEndpoint(ctx, other.ID, ep.ID); return err }},
			{"update", func() error {
				_, err := s.UpdateEndpoint(ctx, other.ID, ep.ID, func(e *models.Endpoint) error { e.URL = "https://evil.example"; return nil })
				return err
			}},
			{"delete", func() error { return s.DeleteEndpoint(ctx, other.ID, ep.ID) }},
			{"list deliveries", func() error {
				_, _, err := s.ListEndpointDeliveries(ctx, other.ID, ep.ID, "", models.Page{Limit: 10})
				return err
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if err := tt.call(); !errors.Is(err, models.ErrNotFound) {
					t.Errorf("error = %v, want ErrNotFound", err)
				}
			})
		}
		list, _, err := s.ListEndpoints(ctx, other.ID, models.Page{Limit: 10})
		if err != nil || len(list) != 0 {
			t.Errorf("ListEndpoints of the other account = %d endpoints, %v; want none", len(list), err)
		}
		got, err := s.GetEndpoint(ctx, owner.ID, ep.ID)
		if err != nil || got.URL != ep.URL {
			t.Errorf("owner's endpoint after the other account's calls = %+v, %v; want it unchanged", got, err)
		}
	})
}

func TestCreateEndpointStopsAtTheAccountsLimit(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		s := storetest.Open(t, kind)
		full, _ := storetest.Account(t, s, "full")
		other, _ := storetest.Account(t, s, "other")
		const max = 3

		for i := range max {
			ep := models.Endpoint{AccountID: full.ID, URL: "https://example.com", Enabled: true, Secret: "s"}
			if err := s.CreateEndpoint(ctx, &ep, max); err != nil {
				t.Fatalf("create endpoint %d of %d: %v", i+1, max, err)
			}
		}
		extra := models.Endpoint{AccountID: full.ID, URL: "https://example.com", Enabled: true, Secret: "s"}
		if err := s.CreateEndpoint(ctx, &extra, max); !errors.Is(err, models.ErrTooManyEndpoints) {
			t.Fatalf("create endpoint %d of %d: error = %v, want ErrTooManyEndpoints", max+1, max, err)
		}
		list, _, err := s.ListEndpoints(ctx, full.ID, models.Page{Limit: 10})
		if err != nil || len(list) != max {
			t.Errorf("ListEndpoints = %d endpoints, %v; want %d", len(list), err, max)
		}

		ep := models.Endpoint{AccountID: other.ID, URL: "https://example.com", Enabled: true, Secret: "s"}
		if err := s.CreateEndpoint(ctx, &ep, max); err != nil {
			t.Errorf("another account's first endpoint: %v", err)
		}
	})
}

func TestUpdateEndpointWritesNothingWhenTheChangeFails(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		s := storetest.Open(t, kind)
		acct, _ := storetest.Account(t, s, "acme")
		ep := newEndpoint(t, s, acct.ID, func(e *models.Endpoint) { e.EventTypes = models.StringList{"a.*"} })

		errInvalid := errors.New("invalid url")
		_, err := s.UpdateEndpoint(ctx, acct.ID, ep.ID, func(e *models.Endpoint) error {
			e.URL = "ftp://nope"
			e.Enabled = false
			e.EventTypes = models.StringList{"b"}
			return errInvalid
		})
		if !errors.Is(err, errInvalid) {
			t.Fatalf("UpdateEndpoint error = %v, want the change's error", err)
		}
		got, err := s.GetEndpoint(ctx, acct.ID, ep.ID)
		if err != nil {
			t.Fatalf("get endpoint: %v", err)
		}
		if got.URL != ep.URL || !got.Enabled || !slices.Equal(got.EventTypes, ep.EventTypes) || !got.UpdatedAt.Equal(ep.UpdatedAt) {
			t.Errorf("after a failed change GetEndpoint = %+v, want %+v", got, ep)
		}
	})
}

func TestDeletedEndpointStillLoadsForItsDeliveries(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		s := storetest.Open(t, kind)
		acct, _ := storetest.Account(t, s, "acme")
		ep := newEndpoint(t, s, acct.ID, nil)
		res := accept(t, s, eventInput(acct.ID, "order.paid"))
		if len(res.Deliveries) != 1 {
			t.Fatalf("accept made %d deliveries, want 1", len(res.Deliveries))
		}

		if err := s.DeleteEndpoint(ctx, acct.ID, ep.ID); err != nil {
			t.Fatalf("delete endpoint: %v", err)
		}
		target, err := s.LoadAttemptTarget(ctx, res.Deliveries[0].ID)
		if err != nil {
			t.Fatalf("LoadAttemptTarget after delete: %v", err)
		}
		if target.Endpoint.ID != ep.ID || !target.Endpoint.DeletedAt.Valid {
			t.Errorf("LoadAttemptTarget endpoint = %s, deleted %v; want %s, deleted", target.Endpoint.ID, target.Endpoint.DeletedAt, ep.ID)
		}
		if target.Event.ID != res.Event.ID || target.Delivery.ID != res.Deliveries[0].ID {
			t.Errorf("LoadAttemptTarget = event %s, delivery %s; want %s, %s", target.Event.ID, target.Delivery.ID, res.Event.ID, res.Deliveries[0].ID)
		}
		if _, err := s.LoadAttemptTarget(ctx, "dlv_missing"); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("LoadAttemptTarget of a missing delivery error = %v, want ErrNotFound", err)
		}
	})
}

func TestConcurrentCreatesNeverPassTheLimit(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		s := storetest.Open(t, kind)
		acct, _ := storetest.Account(t, s, "acme")
		const limit, tries = 5, 20
		var wg sync.WaitGroup
		var created, refused atomic.Int32
		for range tries {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ep := models.Endpoint{AccountID: acct.ID, URL: "https://example.com/hook", Enabled: true, Secret: "whsec_test"}
				err := s.CreateEndpoint(context.Background(), &ep, limit)
				switch {
				case err == nil:
					created.Add(1)
				case errors.Is(err, models.ErrTooManyEndpoints):
					refused.Add(1)
				default:
					t.Errorf("create: %v", err)
				}
			}()
		}
		wg.Wait()
		if created.Load() != limit || refused.Load() != tries-limit {
			t.Fatalf("created %d, refused %d; want %d and %d", created.Load(), refused.Load(), limit, tries-limit)
		}
	})
}
