package activities_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/securo/webhooks/activities"
	"github.com/securo/webhooks/egress"
	"github.com/securo/webhooks/internal/receivertest"
	"github.com/securo/webhooks/internal/storetest"
	"github.com/securo/webhooks/signing"
)

// verifies reports whether signature (one or more) verifies req with secret.
func verifies(req receivertest.Request, secret, signature string) error {
	v, err := signing.NewVerifier(secret)
	if err != nil {
		return err
	}
	return v.VerifyValues(req.Header.Get(signing.HeaderID), req.Header.Get(signing.HeaderTimestamp), signature, req.Body)
}

func TestDuringASecretsGracePeriodDeliveriesCarryBothSignatures(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		rc := receivertest.New(t)
		// Failing keeps the delivery pending for the attempt after the grace.
		rc.Answer(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
		f := setup(t, kind, rc.URL, egress.Options{RootCAs: rc.Pool()})
		old := f.endpoint.Secret
		fresh, _ := signing.NewSecret()
		if _, err := f.store.RotateSecret(ctx, f.account.ID, f.endpoint.ID, fresh, time.Hour); err != nil {
			t.Fatal(err)
		}

		f.attempt(t, activities.AttemptInput{NextDelay: time.Second})
		during := rc.Got()[0]
		sigs := strings.Fields(during.Header.Get(signing.HeaderSignature))
		if len(sigs) != 2 {
			t.Fatalf("webhook-signature %q during the grace period, want two", during.Header.Get(signing.HeaderSignature))
		}
		// The new secret's first; each verifies with its own secret only.
		for i, secret := range []string{fresh, old} {
			if err := verifies(during, secret, sigs[i]); err != nil {
				t.Errorf("signature %d does not verify with its secret: %v", i+1, err)
			}
			if err := verifies(during, secret, sigs[1-i]); !errors.Is(err, signing.ErrNoMatch) {
				t.Errorf("signature %d verifies with the other secret: %v", 2-i, err)
			}
			if err := verifies(during, secret, strings.Join(sigs, " ")); err != nil {
				t.Errorf("a receiver holding only secret %d refuses the request: %v", i+1, err)
			}
		}

		// The grace period ends before the next attempt starts.
		past := time.Now().Add(-time.Second).UTC()
		if err := f.store.DB().Exec("UPDATE endpoints SET previous_secret_expires_at = ? WHERE id = ?", past, f.endpoint.ID).Error; err != nil {
			t.Fatal(err)
		}
		f.attempt(t, activities.AttemptInput{Number: 2, NextDelay: time.Second})
		after := rc.Got()[1]
		if sig := after.Header.Get(signing.HeaderSignature); strings.Count(sig, "v1,") != 1 || verifies(after, fresh, sig) != nil {
			t.Fatalf("webhook-signature %q after the grace period, want the new secret's only", sig)
		}
		if err := verifies(after, old, after.Header.Get(signing.HeaderSignature)); !errors.Is(err, signing.ErrNoMatch) {
			t.Fatalf("after the grace period the old secret still verifies: %v", err)
		}
	})
}

func TestARotationWithoutGraceSignsWithTheNewSecretAtOnce(t *testing.T) {
	rc := receivertest.New(t)
	f := setup(t, "sqlite", rc.URL, egress.Options{RootCAs: rc.Pool()})
	fresh, _ := signing.NewSecret()
	if _, err := f.store.RotateSecret(context.Background(), f.account.ID, f.endpoint.ID, fresh, 0); err != nil {
		t.Fatal(err)
	}
	f.attempt(t, activities.AttemptInput{})
	got := rc.Got()[0]
	sig := got.Header.Get(signing.HeaderSignature)
	if strings.Count(sig, "v1,") != 1 || verifies(got, fresh, sig) != nil || verifies(got, f.endpoint.Secret, sig) == nil {
		t.Fatalf("webhook-signature %q, want the new secret's only", sig)
	}
}
