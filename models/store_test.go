package models_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/securo/webhooks/internal/storetest"
	"github.com/securo/webhooks/models"
)

func TestAccountByAPIKey(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		s := storetest.Open(t, kind)
		acme, firstKey, err := s.CreateAccount(ctx, "acme")
		if err != nil {
			t.Fatalf("create account: %v", err)
		}
		if !strings.HasPrefix(firstKey, "sk_") {
			t.Errorf("CreateAccount key = %q, want an sk_ key", firstKey)
		}
		_, secondKey, err := s.CreateAPIKey(ctx, acme.ID, "second")
		if err != nil {
			t.Fatalf("create second key: %v", err)
		}
		if secondKey == firstKey {
			t.Fatal("CreateAPIKey returned the account's first key again")
		}
		other, otherKey := storetest.Account(t, s, "other")
		_, revokedKey, err := s.CreateAPIKey(ctx, acme.ID, "")
		if err != nil {
			t.Fatalf("create key to revoke: %v", err)
		}
		if err := s.DB().Exec("UPDATE api_keys SET revoked_at = ? WHERE hash = ?", models.Now(), models.HashAPIKey(revokedKey)).Error; err != nil {
			t.Fatalf("revoke key: %v", err)
		}

		tests := []struct {
			name    string
			key     string
			want    string
			wantErr error
		}{
			{"the first key finds its account", firstKey, acme.ID, nil},
			{"a second key finds the same account", secondKey, acme.ID, nil},
			{"another account's key finds that account", otherKey, other.ID, nil},
			{"a wrong key is not found", firstKey + "x", "", models.ErrNotFound},
			{"an empty key is not found", "", "", models.ErrNotFound},
			{"the hash of a key is not a key", models.HashAPIKey(firstKey), "", models.ErrNotFound},
			{"a revoked key is not found", revokedKey, "", models.ErrNotFound},
			{"a key shorter than its prefix is not found", firstKey[:5], "", models.ErrNotFound},
			{"the prefix alone is not a key", firstKey[:10], "", models.ErrNotFound},
			{"a key with only its prefix right is not found", firstKey[:10] + secondKey[10:], "", models.ErrNotFound},
		}
		t.Run("the whole account is returned", func(t *testing.T) {
			got, err := s.AccountByAPIKey(ctx, firstKey)
			if err != nil || got.ID != acme.ID || got.Name != "acme" || !got.CreatedAt.Equal(acme.CreatedAt) {
				t.Fatalf("AccountByAPIKey = %+v, %v; want %+v", got, err, acme)
			}
		})
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				acct, err := s.AccountByAPIKey(ctx, tt.key)
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("AccountByAPIKey error = %v, want %v", err, tt.wantErr)
				}
				if acct.ID != tt.want {
					t.Errorf("AccountByAPIKey = %q, want %q", acct.ID, tt.want)
				}
			})
		}
	})
}

func TestAPIKeysAreStoredOnlyAsTheirHash(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		s := storetest.Open(t, kind)
		acct, firstKey := storetest.Account(t, s, "acme")
		_, secondKey, err := s.CreateAPIKey(ctx, acct.ID, "ci")
		if err != nil {
			t.Fatalf("create api key: %v", err)
		}

		var rows []map[string]any
		if err := s.DB().Raw("SELECT * FROM api_keys").Scan(&rows).Error; err != nil {
			t.Fatalf("read api_keys: %v", err)
		}
		if len(rows) != 2 {
			t.Fatalf("api_keys has %d rows, want 2", len(rows))
		}
		hashes := map[string]bool{}
		for _, row := range rows {
			hashes[fmt.Sprint(row["hash"])] = true
			for col, v := range row {
				for _, key := range []string{firstKey, secondKey} {
					if strings.Contains(fmt.Sprint(v), key) {
						t.Errorf("api_keys.%s holds the key itself", col)
					}
				}
			}
		}
		for _, key := range []string{firstKey, secondKey} {
			if !hashes[models.HashAPIKey(key)] {
				t.Errorf("no api_keys row has the hash of key %s...", key[:10])
			}
		}
	})
}

func TestInvalidCursorsAreRejected(t *testing.T) {
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name   string
		cursor string
	}{
		{"not base64", "!!not a cursor!!"},
		{"no comma", b64("1700000000000000")},
		{"no id", b64("1700000000000000,")},
		{"no time", b64(",evt_1")},
		{"a time that is not a number", b64("yesterday,evt_1")},
	}
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		s := storetest.Open(t, kind)
		acct, _ := storetest.Account(t, s, "acme")
		ep := newEndpoint(t, s, acct.ID, nil)
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if err := models.ValidateCursor(tt.cursor); !errors.Is(err, models.ErrInvalidCursor) {
					t.Errorf("ValidateCursor error = %v, want ErrInvalidCursor", err)
				}
				p := models.Page{Limit: 10, Cursor: tt.cursor}
				if _, _, err := s.ListEvents(ctx, acct.ID, models.EventFilter{}, p); !errors.Is(err, models.ErrInvalidCursor) {
					t.Errorf("ListEvents error = %v, want ErrInvalidCursor", err)
				}
				if _, _, err := s.ListEndpoints(ctx, acct.ID, p); !errors.Is(err, models.ErrInvalidCursor) {
					t.Errorf("ListEndpoints error = %v, want ErrInvalidCursor", err)
				}
				if _, _, err := s.ListEndpointDeliveries(ctx, acct.ID, ep.ID, "", p); !errors.Is(err, models.ErrInvalidCursor) {
					t.Errorf("ListEndpointDeliveries error = %v, want ErrInvalidCursor", err)
				}
			})
		}
	})
}
