package models_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/securo/webhooks/internal/storetest"
	"github.com/securo/webhooks/models"
)

func TestAPIKeyLifecycle(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		s := storetest.Open(t, kind)
		acme, firstKey := storetest.Account(t, s, "acme")
		other, _ := storetest.Account(t, s, "other")

		row, key, err := s.CreateAPIKey(ctx, acme.ID, "ci deploys")
		if err != nil {
			t.Fatal(err)
		}
		if row.Name != "ci deploys" || row.Prefix != key[:10] || !strings.HasPrefix(row.ID, "key_") || row.RevokedAt != nil {
			t.Errorf("created %+v", row)
		}

		keys, next, err := s.ListAPIKeys(ctx, acme.ID, models.Page{Limit: 10})
		if err != nil || next != "" || len(keys) != 2 {
			t.Fatalf("list: %d keys, next %q, %v", len(keys), next, err)
		}
		if keys[0].ID != row.ID || keys[1].Prefix != firstKey[:10] {
			t.Errorf("list is not newest first: %+v", keys)
		}

		t.Run("another account's key is not found", func(t *testing.T) {
			if _, err := s.RevokeAPIKey(ctx, other.ID, row.ID); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("revoke by another account: %v", err)
			}
			if _, err := s.AccountByAPIKey(ctx, key); err != nil {
				t.Fatalf("the key stopped working: %v", err)
			}
		})

		t.Run("a revoked key stops working and stays listed", func(t *testing.T) {
			revoked, err := s.RevokeAPIKey(ctx, acme.ID, row.ID)
			if err != nil || revoked.RevokedAt == nil {
				t.Fatalf("revoke: %+v %v", revoked, err)
			}
			if _, err := s.AccountByAPIKey(ctx, key); !errors.Is(err, models.ErrNotFound) {
				t.Fatalf("revoked key: %v", err)
			}
			again, err := s.RevokeAPIKey(ctx, acme.ID, row.ID)
			if err != nil || !again.RevokedAt.Equal(*revoked.RevokedAt) {
				t.Fatalf("revoking again: %+v %v", again, err)
			}
			keys, _, _ := s.ListAPIKeys(ctx, acme.ID, models.Page{Limit: 10})
			if len(keys) != 2 || keys[0].RevokedAt == nil {
				t.Errorf("list after revoke: %+v", keys)
			}
		})

		t.Run("the last live key cannot be revoked", func(t *testing.T) {
			keys, _, _ := s.ListAPIKeys(ctx, acme.ID, models.Page{Limit: 10})
			if _, err := s.RevokeAPIKey(ctx, acme.ID, keys[1].ID); !errors.Is(err, models.ErrLastAPIKey) {
				t.Fatalf("revoking the last key: %v", err)
			}
			if _, err := s.AccountByAPIKey(ctx, firstKey); err != nil {
				t.Fatalf("the last key stopped working: %v", err)
			}
		})

		t.Run("live keys are capped", func(t *testing.T) {
			for range models.MaxLiveAPIKeys - 1 {
				if _, _, err := s.CreateAPIKey(ctx, other.ID, ""); err != nil {
					t.Fatal(err)
				}
			}
			if _, _, err := s.CreateAPIKey(ctx, other.ID, ""); !errors.Is(err, models.ErrTooManyAPIKeys) {
				t.Fatalf("key %d: %v", models.MaxLiveAPIKeys+1, err)
			}
		})
	})
}

func TestConcurrentRevokesNeverRevokeTheLastKey(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		s := storetest.Open(t, kind)
		acme, _ := storetest.Account(t, s, "acme")
		for range 4 {
			if _, _, err := s.CreateAPIKey(ctx, acme.ID, ""); err != nil {
				t.Fatal(err)
			}
		}
		keys, _, _ := s.ListAPIKeys(ctx, acme.ID, models.Page{Limit: 10})
		var wg sync.WaitGroup
		for _, k := range keys {
			wg.Go(func() { s.RevokeAPIKey(ctx, acme.ID, k.ID) })
		}
		wg.Wait()
		keys, _, _ = s.ListAPIKeys(ctx, acme.ID, models.Page{Limit: 10})
		live := 0
		for _, k := range keys {
			if k.RevokedAt == nil {
				live++
			}
		}
		if live != 1 {
			t.Fatalf("%d live keys after revoking all at once, want 1", live)
		}
	})
}
