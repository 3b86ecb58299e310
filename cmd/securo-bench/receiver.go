package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// receiver is the HTTPS endpoint every run delivers to. It records, per
// endpoint path and webhook-id, when the first POST arrived and how many
// came, so a run can count lost and duplicated deliveries and measure the
// latency from acceptance (the event's created_at) to arrival.
type receiver struct {
	srv  *httptest.Server
	hang bool // never answers in time (another customer's broken server)
	// hanging counts the requests held open now.
	hanging atomic.Int64

	mu       sync.Mutex
	arrivals map[arrivalKey]*arrival
	perID    map[string]int       // distinct endpoints reached, by webhook-id
	waiters  map[string]*idWaiter // closed-loop clients waiting for an id
}

type idWaiter struct {
	need int
	done chan struct{}
}

type arrivalKey struct{ path, id string }

type arrival struct {
	first   time.Time
	latency time.Duration
	count   int
}

func newReceiver(hang bool) *receiver {
	rc := &receiver{arrivals: map[arrivalKey]*arrival{}, hang: hang, perID: map[string]int{}, waiters: map[string]*idWaiter{}}
	rc.srv = httptest.NewUnstartedServer(http.HandlerFunc(rc.serve))
	rc.srv.Config.ReadHeaderTimeout = 30 * time.Second
	rc.srv.StartTLS()
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	body, _ := io.ReadAll(r.Body)
	if strings.HasPrefix(r.URL.Path, "/hang/") || rc.hang {
		// Never answers in time: holds the request until the sender gives up.
		rc.hanging.Add(1)
		defer rc.hanging.Add(-1)
		select {
		case <-r.Context().Done():
		case <-time.After(60 * time.Second):
		}
		return
	}
	var created time.Time
	var payload struct {
		CreatedAt time.Time `json:"created_at"`
	}
	if json.Unmarshal(body, &payload) == nil {
		created = payload.CreatedAt
	}
	key := arrivalKey{r.URL.Path, r.Header.Get("webhook-id")}
	rc.mu.Lock()
	a := rc.arrivals[key]
	if a == nil {
		a = &arrival{first: now}
		if !created.IsZero() {
			a.latency = now.Sub(created)
		}
		rc.arrivals[key] = a
		rc.perID[key.id]++
		if w := rc.waiters[key.id]; w != nil && rc.perID[key.id] >= w.need {
			close(w.done)
			delete(rc.waiters, key.id)
		}
	}
	a.count++
	rc.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// collect returns the arrivals whose path starts with prefix.
func (rc *receiver) collect(prefix string) (distinct, duplicates int, latencies []time.Duration) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for k, a := range rc.arrivals {
		if !strings.HasPrefix(k.path, prefix) {
			continue
		}
		distinct++
		duplicates += a.count - 1
		latencies = append(latencies, a.latency)
	}
	return distinct, duplicates, latencies
}

// count is how many distinct deliveries under prefix have arrived; the
// drain polls it, so it allocates nothing.
func (rc *receiver) count(prefix string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	n := 0
	for k := range rc.arrivals {
		if strings.HasPrefix(k.path, prefix) {
			n++
		}
	}
	return n
}

// pool trusts the receiver's self-signed certificate.
func (rc *receiver) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(rc.srv.Certificate())
	return p
}

// caPEM is the receiver's certificate for SECURO_CA_FILE.
func (rc *receiver) caPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rc.srv.Certificate().Raw})
}

// lastArrival is when the latest delivery under prefix first arrived.
func (rc *receiver) lastArrival(prefix string) time.Time {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var last time.Time
	for k, a := range rc.arrivals {
		if strings.HasPrefix(k.path, prefix) && a.first.After(last) {
			last = a.first
		}
	}
	return last
}

// wait blocks until id has reached n endpoints, or ctx ends.
func (rc *receiver) wait(ctx context.Context, id string, n int) {
	rc.mu.Lock()
	if rc.perID[id] >= n {
		rc.mu.Unlock()
		return
	}
	w := &idWaiter{need: n, done: make(chan struct{})}
	rc.waiters[id] = w
	rc.mu.Unlock()
	select {
	case <-w.done:
	case <-ctx.Done():
	}
}

// settle waits until no request hangs here any more, then for the retries
// they cause (the first is due about 5 s after a timeout; the endpoints are
// deleted by then, so it ends the delivery without a POST), so the next run
// does not pay for this one's hung attempts.
func (rc *receiver) settle(ctx context.Context) {
	for deadline := time.Now().Add(time.Minute); rc.hanging.Load() > 0 && time.Now().Before(deadline); {
		select {
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
	}
}
