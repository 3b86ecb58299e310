package api_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/securo/webhooks/internal/storetest"
)

type rotatedSecret struct {
	Secret                  string  `json:"secret"`
	PreviousSecretExpiresAt *string `json:"previous_secret_expires_at"`
}

// endpointWithRotation is an endpoint as GET shows it after a rotation.
type endpointWithRotation struct {
	endpoint
	PreviousSecretExpiresAt *string `json:"previous_secret_expires_at"`
}

func (h *harness) rotate(key, id, body string) rotatedSecret {
	h.t.Helper()
	var r rotatedSecret
	h.do("POST", "/v1/endpoints/"+id+"/secret/rotate", key, body).want(h.t, http.StatusOK).decode(h.t, &r)
	if !strings.HasPrefix(r.Secret, "whsec_") {
		h.t.Fatalf("rotated secret %q, want a whsec_ secret", r.Secret)
	}
	return r
}

// expiresIn checks that at is an RFC 3339 UTC time about d from now.
func expiresIn(t *testing.T, at *string, d time.Duration) {
	t.Helper()
	if at == nil {
		t.Fatalf("previous_secret_expires_at is null, want %s from now", d)
	}
	got, err := time.Parse(time.RFC3339Nano, *at)
	if err != nil || !strings.HasSuffix(*at, "Z") {
		t.Fatalf("previous_secret_expires_at %q is not an RFC 3339 UTC time", *at)
	}
	if off := time.Until(got) - d; off > time.Second || off < -time.Minute {
		t.Fatalf("previous_secret_expires_at %s is %s from now, want %s", *at, time.Until(got), d)
	}
}

func TestRotatingASecretShowsTheNewOneAndWhenTheOldOneStops(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		h := newHarness(t, kind)
		ep := h.createEndpoint(h.keyA, `{"url":"https://a.example.com"}`)

		// No body: the old secret signs for another 24 hours.
		r := h.rotate(h.keyA, ep.ID, "")
		if r.Secret == ep.Secret {
			t.Fatal("the rotated secret is the old one")
		}
		expiresIn(t, r.PreviousSecretExpiresAt, 24*time.Hour)

		// GET shows the new secret and the expiry, never the old secret.
		got := h.do("GET", "/v1/endpoints/"+ep.ID, h.keyA, "").want(t, http.StatusOK)
		var shown endpointWithRotation
		got.decode(t, &shown)
		if shown.Secret != r.Secret || shown.PreviousSecretExpiresAt == nil || *shown.PreviousSecretExpiresAt != *r.PreviousSecretExpiresAt {
			t.Errorf("GET after rotation: %s", got.body)
		}
		secret := h.do("GET", "/v1/endpoints/"+ep.ID+"/secret", h.keyA, "").want(t, http.StatusOK)
		list := h.do("GET", "/v1/endpoints", h.keyA, "").want(t, http.StatusOK)
		for name, body := range map[string][]byte{"the endpoint": got.body, "its secret": secret.body, "the list": list.body} {
			if strings.Contains(string(body), ep.Secret[len("whsec_"):]) {
				t.Errorf("%s shows the old secret: %s", name, body)
			}
		}
		if !strings.Contains(string(secret.body), r.Secret) || !strings.Contains(string(list.body), `"previous_secret_expires_at":"`) {
			t.Errorf("secret %s, list %s", secret.body, list.body)
		}

		tests := []struct {
			body  string
			grace time.Duration // -1: none kept
		}{
			{`{}`, 24 * time.Hour},
			{`{"grace_period_seconds": null}`, 24 * time.Hour},
			{`{"grace_period_seconds": 3600}`, time.Hour},
			{`{"grace_period_seconds": 604800}`, 7 * 24 * time.Hour},
			{`{"grace_period_seconds": 0}`, -1},
		}
		for _, tt := range tests {
			r := h.rotate(h.keyA, ep.ID, tt.body)
			if tt.grace < 0 {
				if r.PreviousSecretExpiresAt != nil {
					t.Errorf("%s: previous_secret_expires_at %s, want null", tt.body, *r.PreviousSecretExpiresAt)
				}
				continue
			}
			expiresIn(t, r.PreviousSecretExpiresAt, tt.grace)
		}
		h.do("GET", "/v1/endpoints/"+ep.ID, h.keyA, "").want(t, http.StatusOK).decode(t, &shown)
		if shown.PreviousSecretExpiresAt != nil {
			t.Errorf("after a rotation without grace GET shows previous_secret_expires_at %s", *shown.PreviousSecretExpiresAt)
		}
	})
}

func TestRotateSecretRefusesABadGracePeriodAndChangesNothing(t *testing.T) {
	h := newHarness(t, "sqlite")
	ep := h.createEndpoint(h.keyA, `{"url":"https://a.example.com"}`)
	tests := []struct {
		name   string
		body   string
		status int
		code   string
		field  string
	}{
		{"a negative grace period is refused", `{"grace_period_seconds": -1}`, 422, "validation_failed", "grace_period_seconds"},
		{"a grace period over 7 days is refused", `{"grace_period_seconds": 604801}`, 422, "validation_failed", "grace_period_seconds"},
		{"a grace period in a string is refused", `{"grace_period_seconds": "3600"}`, 400, "invalid_json", "grace_period_seconds"},
		{"a fractional grace period is refused", `{"grace_period_seconds": 1.5}`, 400, "invalid_json", "grace_period_seconds"},
		{"a grace period beyond int64 is refused", `{"grace_period_seconds": 1e30}`, 400, "invalid_json", "grace_period_seconds"},
		{"an unknown field is refused", `{"grace": 60}`, 400, "invalid_json", "grace"},
		{"a body that is not an object is refused", `null`, 400, "invalid_json", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.snapshot()
			e := h.do("POST", "/v1/endpoints/"+ep.ID+"/secret/rotate", h.keyA, tt.body).wantError(t, tt.status, tt.code, tt.field)
			if tt.status == 422 && !strings.Contains(e.Message, "604800") {
				t.Errorf("message %q does not say the limit", e.Message)
			}
			if h.snapshot() != before {
				t.Errorf("a refused rotation changed the store")
			}
		})
	}
	var secret struct{ Secret string }
	h.do("GET", "/v1/endpoints/"+ep.ID+"/secret", h.keyA, "").want(t, http.StatusOK).decode(t, &secret)
	if secret.Secret != ep.Secret {
		t.Errorf("refused rotations changed the secret")
	}
}

func TestAnotherAccountCannotRotateASecret(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		h := newHarness(t, kind)
		epA := h.createEndpoint(h.keyA, `{"url":"https://a.example.com"}`)
		for _, body := range []string{"", `{"grace_period_seconds": 0}`} {
			h.do("POST", "/v1/endpoints/"+epA.ID+"/secret/rotate", h.keyB, body).wantError(t, http.StatusNotFound, "not_found", "")
		}
		var got endpointWithRotation
		h.do("GET", "/v1/endpoints/"+epA.ID, h.keyA, "").want(t, http.StatusOK).decode(t, &got)
		if got.Secret != epA.Secret || got.UpdatedAt != epA.UpdatedAt || got.PreviousSecretExpiresAt != nil {
			t.Errorf("A's endpoint after B's rotations: %+v", got)
		}
	})
}
