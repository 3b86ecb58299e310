package activities_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/securo/webhooks/activities"
	"github.com/securo/webhooks/egress"
	"github.com/securo/webhooks/internal/metricstest"
	"github.com/securo/webhooks/internal/receivertest"
	"github.com/securo/webhooks/internal/storetest"
	"github.com/securo/webhooks/metrics"
)

// observed is a fixture whose activities log as JSON into logs and count
// into a registry of their own.
type observed struct {
	*fixture
	logs *lockedBuffer
	reg  *prometheus.Registry
}

func setupObserved(t *testing.T, kind, url string, opts egress.Options) *observed {
	t.Helper()
	f := setup(t, kind, url, opts)
	o := &observed{fixture: f, logs: &lockedBuffer{}, reg: prometheus.NewRegistry()}
	ao := testOptions
	ao.Logger = slog.New(slog.NewJSONHandler(o.logs, nil))
	ao.Metrics = metrics.New(o.reg)
	if opts.Guard == nil {
		opts.Guard = &egress.Guard{AllowPrivate: true}
	}
	f.acts = activities.New(f.store, egress.NewClient(opts), "test", ao)
	f.env.RegisterActivity(f.acts)
	return o
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// lines decodes the JSON log lines with the given message.
func (o *observed) lines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(o.logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

func TestEachAttemptLogsOneLineWithItsIdsAndNeverASecretSignatureOrPayload(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		rc := receivertest.New(t)
		rc.Answer(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "busy", http.StatusServiceUnavailable) })
		o := setupObserved(t, kind, rc.URL+"/hooks?token=customer-token-in-url", egress.Options{RootCAs: rc.Pool()})
		o.attempt(t, activities.AttemptInput{NextDelay: time.Second})
		got := rc.Got()
		if len(got) != 1 {
			t.Fatalf("%d requests", len(got))
		}
		lines := o.lines(t, "delivery attempt")
		if len(lines) != 1 {
			t.Fatalf("%d attempt lines in %s", len(lines), o.logs.String())
		}
		l := lines[0]
		for field, want := range map[string]any{
			"event_id": o.event.ID, "endpoint_id": o.endpoint.ID, "delivery_id": o.delivery.ID,
			"attempt": 1.0, "status_code": 503.0, "outcome": "http_status", "class": "5xx", "delivery_status": "pending",
		} {
			if l[field] != want {
				t.Errorf("%s = %v, want %v", field, l[field], want)
			}
		}
		if _, ok := l["duration_ms"].(float64); !ok {
			t.Errorf("no duration_ms in %v", l)
		}
		logs := o.logs.String()
		for what, secret := range map[string]string{
			"the signing secret": o.endpoint.Secret,
			"the signature":      got[0].Header.Get("webhook-signature"),
			"the payload":        o.event.Data,
			"a piece of data":    "115792089237316195423570985008687907853269984665640564039457584007913129639935",
			"the URL's token":    "customer-token-in-url",
		} {
			if secret != "" && strings.Contains(logs, secret) {
				t.Errorf("the log holds %s: %s", what, logs)
			}
		}
	})
}

func TestAttemptsAndDeliveriesAreCountedByClassStatusAndReason(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		rc := receivertest.New(t)
		up := setupObserved(t, kind, rc.URL, egress.Options{RootCAs: rc.Pool()})
		var first activities.FirstAttemptsResult
		v, err := up.env.ExecuteActivity(up.acts.FirstAttempts, activities.FirstAttemptsInput{EventID: up.event.ID, NextDelay: time.Second})
		if err != nil || v.Get(&first) != nil || first.Deliveries[0].Result.Status != "succeeded" {
			t.Fatalf("first attempts: %v %+v", err, first)
		}
		metricstest.Want(t, metricstest.Scrape(t, up.reg),
			`securo_attempts_total{class="2xx"} 1`,
			`securo_attempt_duration_seconds_count{class="2xx"} 1`,
			`securo_deliveries_total{reason="",status="succeeded"} 1`,
			`securo_first_attempt_delay_seconds_count 1`,
			`securo_deliveries_in_flight 0`,
		)

		// A receiver that refuses connections, on its last attempt; then the
		// delivery's workflow ends it.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		closed := "https://" + ln.Addr().String()
		ln.Close()
		down := setupObserved(t, kind, closed, egress.Options{})
		if res := down.attempt(t, activities.AttemptInput{Number: 2, Last: true}); res.Status != "pending" || res.Error != "connection" {
			t.Fatalf("attempt on a closed port: %+v", res)
		}
		if _, err := down.env.ExecuteActivity(down.acts.FinishDelivery, activities.FinishInput{DeliveryID: down.delivery.ID, Status: "failed", Reason: "attempts_exhausted"}); err != nil {
			t.Fatal(err)
		}
		metricstest.Want(t, metricstest.Scrape(t, down.reg),
			`securo_attempts_total{class="refused"} 1`,
			`securo_deliveries_total{reason="attempts_exhausted",status="failed"} 1`,
			`securo_first_attempt_delay_seconds_count 0`,
		)
	})
}
