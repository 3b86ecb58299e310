// Package receivertest runs real HTTPS webhook receivers for tests.
package receivertest

import (
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// Request is one POST a receiver got.
type Request struct {
	Header http.Header
	Body   []byte
	At     time.Time
}

// Receiver is an httptest TLS server that records every request and answers
// with Answer (200 "ok" by default).
type Receiver struct {
	*httptest.Server
	mu       sync.Mutex
	requests []Request
	answer   http.HandlerFunc
}

// New starts a receiver that lives as long as the test.
func New(t testing.TB) *Receiver {
	rc := &Receiver{answer: func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) }}
	rc.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.requests = append(rc.requests, Request{Header: r.Header.Clone(), Body: body, At: time.Now()})
		answer := rc.answer
		rc.mu.Unlock()
		answer(w, r)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// Answer changes how the receiver answers from now on.
func (rc *Receiver) Answer(h http.HandlerFunc) {
	rc.mu.Lock()
	rc.answer = h
	rc.mu.Unlock()
}

// Pool holds the receiver's CA, for the client that must trust it.
func (rc *Receiver) Pool() *x509.CertPool {
	return rc.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
}

// Got returns the requests so far.
func (rc *Receiver) Got() []Request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Request(nil), rc.requests...)
}

// WaitFor waits until the receiver has n requests and returns them; the test
// fails if that takes longer than timeout.
func (rc *Receiver) WaitFor(t testing.TB, n int, timeout time.Duration) []Request {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := rc.Got()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("receiver got %d requests in %s, want %d", len(got), timeout, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
