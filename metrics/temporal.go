package metrics

import (
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	sdkclient "go.temporal.io/sdk/client"
)

// temporalBuckets cover the SDK's timers: request and task latencies from a
// millisecond to the long polls' minute.
var temporalBuckets = []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// TemporalHandler hands the Temporal SDK's metrics (client.Options
// MetricsHandler) to a Prometheus registry: counters as counters, gauges as
// gauges, timers as histograms in seconds, tags as labels.
//
// Prometheus wants one set of label names per metric; the first set a
// metric is used with is kept, a tag it lacks is dropped and one it has but
// a later use lacks is empty.
type TemporalHandler struct {
	reg  *registry
	tags map[string]string
}

var _ sdkclient.MetricsHandler = (*TemporalHandler)(nil)

type registry struct {
	reg prometheus.Registerer
	mu  sync.Mutex
	// vecs by metric name; each remembers its label names.
	counters map[string]*vec[*prometheus.CounterVec]
	gauges   map[string]*vec[*prometheus.GaugeVec]
	timers   map[string]*vec[*prometheus.HistogramVec]
}

type vec[V any] struct {
	v      V
	labels []string
}

// NewTemporalHandler registers the SDK's metrics on reg as they appear.
func NewTemporalHandler(reg prometheus.Registerer) *TemporalHandler {
	return &TemporalHandler{reg: &registry{reg: reg,
		counters: map[string]*vec[*prometheus.CounterVec]{},
		gauges:   map[string]*vec[*prometheus.GaugeVec]{},
		timers:   map[string]*vec[*prometheus.HistogramVec]{},
	}, tags: map[string]string{}}
}

// WithTags returns a handler whose metrics carry tags as well.
func (h *TemporalHandler) WithTags(tags map[string]string) sdkclient.MetricsHandler {
	merged := maps.Clone(h.tags)
	for k, v := range tags {
		merged[sanitize(k)] = v
	}
	return &TemporalHandler{reg: h.reg, tags: merged}
}

// Counter is the counter name with this handler's tags.
func (h *TemporalHandler) Counter(name string) sdkclient.MetricsCounter {
	v := lookup(h.reg, h.reg.counters, name, h.tags, func(n string, labels []string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: n, Help: "Temporal SDK counter " + name + "."}, labels)
	})
	c := v.v.WithLabelValues(values(v.labels, h.tags)...)
	return counterFunc(func(d int64) { c.Add(float64(d)) })
}

// Gauge is the gauge name with this handler's tags.
func (h *TemporalHandler) Gauge(name string) sdkclient.MetricsGauge {
	v := lookup(h.reg, h.reg.gauges, name, h.tags, func(n string, labels []string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: n, Help: "Temporal SDK gauge " + name + "."}, labels)
	})
	g := v.v.WithLabelValues(values(v.labels, h.tags)...)
	return gaugeFunc(g.Set)
}

// Timer is the timer name with this handler's tags, as a histogram of
// seconds.
func (h *TemporalHandler) Timer(name string) sdkclient.MetricsTimer {
	v := lookup(h.reg, h.reg.timers, name, h.tags, func(n string, labels []string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: n + "_seconds", Help: "Temporal SDK timer " + name + ", in seconds.", Buckets: temporalBuckets}, labels)
	})
	o := v.v.WithLabelValues(values(v.labels, h.tags)...)
	return timerFunc(func(d time.Duration) { o.Observe(d.Seconds()) })
}

// lookup finds or registers the vec of name; the first tags it is used
// with fix its label names.
func lookup[V prometheus.Collector](r *registry, m map[string]*vec[V], name string, tags map[string]string, newVec func(string, []string) V) *vec[V] {
	r.mu.Lock()
	defer r.mu.Unlock()
	if v, ok := m[name]; ok {
		return v
	}
	labels := slices.Sorted(maps.Keys(tags))
	v := &vec[V]{v: newVec(sanitize(name), labels), labels: labels}
	if err := r.reg.Register(v.v); err != nil {
		// Registered under the same name by another kind: keep counting
		// into a vec nobody scrapes rather than panic inside the SDK.
		if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
			if existing, ok := are.ExistingCollector.(V); ok {
				v.v = existing
			}
		}
	}
	m[name] = v
	return v
}

func values(labels []string, tags map[string]string) []string {
	out := make([]string, len(labels))
	for i, l := range labels {
		out[i] = tags[l]
	}
	return out
}

// sanitize makes a Prometheus name of an SDK name or tag.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r == ':' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			return r
		}
		return '_'
	}, s)
}

type counterFunc func(int64)

func (f counterFunc) Inc(d int64) { f(d) }

type gaugeFunc func(float64)

func (f gaugeFunc) Update(v float64) { f(v) }

type timerFunc func(time.Duration)

func (f timerFunc) Record(d time.Duration) { f(d) }
