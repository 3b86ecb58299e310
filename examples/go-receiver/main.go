// Command go-receiver receives Securo webhooks: it verifies each request's
// signature with github.com/securo/webhooks/signing, answers 204 at once,
// skips events it has seen (by webhook-id) and prints the rest.
//
//	SECURO_WEBHOOK_SECRET=whsec_... \
//	TLS_CERT_FILE=cert.pem TLS_KEY_FILE=key.pem \
//	go run ./examples/go-receiver
//
// Settings (environment):
//
//	SECURO_WEBHOOK_SECRET  the endpoint's signing secret (whsec_...); during a
//	                       rotation, the new and the old one, comma-separated
//	RECEIVER_ADDR          where to listen; default :8443
//	TLS_CERT_FILE          PEM certificate (chain) to serve HTTPS with
//	TLS_KEY_FILE           its PEM private key
//
// Securo delivers only to https:// URLs (but for sandbox endpoints), so serve
// TLS here or behind a proxy that does. Without TLS_CERT_FILE the receiver
// serves plain HTTP and says so.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/securo/webhooks/signing"
)

// Route is the path this receiver serves; register the endpoint as
// https://<your-domain>/securo-webhooks.
const Route = "/securo-webhooks"

// maxBody caps what is read of a request; Securo's events are far smaller.
const maxBody = 1 << 20

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv, os.Stdout); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	secret := getenv("SECURO_WEBHOOK_SECRET")
	if secret == "" {
		return errors.New("set SECURO_WEBHOOK_SECRET to the endpoint's signing secret (whsec_...)")
	}
	verifier, err := signing.NewVerifier(strings.Split(secret, ",")...)
	if err != nil {
		return fmt.Errorf("SECURO_WEBHOOK_SECRET: %w", err)
	}
	addr := getenv("RECEIVER_ADDR")
	if addr == "" {
		addr = ":8443"
	}
	cert, key := getenv("TLS_CERT_FILE"), getenv("TLS_KEY_FILE")
	if (cert == "") != (key == "") {
		return errors.New("set both TLS_CERT_FILE and TLS_KEY_FILE, or neither")
	}

	out := log.New(stdout, "", 0) // one line at a time, from any goroutine
	events := make(chan event, 1024)
	r := &receiver{verifier: verifier, seen: newSeenSet(100_000), events: events, out: out}
	mux := http.NewServeMux()
	mux.Handle("POST "+Route, r)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	scheme := "https"
	if cert == "" {
		scheme = "http"
		out.Print("no TLS_CERT_FILE: serving plain HTTP, which Securo delivers to only for sandbox endpoints")
	}
	out.Printf("listening on %s://%s%s", scheme, ln.Addr(), Route)

	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); process(events, out) }()
	served := make(chan error, 1)
	go func() {
		if cert != "" {
			served <- srv.ServeTLS(ln, cert, key)
		} else {
			served <- srv.Serve(ln)
		}
	}()
	select {
	case err = <-served:
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = srv.Shutdown(shutdown)
	}
	close(events)
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// event is the body Securo POSTs.
type event struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	CreatedAt time.Time       `json:"created_at"`
	Sandbox   bool            `json:"sandbox"`
	Data      json.RawMessage `json:"data"`
}

type receiver struct {
	verifier *signing.Verifier
	seen     *seenSet
	events   chan<- event
	out      *log.Logger
}

// ServeHTTP verifies, answers and hands the event to process: the answer
// never waits for your business logic, so Securo never times out on it
// (15 s) and retries what you already have.
func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// 1. The raw body, exactly as sent: the signature covers these bytes.
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, "could not read the body", http.StatusBadRequest)
		return
	}
	// 2. The signature (and the timestamp, within 5 minutes) before anything
	// else: a request that fails is not from Securo, or was replayed.
	if err := rc.verifier.Verify(r.Header, body); err != nil {
		http.Error(w, "invalid signature: "+err.Error(), http.StatusBadRequest)
		return
	}
	var ev event
	if err := json.Unmarshal(body, &ev); err != nil {
		http.Error(w, "the body is not an event", http.StatusBadRequest)
		return
	}
	// 3. Deliveries are at least once: the same webhook-id may come again
	// (a lost answer, a resend). Answer 2xx and do nothing the second time.
	id := r.Header.Get(signing.HeaderID)
	if !rc.seen.add(id) {
		w.WriteHeader(http.StatusNoContent)
		rc.out.Printf("duplicate %s: already received, answered 204", id)
		return
	}
	// 4. Queue it and answer. A full queue answers 503 so Securo tries
	// again later; forget the id so that retry is not taken for a duplicate.
	select {
	case rc.events <- ev:
		w.WriteHeader(http.StatusNoContent)
	default:
		rc.seen.remove(id)
		w.Header().Set("Retry-After", "30")
		http.Error(w, "busy", http.StatusServiceUnavailable)
	}
}

// process is where your business logic goes; this one prints each event.
func process(events <-chan event, out *log.Logger) {
	for ev := range events {
		mode := "live"
		if ev.Sandbox {
			mode = "sandbox"
		}
		out.Printf("received %s %s (%s, created %s): %s", ev.Type, ev.ID, mode, ev.CreatedAt.Format(time.RFC3339), ev.Data)
	}
}

// seenSet remembers the last n webhook-ids in memory. A real receiver keeps
// them in its database, written in the same transaction as the event's
// effect, so a restart forgets nothing.
type seenSet struct {
	mu    sync.Mutex
	ids   map[string]struct{}
	order []string
	max   int
}

func newSeenSet(max int) *seenSet {
	return &seenSet{ids: make(map[string]struct{}), max: max}
}

// add records id and reports whether it was new.
func (s *seenSet) add(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.ids[id]; ok {
		return false
	}
	if len(s.order) >= s.max {
		delete(s.ids, s.order[0])
		s.order = s.order[1:]
	}
	s.ids[id] = struct{}{}
	s.order = append(s.order, id)
	return true
}

func (s *seenSet) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.ids, id)
	for i, o := range s.order {
		if o == id {
			s.order = append(s.order[:i], s.order[i+1:]...)
			break
		}
	}
}
