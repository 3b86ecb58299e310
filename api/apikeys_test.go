package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/securo/webhooks/internal/storetest"
	"github.com/securo/webhooks/models"
)

type apiKey struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Prefix    string  `json:"prefix"`
	CreatedAt string  `json:"created_at"`
	RevokedAt *string `json:"revoked_at"`
	Key       string  `json:"key"`
}

func (h *harness) createAPIKey(key, name string) apiKey {
	h.t.Helper()
	var k apiKey
	h.do("POST", "/v1/api-keys", key, `{"name":"`+name+`"}`).want(h.t, http.StatusCreated).decode(h.t, &k)
	return k
}

func TestAPIKeysThroughTheAPI(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		h := newHarness(t, kind)
		created := h.createAPIKey(h.keyA, "ci deploys")
		if !strings.HasPrefix(created.Key, "sk_") || created.Prefix != created.Key[:10] || created.Name != "ci deploys" || created.RevokedAt != nil {
			t.Fatalf("created %+v", created)
		}

		t.Run("the new key works", func(t *testing.T) {
			h.do("GET", "/v1/endpoints", created.Key, "").want(t, http.StatusOK)
		})

		t.Run("the list shows prefixes, never a key or its hash", func(t *testing.T) {
			r := h.do("GET", "/v1/api-keys", h.keyA, "").want(t, http.StatusOK)
			var keys list[apiKey]
			r.decode(t, &keys)
			if len(keys.Data) != 2 || keys.Data[0].ID != created.ID || keys.Data[1].Prefix != h.keyA[:10] {
				t.Fatalf("list %+v", keys.Data)
			}
			for _, secret := range []string{created.Key, h.keyA, models.HashAPIKey(created.Key), models.HashAPIKey(h.keyA)} {
				if strings.Contains(string(r.body), secret) {
					t.Errorf("the list holds %s...", secret[:12])
				}
			}
		})

		t.Run("a key may revoke itself; afterwards it is refused everywhere", func(t *testing.T) {
			var revoked apiKey
			h.do("DELETE", "/v1/api-keys/"+created.ID, created.Key, "").want(t, http.StatusOK).decode(t, &revoked)
			if revoked.RevokedAt == nil || revoked.Key != "" {
				t.Fatalf("revoked %+v", revoked)
			}
			for _, path := range []string{"/v1/endpoints", "/v1/events", "/v1/api-keys"} {
				h.do("GET", path, created.Key, "").wantError(t, http.StatusUnauthorized, "unauthorized", "")
			}
			h.do("POST", "/v1/events", created.Key, `{"type":"a","data":{}}`).wantError(t, http.StatusUnauthorized, "unauthorized", "")
			h.do("DELETE", "/v1/api-keys/"+created.ID, h.keyA, "").want(t, http.StatusOK)
		})

		t.Run("the last live key cannot be revoked", func(t *testing.T) {
			var keys list[apiKey]
			h.do("GET", "/v1/api-keys", h.keyA, "").want(t, http.StatusOK).decode(t, &keys)
			before := h.snapshot()
			e := h.do("DELETE", "/v1/api-keys/"+keys.Data[1].ID, h.keyA, "").wantError(t, http.StatusConflict, "last_api_key", "")
			if !strings.Contains(e.Message, "create another") {
				t.Errorf("message %q does not say what to do", e.Message)
			}
			if h.snapshot() != before {
				t.Error("the refused revoke changed the store")
			}
			h.do("GET", "/v1/endpoints", h.keyA, "").want(t, http.StatusOK)
		})

		t.Run("bad requests are refused", func(t *testing.T) {
			before := h.snapshot()
			h.do("POST", "/v1/api-keys", h.keyA, `{"name":"`+strings.Repeat("n", 101)+`"}`).wantError(t, http.StatusUnprocessableEntity, "validation_failed", "name")
			h.do("POST", "/v1/api-keys", h.keyA, `{"name":"x","scopes":["all"]}`).wantError(t, http.StatusBadRequest, "invalid_json", "scopes")
			h.do("POST", "/v1/api-keys", h.keyA, `{"name":7}`).wantError(t, http.StatusBadRequest, "invalid_json", "name")
			h.do("DELETE", "/v1/api-keys/key_missing", h.keyA, "").wantError(t, http.StatusNotFound, "not_found", "")
			h.do("GET", "/v1/api-keys?limit=0", h.keyA, "").wantError(t, http.StatusUnprocessableEntity, "validation_failed", "limit")
			if h.snapshot() != before {
				t.Error("a refused request changed the store")
			}
		})

		t.Run("live keys are capped", func(t *testing.T) {
			for range models.MaxLiveAPIKeys - 1 {
				h.createAPIKey(h.keyB, "")
			}
			h.do("POST", "/v1/api-keys", h.keyB, `{}`).wantError(t, http.StatusUnprocessableEntity, "validation_failed", "")
		})
	})
}
