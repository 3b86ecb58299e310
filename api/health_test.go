package api_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/securo/webhooks/api"
	"github.com/securo/webhooks/internal/metricstest"
	"github.com/securo/webhooks/internal/storetest"
	"github.com/securo/webhooks/metrics"
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
		name          string
		temporalErr   error
		closeDB       bool
		migrationsOld bool
		status        int
		mentions      []string
	}{
		{"ready when the database and temporal answer and migrations are current", nil, false, false, 200, nil},
		{"not ready when temporal does not answer", errors.New("dial tcp: refused"), false, false, 503, []string{"temporal"}},
		{"not ready when the database does not answer", nil, true, false, 503, []string{"database"}},
		{"not ready naming both when neither answers", errors.New("down"), true, false, 503, []string{"database", "temporal"}},
		{"not ready when a migration is missing", nil, false, true, 503, []string{"migrations not current", "not applied"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var store *models.Store
			h := newHarness(t, "sqlite", func(d *api.Deps) {
				d.TemporalHealth = func(context.Context) error { return tt.temporalErr }
				store = d.Store
				d.Migrations = d.Store.CheckMigrations
			})
			if tt.migrationsOld {
				if err := store.DB().Exec("DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)").Error; err != nil {
					t.Fatal(err)
				}
			}
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
			if len(tt.mentions) == 1 && tt.mentions[0] != "migrations" && strings.Contains(e.Message, map[string]string{"database": "temporal", "temporal": "database"}[tt.mentions[0]]) {
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

func TestMetricsAreServedAndCountAcceptedEventsOnce(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	h := newHarness(t, "sqlite", func(d *api.Deps) {
		d.Metrics = m
		d.MetricsHandler = metrics.Handler(reg)
	})
	for range 2 {
		h.do("POST", "/v1/events", h.keyA, `{"type": "dex.swap", "data": {}}`, "Idempotency-Key", "k1").want(t, http.StatusAccepted)
	}
	h.do("POST", "/v1/events", h.keyA, `{"type": "payment.confirmed", "data": {}}`).want(t, http.StatusAccepted)
	h.do("POST", "/v1/events", h.keyA, `{"type": "", "data": {}}`).want(t, http.StatusUnprocessableEntity)
	// An idempotent replay and a refused event count nothing.
	metricstest.Want(t, metricstest.Get(t, h.url+"/metrics"),
		`securo_events_accepted_total{event_type="dex.swap"} 1`,
		`securo_events_accepted_total{event_type="payment.confirmed"} 1`,
	)
}

func TestTheOpsHandlerServesHealthReadinessAndMetricsOnly(t *testing.T) {
	reg := prometheus.NewRegistry()
	metrics.New(reg)
	store := storetest.Open(t, "sqlite")
	srv := httptest.NewServer(api.NewOps(api.Ops{
		DB: store, Migrations: store.CheckMigrations, Metrics: metrics.Handler(reg),
		TemporalHealth: func(context.Context) error { return errors.New("down") },
	}))
	defer srv.Close()
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 503, "/metrics": 200, "/v1/events": 404} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}
