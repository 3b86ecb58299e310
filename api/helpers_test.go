package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/securo/webhooks/api"
	"github.com/securo/webhooks/internal/storetest"
	"github.com/securo/webhooks/models"
)

// fakeLauncher records the events it was asked to launch and fails with err
// when err is set.
type fakeLauncher struct {
	mu        sync.Mutex
	launched  []string
	signals   []string
	err       error
	signalErr error
}

func (f *fakeLauncher) Launch(ctx context.Context, ev models.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.launched = append(f.launched, ev.ID)
	return f.err
}

func (f *fakeLauncher) LaunchDelivery(ctx context.Context, d models.Delivery, sandbox bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.launched = append(f.launched, d.ID)
	return f.err
}

func (f *fakeLauncher) Signal(ctx context.Context, workflowID, signal string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.signals = append(f.signals, workflowID+" "+signal)
	if f.signalErr != nil {
		return f.signalErr
	}
	return f.err
}

func (f *fakeLauncher) count(eventID string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, id := range f.launched {
		if id == eventID {
			n++
		}
	}
	return n
}

func (f *fakeLauncher) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.launched)
}

// syncBuffer is a log sink safe for concurrent handlers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// harness is the API on a real store with two accounts, A and B.
type harness struct {
	t        *testing.T
	store    *models.Store
	launcher *fakeLauncher
	logs     *syncBuffer
	url      string
	keyA     string
	keyB     string
}

func newHarness(t *testing.T, kind string, configure ...func(*api.Deps)) *harness {
	t.Helper()
	h := &harness{t: t, store: storetest.Open(t, kind), launcher: &fakeLauncher{}, logs: &syncBuffer{}}
	_, h.keyA = storetest.Account(t, h.store, "a")
	_, h.keyB = storetest.Account(t, h.store, "b")
	d := api.Deps{
		Store:          h.store,
		Launcher:       h.launcher,
		TemporalHealth: func(context.Context) error { return nil },
		Logger:         slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	for _, f := range configure {
		f(&d)
	}
	// The server the commands run, with its limits.
	srv := httptest.NewUnstartedServer(nil)
	srv.Config = api.NewServer(api.New(d))
	srv.Start()
	t.Cleanup(srv.Close)
	h.url = srv.URL
	return h
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request with key as bearer token ("" for none) and headers as
// name, value pairs.
func (h *harness) do(method, path, key, body string, headers ...string) reply {
	h.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.url+path, r)
	if err != nil {
		h.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r reply) want(t *testing.T, status int) reply {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	return r
}

type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field"`
}

func (r reply) apiError(t *testing.T) apiError {
	t.Helper()
	var e struct {
		Error apiError `json:"error"`
	}
	r.decode(t, &e)
	if e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("error body without code or message: %s", r.body)
	}
	return e.Error
}

// wantError checks an error answer: status, code and field.
func (r reply) wantError(t *testing.T, status int, code, field string) apiError {
	t.Helper()
	r.want(t, status)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want JSON", ct)
	}
	e := r.apiError(t)
	if e.Code != code || e.Field != field {
		t.Fatalf("error code %q field %q, want %q %q; body %s", e.Code, e.Field, code, field, r.body)
	}
	return e
}

type endpoint struct {
	ID          string   `json:"id"`
	URL         string   `json:"url"`
	Description string   `json:"description"`
	EventTypes  []string `json:"event_types"`
	Sandbox     bool     `json:"sandbox"`
	Enabled     bool     `json:"enabled"`
	Secret      string   `json:"secret"`
	CreatedAt   string   `json:"created_at"`
	UpdatedAt   string   `json:"updated_at"`
}

type attempt struct {
	Number       int    `json:"number"`
	StartedAt    string `json:"started_at"`
	DurationMS   *int64 `json:"duration_ms"`
	StatusCode   *int   `json:"status_code"`
	Error        string `json:"error"`
	ResponseBody string `json:"response_body"`
}

type delivery struct {
	ID            string    `json:"id"`
	EventID       string    `json:"event_id"`
	EndpointID    string    `json:"endpoint_id"`
	Status        string    `json:"status"`
	Reason        string    `json:"reason"`
	WorkflowID    string    `json:"workflow_id"`
	NextAttemptAt *string   `json:"next_attempt_at"`
	CreatedAt     string    `json:"created_at"`
	UpdatedAt     string    `json:"updated_at"`
	Attempts      []attempt `json:"attempts"`
}

type event struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	Data       json.RawMessage `json:"data"`
	Sandbox    bool            `json:"sandbox"`
	CreatedAt  string          `json:"created_at"`
	WorkflowID string          `json:"workflow_id"`
	Deliveries []delivery      `json:"deliveries"`
}

type list[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

func (h *harness) createEndpoint(key, body string) endpoint {
	h.t.Helper()
	var ep endpoint
	h.do("POST", "/v1/endpoints", key, body).want(h.t, http.StatusCreated).decode(h.t, &ep)
	return ep
}

func (h *harness) postEvent(key, body string, headers ...string) event {
	h.t.Helper()
	var ev event
	h.do("POST", "/v1/events", key, body, headers...).want(h.t, http.StatusAccepted).decode(h.t, &ev)
	return ev
}

func (h *harness) getEvent(key, id string) event {
	h.t.Helper()
	var ev event
	h.do("GET", "/v1/events/"+id, key, "").want(h.t, http.StatusOK).decode(h.t, &ev)
	return ev
}

// snapshot is everything a request could change, read through the store.
func (h *harness) snapshot() string {
	h.t.Helper()
	ctx := context.Background()
	var out []any
	for _, key := range []string{h.keyA, h.keyB} {
		acct, err := h.store.AccountByAPIKey(ctx, key)
		if err != nil {
			h.t.Fatal(err)
		}
		eps, _, err := h.store.ListEndpoints(ctx, acct.ID, models.Page{Limit: 100})
		if err != nil {
			h.t.Fatal(err)
		}
		evs, _, err := h.store.ListEvents(ctx, acct.ID, models.EventFilter{}, models.Page{Limit: 100})
		if err != nil {
			h.t.Fatal(err)
		}
		keys, _, err := h.store.ListAPIKeys(ctx, acct.ID, models.Page{Limit: 100})
		if err != nil {
			h.t.Fatal(err)
		}
		out = append(out, eps, evs, keys)
	}
	for _, table := range []string{"endpoints", "events", "deliveries", "attempts", "idempotency_keys", "accounts", "api_keys"} {
		var n int64
		if err := h.store.DB().Table(table).Count(&n).Error; err != nil {
			h.t.Fatal(err)
		}
		out = append(out, table, n)
	}
	b, err := json.Marshal(out)
	if err != nil {
		h.t.Fatal(err)
	}
	return string(b)
}
