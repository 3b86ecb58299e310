package metrics_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/securo/webhooks/internal/metricstest"
	"github.com/securo/webhooks/metrics"
)

func TestServiceMetricsAreScrapedWithTheirLabels(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	m.EventAccepted("dex.swap")
	m.EventAccepted("dex.swap")
	m.DeliveryFinished("failed", "attempts_exhausted")
	done := m.AttemptStarted(1500 * time.Millisecond)
	mid := metricstest.Scrape(t, reg)
	done("5xx", 20*time.Millisecond)
	m.AttemptStarted(-1)("2xx", time.Second)
	text := metricstest.Scrape(t, reg)
	metricstest.Want(t, mid, "securo_deliveries_in_flight 1")
	metricstest.Want(t, text,
		`securo_events_accepted_total{event_type="dex.swap"} 2`,
		`securo_deliveries_total{reason="attempts_exhausted",status="failed"} 1`,
		`securo_attempts_total{class="5xx"} 1`,
		`securo_attempts_total{class="2xx"} 1`,
		`securo_attempt_duration_seconds_count{class="5xx"} 1`,
		`securo_attempt_duration_seconds_bucket{class="5xx",le="0.025"} 1`,
		`securo_deliveries_in_flight 0`,
		`securo_first_attempt_delay_seconds_count 1`,
		`securo_first_attempt_delay_seconds_bucket{le="2.5"} 1`,
		`securo_first_attempt_delay_seconds_bucket{le="1"} 0`,
	)
	if !strings.Contains(text, "go_goroutines") {
		t.Error("the Go runtime's metrics are missing")
	}
}

func TestEventTypesPastTheBoundCountAsOther(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	for i := range metrics.MaxEventTypes + 5 {
		m.EventAccepted(fmt.Sprintf("type.%d", i))
	}
	m.EventAccepted("type.0") // a known type keeps its name
	text := metricstest.Scrape(t, reg)
	metricstest.Want(t, text,
		`securo_events_accepted_total{event_type="type.0"} 2`,
		`securo_events_accepted_total{event_type="_other"} 5`,
	)
	if n := strings.Count(text, "securo_events_accepted_total{"); n != metrics.MaxEventTypes+1 {
		t.Errorf("%d event_type series, want %d", n, metrics.MaxEventTypes+1)
	}
}

func TestANilMetricsCountsNothingAndNeverPanics(t *testing.T) {
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("a nil *Metrics panicked: %v", r)
		}
	}()
	var m *metrics.Metrics
	m.EventAccepted("a")
	m.DeliveryFinished("succeeded", "")
	m.AttemptStarted(0)("2xx", time.Second)
}

func TestAttemptClasses(t *testing.T) {
	refused := &net.OpError{Op: "dial", Err: &osSyscallError{syscall.ECONNREFUSED}}
	tests := []struct {
		name   string
		status int
		kind   string
		err    error
		want   string
	}{
		{"a 200 is 2xx", 200, "", nil, "2xx"},
		{"a 204 is 2xx", 204, "", nil, "2xx"},
		{"a 301 is 3xx", 301, "", nil, "3xx"},
		{"a 410 is 4xx", 410, "", nil, "4xx"},
		{"a 503 is 5xx", 503, "", nil, "5xx"},
		{"a timeout", 0, "timeout", context.DeadlineExceeded, "timeout"},
		{"a blocked address", 0, "blocked", errors.New("blocked"), "blocked"},
		{"a refused connection", 0, "", refused, "refused"},
		{"a TLS failure is a network error", 0, "", errors.New("tls: bad certificate"), "network_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := metrics.ClassOf(tt.status, tt.kind, tt.err); got != tt.want {
				t.Errorf("ClassOf(%d, %q, %v) = %s, want %s", tt.status, tt.kind, tt.err, got, tt.want)
			}
		})
	}
}

type osSyscallError struct{ err error }

func (e *osSyscallError) Error() string { return "connect: " + e.err.Error() }
func (e *osSyscallError) Unwrap() error { return e.err }

func TestTheTemporalSDKsMetricsReachTheRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := metrics.NewTemporalHandler(reg)
	worker := h.WithTags(map[string]string{"namespace": "default", "task_queue": "q"})
	worker.Counter("temporal_request").Inc(2)
	worker.WithTags(map[string]string{"task_queue": "other"}).Counter("temporal_request").Inc(1)
	worker.Gauge("temporal_worker_task_slots_available").Update(7)
	worker.Timer("temporal_request_latency").Record(30 * time.Millisecond)
	// A later use with other tags keeps the first label names.
	h.WithTags(map[string]string{"operation": "Poll"}).Counter("temporal_request").Inc(1)
	text := metricstest.Scrape(t, reg)
	metricstest.Want(t, text,
		`temporal_request{namespace="default",task_queue="q"} 2`,
		`temporal_request{namespace="default",task_queue="other"} 1`,
		`temporal_request{namespace="",task_queue=""} 1`,
		`temporal_worker_task_slots_available{namespace="default",task_queue="q"} 7`,
		`temporal_request_latency_seconds_count{namespace="default",task_queue="q"} 1`,
	)
}
