// Package metrics holds the service's Prometheus metrics: what the API and
// the activities count, and an adapter that hands the Temporal SDK's own
// metrics to the same registry. Every metric lives on a registry the caller
// owns; nothing here touches Prometheus's default registry.
package metrics

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// MaxEventTypes bounds the event_type label: the first this many distinct
// types a process accepts keep their name, later ones count as OtherType,
// so a client inventing types cannot grow the metrics without end.
const MaxEventTypes = 100

// OtherType is the event_type label of types past MaxEventTypes.
const OtherType = "_other"

// Attempt classes: how an attempt ended, as the attempts_total label says.
const (
	Class2xx          = "2xx"
	Class3xx          = "3xx"
	Class4xx          = "4xx"
	Class5xx          = "5xx"
	ClassTimeout      = "timeout"
	ClassRefused      = "refused"       // the receiver refused the connection
	ClassNetworkError = "network_error" // any other connection or TLS failure
	ClassBlocked      = "blocked"       // our egress rules refused the address
)

// latencyBuckets cover a POST from a millisecond to its 15 s timeout.
var latencyBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 15, 30}

// delayBuckets cover acceptance to first attempt, from the fast path's
// milliseconds to a worker that was down for minutes.
var delayBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900}

// Metrics are the service's own metrics. A nil *Metrics counts nothing, so
// callers need no checks.
type Metrics struct {
	eventsAccepted    *prometheus.CounterVec
	deliveries        *prometheus.CounterVec
	attempts          *prometheus.CounterVec
	attemptDuration   *prometheus.HistogramVec
	inFlight          prometheus.Gauge
	firstAttemptDelay prometheus.Histogram

	mu    sync.Mutex
	types map[string]bool
}

// New registers the service's metrics, and the Go runtime's and process's,
// on reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		eventsAccepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "securo_events_accepted_total",
			Help: "Events accepted by the API, by type (the first " + strconv.Itoa(MaxEventTypes) + " types a process sees; later ones as " + OtherType + ").",
		}, []string{"event_type"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "securo_deliveries_total",
			Help: "Deliveries that ended, by final status and reason.",
		}, []string{"status", "reason"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "securo_attempts_total",
			Help: "Delivery attempts made, by outcome class: 2xx, 3xx, 4xx, 5xx, timeout, refused, network_error, blocked.",
		}, []string{"class"}),
		attemptDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "securo_attempt_duration_seconds",
			Help:    "How long a delivery attempt's POST took, by outcome class.",
			Buckets: latencyBuckets,
		}, []string{"class"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "securo_deliveries_in_flight",
			Help: "Delivery attempts whose POST is under way in this process.",
		}),
		firstAttemptDelay: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "securo_first_attempt_delay_seconds",
			Help:    "Time from a delivery's acceptance to the start of its first attempt.",
			Buckets: delayBuckets,
		}),
		types: map[string]bool{},
	}
	reg.MustRegister(m.eventsAccepted, m.deliveries, m.attempts, m.attemptDuration, m.inFlight, m.firstAttemptDelay,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// EventAccepted counts an event the API accepted.
func (m *Metrics) EventAccepted(eventType string) {
	if m == nil {
		return
	}
	m.eventsAccepted.WithLabelValues(m.typeLabel(eventType)).Inc()
}

func (m *Metrics) typeLabel(eventType string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.types[eventType] {
		return eventType
	}
	if len(m.types) >= MaxEventTypes {
		return OtherType
	}
	m.types[eventType] = true
	return eventType
}

// DeliveryFinished counts a delivery that ended with status and reason.
func (m *Metrics) DeliveryFinished(status, reason string) {
	if m == nil {
		return
	}
	m.deliveries.WithLabelValues(status, reason).Inc()
}

// AttemptStarted counts an attempt whose POST begins; sinceAccepted is the
// time since its delivery was accepted when it is the first attempt, and
// negative otherwise. The returned function ends it with its class.
func (m *Metrics) AttemptStarted(sinceAccepted time.Duration) (finished func(class string, took time.Duration)) {
	if m == nil {
		return func(string, time.Duration) {}
	}
	if sinceAccepted >= 0 {
		m.firstAttemptDelay.Observe(sinceAccepted.Seconds())
	}
	m.inFlight.Inc()
	return func(class string, took time.Duration) {
		m.inFlight.Dec()
		m.attempts.WithLabelValues(class).Inc()
		m.attemptDuration.WithLabelValues(class).Observe(took.Seconds())
	}
}

// ClassOf names an attempt's class from its HTTP status (0 when there was
// no answer) and the error that stopped it: timeout and blocked are told
// apart by the caller, which knows them, through kind.
func ClassOf(statusCode int, kind string, err error) string {
	switch {
	case statusCode >= 200 && statusCode < 300:
		return Class2xx
	case statusCode >= 300 && statusCode < 400:
		return Class3xx
	case statusCode >= 400 && statusCode < 500:
		return Class4xx
	case statusCode >= 500:
		return Class5xx
	case kind == ClassTimeout || kind == ClassBlocked:
		return kind
	case isRefused(err):
		return ClassRefused
	default:
		return ClassNetworkError
	}
}

func isRefused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED)
}

// Handler serves reg's metrics in Prometheus's text format.
func Handler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}
