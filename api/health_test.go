package api_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/securo/webhooks/api"
	"github.com/securo/webhooks/models"
)

func TestHealthz(t *testing.T) {
	h := newHarness(t, "sqlite")
	r := h.do("GET", "/healthz", "", "").want(t, http.StatusOK)
	if string(r.body) != `{"status":"ok"}` {
		t.Errorf("healthz answered %s", r.body)
	}
}

func TestReadyz(t *testing.T) {
	tests := []struct {
		name        string
		temporalErr error
		closeDB     bool
		status      int
		mentions    []string
	}{
		{"ready when the database and temporal answer", nil, false, 200, nil},
		{"not ready when temporal does not answer", errors.New("dial tcp: refused"), false, 503, []string{"temporal"}},
		{"not ready when the database does not answer", nil, true, 503, []string{"database"}},
		{"not ready naming both when neither answers", errors.New("down"), true, 503, []string{"database", "temporal"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, "sqlite", func(d *api.Deps) {
				d.TemporalHealth = func(context.Context) error { return tt.temporalErr }
			})
			if tt.closeDB {
				if err := models.Close(h.store.DB()); err != nil {
					t.Fatal(err)
				}
			}
			r := h.do("GET", "/readyz", "", "")
			if tt.status == 200 {
				if r.want(t, 200); string(r.body) != `{"status":"ready"}` {
					t.Errorf("readyz answered %s", r.body)
				}
				return
			}
			e := r.wantError(t, http.StatusServiceUnavailable, "unavailable", "")
			for _, m := range tt.mentions {
				if !strings.Contains(e.Message, m) {
					t.Errorf("message %q does not name %s", e.Message, m)
				}
			}
			if len(tt.mentions) == 1 && strings.Contains(e.Message, map[string]string{"database": "temporal", "temporal": "database"}[tt.mentions[0]]) {
				t.Errorf("message %q blames what works", e.Message)
			}
		})
	}
}

func TestReadyzWithoutATemporalCheck(t *testing.T) {
	h := newHarness(t, "sqlite", func(d *api.Deps) { d.TemporalHealth = nil })
	h.do("GET", "/readyz", "", "").want(t, http.StatusOK)
}

func TestPanicAnswers500Internal(t *testing.T) {
	h := newHarness(t, "sqlite", func(d *api.Deps) {
		d.TemporalHealth = func(context.Context) error { panic("boom") }
	})
	h.do("GET", "/readyz", "", "").wantError(t, http.StatusInternalServerError, "internal", "")
	if !strings.Contains(h.logs.String(), "boom") {
		t.Errorf("the panic was not logged: %s", h.logs.String())
	}
	// The server lives on.
	h.do("GET", "/healthz", "", "").want(t, http.StatusOK)
}

func TestDatabaseDownAnswers503(t *testing.T) {
	h := newHarness(t, "sqlite")
	if err := models.Close(h.store.DB()); err != nil {
		t.Fatal(err)
	}
	h.do("GET", "/v1/endpoints", h.keyA, "").wantError(t, http.StatusServiceUnavailable, "unavailable", "")
}
