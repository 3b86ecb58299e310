package models_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/securo/webhooks/internal/storetest"
	"github.com/securo/webhooks/models"
	"github.com/securo/webhooks/signing"
)

func newSecret(t *testing.T) string {
	t.Helper()
	s, err := signing.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newBox(t *testing.T, keys ...string) *models.SecretBox {
	t.Helper()
	box, err := models.ParseSecretBox(strings.Join(keys, ","))
	if err != nil {
		t.Fatal(err)
	}
	return box
}

func newKey(t *testing.T) string {
	t.Helper()
	k, err := models.NewEncryptionKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// rawSecret is the secret column as stored.
func rawSecret(t *testing.T, s *models.Store, id string) string {
	t.Helper()
	return rawColumn(t, s, "secret", id)
}

// rawColumn is a column of the endpoint as stored.
func rawColumn(t *testing.T, s *models.Store, column, id string) string {
	t.Helper()
	var v string
	if err := s.DB().Raw("SELECT "+column+" FROM endpoints WHERE id = ?", id).Scan(&v).Error; err != nil {
		t.Fatal(err)
	}
	return v
}

// noColumnHolds fails the test if a column of endpoints holds one of
// secrets: in clear, without its prefix, or as its key bytes.
func noColumnHolds(t *testing.T, s *models.Store, secrets ...string) {
	t.Helper()
	var rows []map[string]any
	if err := s.DB().Raw("SELECT * FROM endpoints").Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	for _, row := range rows {
		for col, v := range row {
			text := fmt.Sprint(v)
			for _, secret := range secrets {
				key, _ := signing.DecodeSecret(secret)
				if strings.Contains(text, secret[len("whsec_"):]) || bytes.Contains([]byte(text), key) {
					t.Errorf("endpoints.%s holds a secret: %v", col, v)
				}
			}
		}
	}
}

func TestEndpointSecretsAreSealedAtRestAndOpenOnEveryRead(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		s := storetest.Open(t, kind)
		acct, _ := storetest.Account(t, s, "acme")
		secret := newSecret(t)
		ep := newEndpoint(t, s, acct.ID, func(e *models.Endpoint) { e.Secret = secret })
		if ep.Secret != secret {
			t.Fatalf("CreateEndpoint changed the caller's secret to %q", ep.Secret)
		}

		noColumnHolds(t, s, secret)
		if raw := rawSecret(t, s, ep.ID); !strings.HasPrefix(raw, "sealed:v1:") {
			t.Errorf("stored secret %q is not sealed", raw)
		}

		got, err := s.GetEndpoint(ctx, acct.ID, ep.ID)
		if err != nil || got.Secret != secret {
			t.Errorf("GetEndpoint secret %q, %v", got.Secret, err)
		}
		updated, err := s.UpdateEndpoint(ctx, acct.ID, ep.ID, func(e *models.Endpoint) error { e.Description = "changed"; return nil })
		if err != nil || updated.Secret != secret {
			t.Errorf("UpdateEndpoint secret %q, %v", updated.Secret, err)
		}
		if raw := rawSecret(t, s, ep.ID); !strings.HasPrefix(raw, "sealed:v1:") {
			t.Errorf("after an update the stored secret is %q", raw)
		}
		res, err := s.AcceptEvent(ctx, eventInput(acct.ID, "order.created"))
		if err != nil {
			t.Fatal(err)
		}
		target, err := s.LoadAttemptTarget(ctx, res.Deliveries[0].ID)
		if err != nil || target.Endpoint.Secret != secret {
			t.Errorf("LoadAttemptTarget secret %q, %v", target.Endpoint.Secret, err)
		}
		list, _, err := s.ListEndpoints(ctx, acct.ID, models.Page{Limit: 10})
		if err != nil || len(list) != 1 || list[0].Secret != "" {
			t.Errorf("ListEndpoints: %+v %v; want no secret", list, err)
		}
	})
}

func TestTheSQLiteFileNeverHoldsASecret(t *testing.T) {
	url := storetest.URL(t, "sqlite")
	s := storetest.OpenURL(t, url)
	acct, _ := storetest.Account(t, s, "acme")
	var secrets []string
	for range 20 {
		secret := newSecret(t)
		ep := newEndpoint(t, s, acct.ID, func(e *models.Endpoint) { e.Secret = secret })
		// Rotated with a grace period: the previous secret is on file too.
		rotated := rotate(t, s, acct.ID, ep.ID, time.Hour)
		secrets = append(secrets, secret, rotated.Secret)
	}
	if err := models.Close(s.DB()); err != nil {
		t.Fatal(err)
	}
	path := strings.TrimPrefix(url, "sqlite://")
	files, _ := filepath.Glob(path + "*") // the database, its WAL and shared memory
	var all []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	if !bytes.Contains(all, []byte("sealed:v1:")) {
		t.Fatalf("no sealed secret in %v: the test reads the wrong files", files)
	}
	for _, secret := range secrets {
		key, _ := signing.DecodeSecret(secret)
		if bytes.Contains(all, []byte(secret[len("whsec_"):])) || bytes.Contains(all, key) {
			t.Errorf("the database files hold secret %s...", secret[:10])
		}
	}
}

func TestSealedSecretsOpenOnlyWithTheirKeyAndRow(t *testing.T) {
	ctx := context.Background()
	s := storetest.Open(t, "sqlite")
	acct, _ := storetest.Account(t, s, "acme")
	a := newEndpoint(t, s, acct.ID, func(e *models.Endpoint) { e.Secret = newSecret(t) })
	b := newEndpoint(t, s, acct.ID, func(e *models.Endpoint) { e.Secret = newSecret(t) })

	t.Run("a sealed secret copied onto another endpoint does not open there", func(t *testing.T) {
		if err := s.DB().Exec("UPDATE endpoints SET secret = ? WHERE id = ?", rawSecret(t, s, a.ID), b.ID).Error; err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetEndpoint(ctx, acct.ID, b.ID); !errors.Is(err, models.ErrWrongEncryptionKey) {
			t.Fatalf("GetEndpoint: %v, want ErrWrongEncryptionKey", err)
		}
	})
	t.Run("nor as another endpoint's previous secret", func(t *testing.T) {
		c := newEndpoint(t, s, acct.ID, func(e *models.Endpoint) { e.Secret = newSecret(t) })
		if err := s.DB().Exec("UPDATE endpoints SET previous_secret = ?, previous_secret_expires_at = ? WHERE id = ?",
			rawSecret(t, s, a.ID), time.Now().Add(time.Hour).UTC(), c.ID).Error; err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetEndpoint(ctx, acct.ID, c.ID); !errors.Is(err, models.ErrWrongEncryptionKey) {
			t.Fatalf("GetEndpoint: %v, want ErrWrongEncryptionKey", err)
		}
	})
	t.Run("another key opens nothing", func(t *testing.T) {
		other := models.NewStore(s.DB(), newBox(t, newKey(t)))
		if _, err := other.GetEndpoint(ctx, acct.ID, a.ID); !errors.Is(err, models.ErrWrongEncryptionKey) {
			t.Fatalf("GetEndpoint: %v, want ErrWrongEncryptionKey", err)
		}
		if _, err := other.SealSecrets(ctx); !errors.Is(err, models.ErrWrongEncryptionKey) {
			t.Fatalf("SealSecrets with the wrong key: %v", err)
		}
	})
	t.Run("a store without a key opens nothing and seals nothing", func(t *testing.T) {
		none := models.NewStore(s.DB(), nil)
		if _, err := none.GetEndpoint(ctx, acct.ID, a.ID); !errors.Is(err, models.ErrNoEncryptionKey) {
			t.Fatalf("GetEndpoint: %v, want ErrNoEncryptionKey", err)
		}
		ep := models.Endpoint{AccountID: acct.ID, URL: "https://example.com", Secret: newSecret(t)}
		if err := none.CreateEndpoint(ctx, &ep, 100); !errors.Is(err, models.ErrNoEncryptionKey) {
			t.Fatalf("CreateEndpoint: %v, want ErrNoEncryptionKey", err)
		}
	})
}

func TestSealSecretsSealsPlaintextAndRotatesKeys(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		oldKey, newKeyText := storetest.EncryptionKey, newKey(t)
		s := storetest.Open(t, kind)
		acct, _ := storetest.Account(t, s, "acme")
		sealedOld := newEndpoint(t, s, acct.ID, func(e *models.Endpoint) { e.Secret = newSecret(t) })
		// A rotated endpoint keeps a previous secret, sealed with the old key too.
		withPrevious := newEndpoint(t, s, acct.ID, func(e *models.Endpoint) { e.Secret = newSecret(t) })
		withPrevious = rotate(t, s, acct.ID, withPrevious.ID, time.Hour)
		// A row written before secrets were encrypted.
		legacy := newEndpoint(t, s, acct.ID, func(e *models.Endpoint) { e.Secret = newSecret(t) })
		if err := s.DB().Exec("UPDATE endpoints SET secret = ? WHERE id = ?", legacy.Secret, legacy.ID).Error; err != nil {
			t.Fatal(err)
		}
		if got, err := s.GetEndpoint(ctx, acct.ID, legacy.ID); err != nil || got.Secret != legacy.Secret {
			t.Fatalf("a plaintext secret reads as %q, %v", got.Secret, err)
		}

		// New key first, old key still there to open.
		rotated := models.NewStore(s.DB(), newBox(t, newKeyText, oldKey))
		n, err := rotated.SealSecrets(ctx)
		if err != nil || n != 3 {
			t.Fatalf("SealSecrets = %d, %v; want the three rows sealed again", n, err)
		}
		if n, err := rotated.SealSecrets(ctx); err != nil || n != 0 {
			t.Fatalf("SealSecrets again = %d, %v; want nothing to do", n, err)
		}
		onlyNew := models.NewStore(s.DB(), newBox(t, newKeyText))
		for _, ep := range []models.Endpoint{sealedOld, legacy, withPrevious} {
			got, err := onlyNew.GetEndpoint(ctx, acct.ID, ep.ID)
			if err != nil || got.Secret != ep.Secret || got.PreviousSecret != ep.PreviousSecret {
				t.Errorf("endpoint %s after rotation: %q, %q, %v", ep.ID, got.Secret, got.PreviousSecret, err)
			}
			if raw := rawSecret(t, s, ep.ID); !strings.HasPrefix(raw, "sealed:v1:") || strings.Contains(raw, ep.Secret) {
				t.Errorf("stored %q", raw)
			}
		}
		if raw := rawPreviousSecret(t, s, withPrevious.ID); !strings.HasPrefix(raw, "sealed:v1:") || strings.Contains(raw, withPrevious.PreviousSecret) {
			t.Errorf("stored previous secret %q", raw)
		}
	})
}

func TestParseSecretBox(t *testing.T) {
	good := newKey(t)
	for _, s := range []string{good, good + "," + newKey(t), " " + good + " ", strings.TrimRight(strings.NewReplacer("+", "-", "/", "_").Replace(good), "=")} {
		if _, err := models.ParseSecretBox(s); err != nil {
			t.Errorf("ParseSecretBox(%q): %v", s, err)
		}
	}
	for _, s := range []string{"", "short", good[:20], good + ",", "not base64 at all!!", good + good} {
		_, err := models.ParseSecretBox(s)
		if err == nil {
			t.Errorf("ParseSecretBox(%q) accepted", s)
		} else if !strings.Contains(err.Error(), "securo keygen") {
			t.Errorf("ParseSecretBox(%q): %v does not say how to make a key", s, err)
		}
	}
}
