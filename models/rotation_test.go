package models_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securo/webhooks/internal/storetest"
	"github.com/securo/webhooks/models"
)

// rawPreviousSecret is the previous_secret column as stored.
func rawPreviousSecret(t *testing.T, s *models.Store, id string) string {
	t.Helper()
	return rawColumn(t, s, "previous_secret", id)
}

// rotate gives the endpoint a fresh secret and returns the endpoint.
func rotate(t *testing.T, s *models.Store, accountID, id string, grace time.Duration) models.Endpoint {
	t.Helper()
	ep, err := s.RotateSecret(context.Background(), accountID, id, newSecret(t), grace)
	if err != nil {
		t.Fatalf("rotate secret: %v", err)
	}
	return ep
}

func TestSigningSecretsKeepThePreviousOneUntilItsGracePeriodEnds(t *testing.T) {
	expires := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	rotated := models.Endpoint{Secret: "whsec_new", PreviousSecret: "whsec_old", PreviousSecretExpiresAt: &expires}
	tests := []struct {
		name string
		ep   models.Endpoint
		at   time.Time
		want []string
	}{
		{"an endpoint never rotated signs with its secret", models.Endpoint{Secret: "whsec_new"}, expires, []string{"whsec_new"}},
		{"during the grace period both sign, the new one first", rotated, expires.Add(-time.Microsecond), []string{"whsec_new", "whsec_old"}},
		{"at the end of the grace period only the new one signs", rotated, expires, []string{"whsec_new"}},
		{"after the grace period only the new one signs", rotated, expires.Add(time.Hour), []string{"whsec_new"}},
		{"a rotation without overlap keeps no previous secret", models.Endpoint{Secret: "whsec_new", PreviousSecretExpiresAt: &expires}, expires.Add(-time.Hour), []string{"whsec_new"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.ep.SigningSecrets(tt.at); strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("SigningSecrets(%s) = %q, want %q", tt.at, got, tt.want)
			}
		})
	}
}

func TestRotateSecretKeepsThePreviousSecretSealedForTheGracePeriod(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		s := storetest.Open(t, kind)
		acct, _ := storetest.Account(t, s, "acme")
		old := newSecret(t)
		ep := newEndpoint(t, s, acct.ID, func(e *models.Endpoint) { e.Secret = old })

		before := models.Now()
		fresh := newSecret(t)
		got, err := s.RotateSecret(ctx, acct.ID, ep.ID, fresh, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if got.Secret != fresh || got.PreviousSecret != old || got.PreviousSecretExpiresAt == nil {
			t.Fatalf("RotateSecret = %+v, want the new secret and the old one kept", got)
		}
		if exp := *got.PreviousSecretExpiresAt; exp.Before(before.Add(time.Hour)) || exp.After(models.Now().Add(time.Hour)) {
			t.Errorf("previous secret expires at %s, want an hour after the rotation", exp)
		}
		if !got.UpdatedAt.After(ep.UpdatedAt) {
			t.Errorf("updated_at %s did not move on from %s", got.UpdatedAt, ep.UpdatedAt)
		}

		// Both sealed at rest; no column holds either in clear.
		for _, raw := range []string{rawSecret(t, s, ep.ID), rawPreviousSecret(t, s, ep.ID)} {
			if !strings.HasPrefix(raw, "sealed:v1:") {
				t.Errorf("stored %q is not sealed", raw)
			}
		}
		noColumnHolds(t, s, old, fresh)

		// Every read opens both; lists read neither.
		read, err := s.GetEndpoint(ctx, acct.ID, ep.ID)
		if err != nil || read.Secret != fresh || read.PreviousSecret != old || !read.PreviousSecretExpiresAt.Equal(*got.PreviousSecretExpiresAt) {
			t.Errorf("GetEndpoint = %+v, %v", read, err)
		}
		res := accept(t, s, eventInput(acct.ID, "order.created"))
		target, err := s.LoadAttemptTarget(ctx, res.Deliveries[0].ID)
		if err != nil || target.Endpoint.Secret != fresh || target.Endpoint.PreviousSecret != old {
			t.Errorf("LoadAttemptTarget secrets %q, %q, %v", target.Endpoint.Secret, target.Endpoint.PreviousSecret, err)
		}
		list, _, err := s.ListEndpoints(ctx, acct.ID, models.Page{Limit: 10})
		if err != nil || len(list) != 1 || list[0].Secret != "" || list[0].PreviousSecret != "" || list[0].PreviousSecretExpiresAt == nil {
			t.Errorf("ListEndpoints: %+v %v; want no secrets, the expiry shown", list, err)
		}

		// Rotating again keeps only the secret it replaces; without a grace
		// period, none.
		again := rotate(t, s, acct.ID, ep.ID, time.Minute)
		if again.PreviousSecret != fresh {
			t.Errorf("a second rotation kept %q, want the secret it replaced", again.PreviousSecret)
		}
		now := rotate(t, s, acct.ID, ep.ID, 0)
		if now.PreviousSecret != "" || now.PreviousSecretExpiresAt != nil || rawPreviousSecret(t, s, ep.ID) != "" {
			t.Errorf("a rotation without grace kept %+v", now)
		}
		if read, _ := s.GetEndpoint(ctx, acct.ID, ep.ID); read.Secret != now.Secret || read.PreviousSecretExpiresAt != nil {
			t.Errorf("after a rotation without grace: %+v", read)
		}
	})
}

func TestRotateSecretFindsOnlyTheAccountsLiveEndpoints(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		s := storetest.Open(t, kind)
		a, _ := storetest.Account(t, s, "a")
		b, _ := storetest.Account(t, s, "b")
		ep := newEndpoint(t, s, a.ID, func(e *models.Endpoint) { e.Secret = newSecret(t) })
		deleted := newEndpoint(t, s, a.ID, func(e *models.Endpoint) { e.Secret = newSecret(t) })
		if err := s.DeleteEndpoint(ctx, a.ID, deleted.ID); err != nil {
			t.Fatal(err)
		}
		for name, id := range map[string]string{"another account's": ep.ID, "a deleted": deleted.ID, "a missing": "ep_missing"} {
			if _, err := s.RotateSecret(ctx, b.ID, id, newSecret(t), time.Hour); !errors.Is(err, models.ErrNotFound) {
				t.Errorf("rotating %s endpoint: %v, want ErrNotFound", name, err)
			}
		}
		if got, _ := s.GetEndpoint(ctx, a.ID, ep.ID); got.Secret != ep.Secret || got.PreviousSecret != "" {
			t.Errorf("A's endpoint changed: %+v", got)
		}
	})
}

func TestConcurrentRotationsApplyOneAfterTheOther(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		s := storetest.Open(t, kind)
		acct, _ := storetest.Account(t, s, "acme")
		ep := newEndpoint(t, s, acct.ID, func(e *models.Endpoint) { e.Secret = newSecret(t) })
		var mu sync.Mutex
		replaced := map[string]string{} // previous secret -> the secret that replaced it
		var wg sync.WaitGroup
		for range 8 {
			secret := newSecret(t)
			wg.Go(func() {
				got, err := s.RotateSecret(ctx, acct.ID, ep.ID, secret, time.Hour)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					t.Errorf("rotate: %v", err)
					return
				}
				if other, ok := replaced[got.PreviousSecret]; ok {
					t.Errorf("two rotations replaced the same secret (by %s... and %s...): one was lost", other[:10], secret[:10])
				}
				replaced[got.PreviousSecret] = secret
			})
		}
		wg.Wait()
		// One chain from the first secret to the current one.
		final, err := s.GetEndpoint(ctx, acct.ID, ep.ID)
		if err != nil {
			t.Fatal(err)
		}
		at, steps := ep.Secret, 0
		for ; replaced[at] != ""; steps++ {
			at = replaced[at]
		}
		if at != final.Secret || steps != 8 || replaced[final.PreviousSecret] != final.Secret {
			t.Fatalf("the rotations form a chain of %d ending elsewhere than the endpoint's secret", steps)
		}
	})
}
