package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/securo/webhooks/internal/freeport"
	"github.com/securo/webhooks/internal/receivertest"
	"github.com/securo/webhooks/internal/storetest"
	"github.com/securo/webhooks/internal/temporaltest"
	"github.com/securo/webhooks/models"
	"github.com/securo/webhooks/signing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	temporaltest.StopShared()
	os.Exit(code)
}

// service is the real stack as `securo api` and `securo worker` run it, as
// two halves sharing one database, against a real Temporal dev server.
type service struct {
	t      *testing.T
	cfg    config
	apiURL string
	key    string
	store  *models.Store
	// workerURL serves the last started worker's /healthz, /readyz and
	// /metrics, as `securo worker` does.
	workerURL string
	// log is what the API and the worker logged (JSON).
	log *syncBuffer
}

type serviceOptions struct {
	// apiTemporal overrides the Temporal address the API uses, to play an
	// API that cannot reach Temporal after committing an event.
	apiTemporal string
	// noWorker leaves the worker to be started later with startWorker.
	noWorker bool
	schedule []time.Duration
	// childPath runs every delivery as a child workflow from its first
	// attempt, as events did before the fast path (and old histories do).
	childPath bool
	// configure changes the settings both halves run with.
	configure func(*config)
}

func startService(t *testing.T, kind string, receivers []*receivertest.Receiver, o serviceOptions) *service {
	t.Helper()
	temporal := temporaltest.Shared(t)
	b := make([]byte, 4)
	rand.Read(b)
	cfg := config{
		security:          security{SecretBox: storetest.Box(t)},
		DatabaseURL:       storetest.URL(t, kind),
		TemporalAddress:   temporal.HostPort,
		TemporalNamespace: "default",
		TaskQueue:         "e2e-" + hex.EncodeToString(b),
		AllowPrivate:      true,
		CAFile:            writeCAFile(t, receivers),
		Schedule:          []time.Duration{0, 300 * time.Millisecond, 300 * time.Millisecond},
		MaxEndpoints:      100,
		SweepInterval:     100 * time.Millisecond,
		SweepGrace:        100 * time.Millisecond,
		FastPath:          !o.childPath,
		EagerStart:        true,
		Retention:         720 * time.Hour,
	}
	if o.schedule != nil {
		cfg.Schedule = o.schedule
	}
	if o.configure != nil {
		o.configure(&cfg)
	}
	s := &service{t: t, cfg: cfg, log: &syncBuffer{}}

	apiCfg := cfg
	if o.apiTemporal != "" {
		apiCfg.TemporalAddress = o.apiTemporal
	}
	ctx, cancel := context.WithCancel(context.Background())
	api, err := openStack(ctx, apiCfg, s.logger())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- api.serveAPI(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("api: %v", err)
		}
		api.Close()
	})
	s.apiURL = "http://" + ln.Addr().String()
	s.store = api.store
	_, s.key = storetest.Account(t, api.store, "acme")
	if !o.noWorker {
		s.startWorker()
	}
	return s
}

// logger logs as `securo api` and `securo worker` do, into s.log.
func (s *service) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(s.log, nil))
}

// startWorker runs `securo worker` in-process with its own connections,
// serving its health and metrics on a port of its own.
func (s *service) startWorker() {
	t := s.t
	ctx, cancel := context.WithCancel(context.Background())
	w, err := openStack(ctx, s.cfg, s.logger())
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.workerURL = "http://" + ln.Addr().String()
	done := make(chan error, 1)
	go func() {
		done <- runTogether(ctx, func(ctx context.Context) error { return w.serveOps(ctx, ln) }, w.runWorker)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
		w.Close()
	})
}

// writeCAFile writes the receivers' CA for SECURO_CA_FILE, as an operator
// with a private PKI would.
func writeCAFile(t *testing.T, receivers []*receivertest.Receiver) string {
	var buf bytes.Buffer
	for _, rc := range receivers {
		pem.Encode(&buf, &pem.Block{Type: "CERTIFICATE", Bytes: rc.Certificate().Raw})
	}
	path := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// call makes an API request and decodes the JSON answer into out.
func (s *service) call(method, path, body string, out any) int {
	s.t.Helper()
	req, _ := http.NewRequest(method, s.apiURL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			s.t.Fatalf("%s %s: %d %s: %v", method, path, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode
}

type endpointJSON struct {
	ID      string `json:"id"`
	Secret  string `json:"secret"`
	Sandbox bool   `json:"sandbox"`
}

type attemptJSON struct {
	Number     int    `json:"number"`
	StatusCode *int   `json:"status_code"`
	Error      string `json:"error"`
}

type deliveryJSON struct {
	ID         string        `json:"id"`
	EndpointID string        `json:"endpoint_id"`
	Status     string        `json:"status"`
	Reason     string        `json:"reason"`
	WorkflowID string        `json:"workflow_id"`
	Attempts   []attemptJSON `json:"attempts"`
}

type eventJSON struct {
	ID         string          `json:"id"`
	Data       json.RawMessage `json:"data"`
	WorkflowID string          `json:"workflow_id"`
	Deliveries []deliveryJSON  `json:"deliveries"`
}

func (s *service) createEndpoint(body string) endpointJSON {
	s.t.Helper()
	var ep endpointJSON
	if code := s.call("POST", "/v1/endpoints", body, &ep); code != http.StatusCreated {
		s.t.Fatalf("create endpoint %s: %d", body, code)
	}
	return ep
}

func (s *service) emit(body string) eventJSON {
	s.t.Helper()
	var ev eventJSON
	if code := s.call("POST", "/v1/events", body, &ev); code != http.StatusAccepted {
		s.t.Fatalf("emit %s: %d", body, code)
	}
	return ev
}

// waitEvent polls the event until every delivery has left pending.
func (s *service) waitEvent(id string) eventJSON {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var ev eventJSON
		s.call("GET", "/v1/events/"+id, "", &ev)
		settled := true
		for _, d := range ev.Deliveries {
			settled = settled && d.Status != models.StatusPending
		}
		if settled {
			return ev
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("event %s still has pending deliveries: %+v", id, ev.Deliveries)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitWorkflowClosed waits for a workflow to complete in the shared server.
func (s *service) waitWorkflowClosed(workflowID string) {
	s.t.Helper()
	waitWorkflowClosed(s.t, temporaltest.Shared(s.t).Client, workflowID)
}

// waitWorkflowClosedAt does the same against the dev server on port.
func (s *service) waitWorkflowClosedAt(port int, workflowID string) {
	s.t.Helper()
	c, err := client.Dial(client.Options{HostPort: "127.0.0.1:" + strconv.Itoa(port), Logger: quietLogger{}})
	if err != nil {
		s.t.Fatal(err)
	}
	defer c.Close()
	waitWorkflowClosed(s.t, c, workflowID)
}

func waitWorkflowClosed(t *testing.T, c client.Client, workflowID string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		d, err := c.DescribeWorkflowExecution(context.Background(), workflowID, "")
		if err == nil && d.WorkflowExecutionInfo.Status == enums.WORKFLOW_EXECUTION_STATUS_COMPLETED {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("workflow %s not completed: %v %v", workflowID, d, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const swapData = `{"pair": "ETH/USDC", "amount_in": 115792089237316195423570985008687907853269984665640564039457584007913129639935, "tx": "0xabc"}`

func TestEventsAreDeliveredSignedAndVisible(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		t.Run("fast path", func(t *testing.T) { deliveredSignedAndVisible(t, kind, serviceOptions{}) })
		t.Run("child per delivery", func(t *testing.T) { deliveredSignedAndVisible(t, kind, serviceOptions{childPath: true}) })
	})
}

func deliveredSignedAndVisible(t *testing.T, kind string, o serviceOptions) {
	{
		rc := receivertest.New(t)
		s := startService(t, kind, []*receivertest.Receiver{rc}, o)
		ep := s.createEndpoint(`{"url": "` + rc.URL + `/webhooks", "event_types": ["dex.*"]}`)
		ev := s.emit(`{"type": "dex.swap", "data": ` + swapData + `}`)

		got := rc.WaitFor(t, 1, 30*time.Second)[0]
		v, _ := signing.NewVerifier(ep.Secret)
		if err := v.Verify(got.Header, got.Body); err != nil {
			t.Fatalf("signature: %v", err)
		}
		if got.Header.Get("webhook-id") != ev.ID || !bytes.Contains(got.Body, []byte(`"data":`+swapData)) {
			t.Fatalf("request %v %s", got.Header, got.Body)
		}

		final := s.waitEvent(ev.ID)
		if len(final.Deliveries) != 1 || final.Deliveries[0].Status != "succeeded" || len(final.Deliveries[0].Attempts) != 1 ||
			*final.Deliveries[0].Attempts[0].StatusCode != 200 {
			t.Fatalf("deliveries %+v", final.Deliveries)
		}
		if string(final.Data) != swapData {
			t.Fatalf("data %s", final.Data)
		}
		var list struct{ Data []deliveryJSON }
		s.call("GET", "/v1/endpoints/"+ep.ID+"/deliveries?status=succeeded", "", &list)
		if len(list.Data) != 1 || list.Data[0].ID != final.Deliveries[0].ID {
			t.Fatalf("endpoint deliveries %+v", list.Data)
		}
		// Operators see the event's workflow, and each delivery that needed
		// more than the first attempt as a child workflow of its own.
		s.waitWorkflowClosed(ev.WorkflowID)
		// The delivery names the workflow that ran it: its own child, or
		// the event's when the first attempt ended it.
		s.waitWorkflowClosed(final.Deliveries[0].WorkflowID)
		if !o.childPath && final.Deliveries[0].WorkflowID != ev.WorkflowID {
			t.Fatalf("delivery workflow %s, want the event's %s", final.Deliveries[0].WorkflowID, ev.WorkflowID)
		}
	}
}

func TestAFailedAttemptIsRetried(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		rc := receivertest.New(t)
		var calls atomic.Int32
		rc.Answer(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 1 {
				http.Error(w, "try later", http.StatusInternalServerError)
			}
		})
		s := startService(t, kind, []*receivertest.Receiver{rc}, serviceOptions{})
		s.createEndpoint(`{"url": "` + rc.URL + `"}`)
		ev := s.emit(`{"type": "payment.confirmed", "data": {"amount": "10.00"}}`)
		got := rc.WaitFor(t, 2, 30*time.Second)
		if got[0].Header.Get("webhook-id") != ev.ID || got[1].Header.Get("webhook-id") != ev.ID {
			t.Fatalf("webhook-id changed between attempts")
		}
		d := s.waitEvent(ev.ID).Deliveries[0]
		if d.Status != "succeeded" || len(d.Attempts) != 2 || d.Attempts[0].Error != "http_status" || *d.Attempts[0].StatusCode != 500 || *d.Attempts[1].StatusCode != 200 {
			t.Fatalf("delivery %+v", d)
		}
		s.waitWorkflowClosed(ev.WorkflowID)
		if kind == "sqlite" {
			recordHistory(t, ev.WorkflowID, "event_workflow_fastpath_jitter_v3.json")
			recordHistory(t, d.WorkflowID, "delivery_workflow_from_attempt2_jitter_v3.json")
		}
	})
}

func TestDisabledEndpointsAreSkipped(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		rc := receivertest.New(t)
		rc.Answer(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) })
		s := startService(t, kind, []*receivertest.Receiver{rc}, serviceOptions{schedule: []time.Duration{0, 2 * time.Second, time.Second}})

		// Disabled when the event is accepted: never sent, even once enabled.
		off := s.createEndpoint(`{"url": "` + rc.URL + `/off", "enabled": false}`)
		ev := s.emit(`{"type": "tx.succeeded", "data": {}}`)
		if d := s.waitEvent(ev.ID).Deliveries; len(d) != 1 || d[0].Status != "skipped" || d[0].Reason != "endpoint_disabled" {
			t.Fatalf("deliveries %+v", d)
		}
		s.waitWorkflowClosed(ev.WorkflowID)
		s.call("PATCH", "/v1/endpoints/"+off.ID, `{"enabled": true}`, nil)

		// Disabled between two attempts: the next attempt is skipped.
		ev2 := s.emit(`{"type": "tx.succeeded", "data": {}}`)
		rc.WaitFor(t, 1, 30*time.Second)
		if code := s.call("PATCH", "/v1/endpoints/"+off.ID, `{"enabled": false}`, nil); code != http.StatusOK {
			t.Fatalf("disable: %d", code)
		}
		d := s.waitEvent(ev2.ID).Deliveries
		if len(d) != 1 || d[0].Status != "skipped" || d[0].Reason != "endpoint_disabled" || len(d[0].Attempts) != 1 {
			t.Fatalf("deliveries %+v", d)
		}
		for _, r := range rc.Got() {
			if r.Header.Get("webhook-id") != ev2.ID {
				t.Fatalf("the event accepted while disabled was sent: %s", r.Header.Get("webhook-id"))
			}
		}
		if n := len(rc.Got()); n != 1 {
			t.Fatalf("receiver got %d requests, want 1", n)
		}
	})
}

func TestSandboxAndLiveNeverCross(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		live, sandbox := receivertest.New(t), receivertest.New(t)
		s := startService(t, kind, []*receivertest.Receiver{live, sandbox}, serviceOptions{})
		s.createEndpoint(`{"url": "` + live.URL + `"}`)
		s.createEndpoint(`{"url": "` + sandbox.URL + `", "sandbox": true}`)
		liveEv := s.emit(`{"type": "dex.swap", "data": {"n": 1}}`)
		sandboxEv := s.emit(`{"type": "dex.swap", "data": {"n": 2}, "sandbox": true}`)
		s.waitEvent(liveEv.ID)
		s.waitEvent(sandboxEv.ID)
		s.waitWorkflowClosed(liveEv.WorkflowID)
		s.waitWorkflowClosed(sandboxEv.WorkflowID)
		if got := live.Got(); len(got) != 1 || got[0].Header.Get("webhook-id") != liveEv.ID {
			t.Fatalf("live receiver got %d requests", len(got))
		}
		if got := sandbox.Got(); len(got) != 1 || got[0].Header.Get("webhook-id") != sandboxEv.ID {
			t.Fatalf("sandbox receiver got %d requests", len(got))
		}
		if !bytes.Contains(sandbox.Got()[0].Body, []byte(`"sandbox":true`)) {
			t.Fatalf("sandbox body %s", sandbox.Got()[0].Body)
		}
	})
}

func TestARotatedSecretSignsBesideTheOldOneUntilItsGraceEnds(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		rc := receivertest.New(t)
		s := startService(t, kind, []*receivertest.Receiver{rc}, serviceOptions{})
		ep := s.createEndpoint(`{"url": "` + rc.URL + `"}`)
		rotate := func(body string) (secret string, expires *time.Time) {
			var r struct {
				Secret                  string     `json:"secret"`
				PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at"`
			}
			if code := s.call("POST", "/v1/endpoints/"+ep.ID+"/secret/rotate", body, &r); code != http.StatusOK {
				t.Fatalf("rotate %s: %d", body, code)
			}
			return r.Secret, r.PreviousSecretExpiresAt
		}
		verifies := func(req receivertest.Request, secret string) bool {
			v, _ := signing.NewVerifier(secret)
			return v.Verify(req.Header, req.Body) == nil
		}

		// During the grace period a receiver holding either secret accepts.
		fresh, expires := rotate(`{"grace_period_seconds": 3600}`)
		if expires == nil || expires.Before(time.Now().Add(59*time.Minute)) {
			t.Fatalf("previous secret expires at %v, want in an hour", expires)
		}
		s.emit(`{"type": "dex.swap", "data": {"n": 1}}`)
		got := rc.WaitFor(t, 1, 30*time.Second)[0]
		if !verifies(got, ep.Secret) || !verifies(got, fresh) {
			t.Fatalf("webhook-signature %q: the old secret verifies %v, the new one %v",
				got.Header.Get("webhook-signature"), verifies(got, ep.Secret), verifies(got, fresh))
		}

		// Without grace the replaced secret stops at once.
		newest, expires := rotate(`{"grace_period_seconds": 0}`)
		if expires != nil {
			t.Fatalf("previous secret expires at %v, want null", expires)
		}
		s.emit(`{"type": "dex.swap", "data": {"n": 2}}`)
		got = rc.WaitFor(t, 2, 30*time.Second)[1]
		if !verifies(got, newest) || verifies(got, fresh) || verifies(got, ep.Secret) {
			t.Fatalf("webhook-signature %q after a rotation without grace, want the newest secret's only", got.Header.Get("webhook-signature"))
		}
	})
}

func TestEventsWaitForAWorkerThatStartsLater(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		rc := receivertest.New(t)
		s := startService(t, kind, []*receivertest.Receiver{rc}, serviceOptions{noWorker: true})
		s.createEndpoint(`{"url": "` + rc.URL + `"}`)
		ev := s.emit(`{"type": "dex.swap", "data": {"n": 1}}`)
		time.Sleep(500 * time.Millisecond)
		if n := len(rc.Got()); n != 0 {
			t.Fatalf("delivered with no worker: %d", n)
		}
		s.startWorker()
		rc.WaitFor(t, 1, 30*time.Second)
		if d := s.waitEvent(ev.ID).Deliveries; d[0].Status != "succeeded" {
			t.Fatalf("delivery %+v", d)
		}
	})
}

func TestTheSweeperStartsEventsTheAPICouldNotStart(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		rc := receivertest.New(t)
		// The API's Temporal is unreachable: it commits the event, fails to
		// start the workflow, and still answers 202.
		s := startService(t, kind, []*receivertest.Receiver{rc}, serviceOptions{apiTemporal: "127.0.0.1:1", noWorker: true})
		s.createEndpoint(`{"url": "` + rc.URL + `"}`)
		ev := s.emit(`{"type": "dex.swap", "data": {"n": 1}}`)
		stored, err := s.store.LoadEvent(context.Background(), ev.ID)
		if err != nil || stored.WorkflowStartedAt != nil {
			t.Fatalf("event %+v, %v: want committed and not started", stored, err)
		}
		s.startWorker()
		got := rc.WaitFor(t, 1, 30*time.Second)
		if got[0].Header.Get("webhook-id") != ev.ID {
			t.Fatalf("delivered %s", got[0].Header.Get("webhook-id"))
		}
		s.waitEvent(ev.ID)
		s.waitWorkflowClosed(ev.WorkflowID)
		if stored, _ := s.store.LoadEvent(context.Background(), ev.ID); stored.WorkflowStartedAt == nil {
			t.Fatal("the sweeper did not record the start")
		}
		time.Sleep(300 * time.Millisecond) // a few more sweeps: nothing is sent twice
		if n := len(rc.Got()); n != 1 {
			t.Fatalf("receiver got %d requests, want 1", n)
		}
	})
}

func freePort(t *testing.T) int {
	port, err := freeport.Get()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

func TestABurstOfConcurrentEventsIsDeliveredExactlyOnceEach(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		a, b := receivertest.New(t), receivertest.New(t)
		s := startService(t, kind, []*receivertest.Receiver{a, b}, serviceOptions{})
		s.createEndpoint(`{"url": "` + a.URL + `"}`)
		s.createEndpoint(`{"url": "` + b.URL + `"}`)
		const clients, perClient = 8, 10
		ids := make(chan string, clients*perClient)
		var wg sync.WaitGroup
		for c := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range perClient {
					var ev eventJSON
					body := fmt.Sprintf(`{"type": "dex.swap", "data": {"client": %d, "i": %d}}`, c, i)
					if code := s.call("POST", "/v1/events", body, &ev); code != http.StatusAccepted {
						t.Errorf("emit: %d", code)
						return
					}
					ids <- ev.ID
				}
			}()
		}
		wg.Wait()
		close(ids)
		want := map[string]bool{}
		for id := range ids {
			want[id] = true
		}
		for _, rc := range []*receivertest.Receiver{a, b} {
			got := rc.WaitFor(t, len(want), 60*time.Second)
			time.Sleep(200 * time.Millisecond)
			seen := map[string]int{}
			for _, r := range rc.Got() {
				seen[r.Header.Get("webhook-id")]++
			}
			for id := range want {
				if seen[id] != 1 {
					t.Errorf("event %s arrived %d times", id, seen[id])
				}
			}
			if len(got) < len(want) || len(seen) != len(want) {
				t.Errorf("receiver saw %d distinct events, want %d", len(seen), len(want))
			}
		}
	})
}

func TestAFailedDeliveryCanBeResentAndRecovered(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		rc := receivertest.New(t)
		var down atomic.Bool
		down.Store(true)
		rc.Answer(func(w http.ResponseWriter, r *http.Request) {
			if down.Load() {
				http.Error(w, "down", http.StatusServiceUnavailable)
			}
		})
		s := startService(t, kind, []*receivertest.Receiver{rc}, serviceOptions{schedule: []time.Duration{0, 100 * time.Millisecond}})
		ep := s.createEndpoint(`{"url": "` + rc.URL + `"}`)
		ev := s.emit(`{"type": "dex.swap", "data": {"n": 1}}`)
		ev2 := s.emit(`{"type": "dex.swap", "data": {"n": 2}}`)
		for _, id := range []string{ev.ID, ev2.ID} {
			if d := s.waitEvent(id).Deliveries; d[0].Status != "failed" || d[0].Reason != "attempts_exhausted" || len(d[0].Attempts) != 2 {
				t.Fatalf("deliveries %+v", d)
			}
		}
		down.Store(false)
		before := len(rc.Got())

		// By hand: one event again, in a workflow of its own.
		var resent struct{ Deliveries []deliveryJSON }
		if code := s.call("POST", "/v1/events/"+ev.ID+"/resend", "", &resent); code != http.StatusAccepted || len(resent.Deliveries) != 1 {
			t.Fatalf("resend: %d %+v", code, resent)
		}
		got := rc.WaitFor(t, before+1, 30*time.Second)
		if id := got[len(got)-1].Header.Get("webhook-id"); id != ev.ID {
			t.Fatalf("resent webhook-id %s, want %s", id, ev.ID)
		}
		s.waitWorkflowClosed(resent.Deliveries[0].WorkflowID)
		final := s.waitEvent(ev.ID).Deliveries
		if len(final) != 2 || final[0].Status != "failed" || final[1].Status != "succeeded" {
			t.Fatalf("after the resend: %+v", final)
		}

		// Recover: every failed delivery of the endpoint since a time; the
		// first event's failed delivery is resent again too.
		var rec struct{ Started int }
		since := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
		if code := s.call("POST", "/v1/endpoints/"+ep.ID+"/recover", `{"since": "`+since+`"}`, &rec); code != http.StatusAccepted || rec.Started != 2 {
			t.Fatalf("recover: %d %+v", code, rec)
		}
		rc.WaitFor(t, before+3, 30*time.Second)
		if d := s.waitEvent(ev2.ID).Deliveries; len(d) != 2 || d[1].Status != "succeeded" {
			t.Fatalf("after recover: %+v", d)
		}
	})
}

// waitSteer posts a retry or cancel until the delivery's own workflow runs
// (right after its first attempt it may not have started yet).
func (s *service) waitSteer(deliveryID, action string) {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code := s.call("POST", "/v1/deliveries/"+deliveryID+"/"+action, "", nil)
		if code == http.StatusAccepted {
			return
		}
		if code != http.StatusConflict || time.Now().After(deadline) {
			s.t.Fatalf("%s %s: %d", action, deliveryID, code)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestOperatorsCanRetryNowOrCancelADeliveryUnderWay(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		rc := receivertest.New(t)
		var calls atomic.Int32
		rc.Answer(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) <= 2 {
				http.Error(w, "not yet", http.StatusInternalServerError)
			}
		})
		// The second attempt is an hour away: only a retry brings it now.
		s := startService(t, kind, []*receivertest.Receiver{rc}, serviceOptions{schedule: []time.Duration{0, time.Hour, time.Hour}})
		s.createEndpoint(`{"url": "` + rc.URL + `"}`)
		ev := s.emit(`{"type": "dex.swap", "data": {"n": 1}}`)
		ev2 := s.emit(`{"type": "dex.swap", "data": {"n": 2}}`)
		rc.WaitFor(t, 2, 30*time.Second)

		d := s.pendingDelivery(ev.ID)
		s.waitSteer(d.ID, "retry")
		rc.WaitFor(t, 3, 30*time.Second)
		if got := s.waitEvent(ev.ID).Deliveries[0]; got.Status != "succeeded" || len(got.Attempts) != 2 {
			t.Fatalf("after retry now: %+v", got)
		}

		d2 := s.pendingDelivery(ev2.ID)
		s.waitSteer(d2.ID, "cancel")
		if got := s.waitEvent(ev2.ID).Deliveries[0]; got.Status != "skipped" || got.Reason != "canceled" {
			t.Fatalf("after cancel: %+v", got)
		}
		s.waitWorkflowClosed(d2.WorkflowID)
		if kind == "sqlite" {
			recordHistory(t, d.WorkflowID, "delivery_workflow_retry_signal_v3.json")
			recordHistory(t, d2.WorkflowID, "delivery_workflow_cancel_signal_v3.json")
		}
		if code := s.call("POST", "/v1/deliveries/"+d2.ID+"/retry", "", nil); code != http.StatusConflict {
			t.Fatalf("retry of an ended delivery: %d, want 409", code)
		}
	})
}

// pendingDelivery waits until the event's delivery is pending with a next
// attempt scheduled, and returns it.
func (s *service) pendingDelivery(eventID string) deliveryJSON {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var ev eventJSON
		s.call("GET", "/v1/events/"+eventID, "", &ev)
		if len(ev.Deliveries) == 1 && ev.Deliveries[0].Status == "pending" && len(ev.Deliveries[0].Attempts) == 1 && ev.Deliveries[0].Attempts[0].StatusCode != nil {
			return ev.Deliveries[0]
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("event %s has no pending delivery after an attempt: %+v", eventID, ev.Deliveries)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestGoneAndRetryAfterAreHonoured(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		gone, busy := receivertest.New(t), receivertest.New(t)
		gone.Answer(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusGone) })
		var calls atomic.Int32
		busy.Answer(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 1 {
				w.Header().Set("Retry-After", "2")
				w.WriteHeader(http.StatusServiceUnavailable)
			}
		})
		s := startService(t, kind, []*receivertest.Receiver{gone, busy}, serviceOptions{schedule: []time.Duration{0, 100 * time.Millisecond, 100 * time.Millisecond}})
		g := s.createEndpoint(`{"url": "` + gone.URL + `", "event_types": ["a"]}`)
		s.createEndpoint(`{"url": "` + busy.URL + `", "event_types": ["b"]}`)

		// 410: the delivery fails at once and the endpoint is disabled.
		ev := s.emit(`{"type": "a", "data": {}}`)
		if d := s.waitEvent(ev.ID).Deliveries[0]; d.Status != "failed" || d.Reason != "gone" || len(d.Attempts) != 1 {
			t.Fatalf("delivery to a gone endpoint: %+v", d)
		}
		var ep struct {
			Enabled        bool   `json:"enabled"`
			DisabledReason string `json:"disabled_reason"`
		}
		s.call("GET", "/v1/endpoints/"+g.ID, "", &ep)
		if ep.Enabled || ep.DisabledReason != "gone" {
			t.Fatalf("endpoint after 410: %+v", ep)
		}

		// Retry-After: 2 s moves the second attempt past its 100 ms.
		ev2 := s.emit(`{"type": "b", "data": {}}`)
		got := busy.WaitFor(t, 2, 30*time.Second)
		if gap := got[1].At.Sub(got[0].At); gap < 1900*time.Millisecond {
			t.Fatalf("the second attempt came %s after a Retry-After of 2s", gap)
		}
		if d := s.waitEvent(ev2.ID).Deliveries[0]; d.Status != "succeeded" || len(d.Attempts) != 2 {
			t.Fatalf("delivery after Retry-After: %+v", d)
		}
	})
}

func TestOperationalEventsReachTheEndpointsSubscribedToThem(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		gone, failing, watcher := receivertest.New(t), receivertest.New(t), receivertest.New(t)
		gone.Answer(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusGone) })
		failing.Answer(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
		s := startService(t, kind, []*receivertest.Receiver{gone, failing, watcher}, serviceOptions{schedule: []time.Duration{0, 100 * time.Millisecond}})
		g := s.createEndpoint(`{"url": "` + gone.URL + `", "event_types": ["a"]}`)
		s.createEndpoint(`{"url": "` + failing.URL + `", "event_types": ["b"]}`)
		s.createEndpoint(`{"url": "` + watcher.URL + `", "event_types": ["endpoint.disabled", "delivery.failed"]}`)
		s.emit(`{"type": "a", "data": {}}`)
		evB := s.emit(`{"type": "b", "data": {}}`)

		got := watcher.WaitFor(t, 2, 30*time.Second)
		types := map[string]map[string]any{}
		for _, r := range got {
			var body struct {
				Type string         `json:"type"`
				Data map[string]any `json:"data"`
			}
			if err := json.Unmarshal(r.Body, &body); err != nil {
				t.Fatal(err)
			}
			types[body.Type] = body.Data
		}
		if d := types["endpoint.disabled"]; d == nil || d["endpoint_id"] != g.ID || d["reason"] != "gone" {
			t.Fatalf("endpoint.disabled: %v", types)
		}
		if d := types["delivery.failed"]; d == nil || d["event_id"] != evB.ID || d["reason"] != "attempts_exhausted" {
			t.Fatalf("delivery.failed: %v", types)
		}
		// The gone endpoint heard one request (the 410), not the event about it.
		if n := len(gone.Got()); n != 1 {
			t.Fatalf("the gone endpoint got %d requests", n)
		}
		if code := s.call("POST", "/v1/events", `{"type": "delivery.failed", "data": {}}`, nil); code != http.StatusUnprocessableEntity {
			t.Fatalf("a client emitting delivery.failed: %d, want 422", code)
		}
	})
}

func TestSandboxSchedulesAndAutoDisableRunOnTheirSettings(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		flaky, dead, watcher := receivertest.New(t), receivertest.New(t), receivertest.New(t)
		var calls atomic.Int32
		flaky.Answer(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 1 {
				w.WriteHeader(http.StatusInternalServerError)
			}
		})
		dead.Answer(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) })
		// Live events wait an hour between attempts; sandbox ones 100 ms.
		// Endpoints failing for 250 ms are disabled.
		s := startService(t, kind, []*receivertest.Receiver{flaky, dead, watcher}, serviceOptions{
			schedule: []time.Duration{0, time.Hour},
			configure: func(c *config) {
				c.SandboxSchedule = []time.Duration{0, 100 * time.Millisecond}
				c.AutoDisableAfter = 250 * time.Millisecond
			},
		})
		s.createEndpoint(`{"url": "` + flaky.URL + `", "sandbox": true, "event_types": ["a"]}`)
		d := s.createEndpoint(`{"url": "` + dead.URL + `", "sandbox": true, "event_types": ["b"]}`)
		s.createEndpoint(`{"url": "` + watcher.URL + `", "sandbox": true, "event_types": ["endpoint.disabled"]}`)

		ev := s.emit(`{"type": "a", "data": {}, "sandbox": true}`)
		if got := s.waitEvent(ev.ID).Deliveries[0]; got.Status != "succeeded" || len(got.Attempts) != 2 {
			t.Fatalf("sandbox delivery: %+v", got)
		}

		// The dead endpoint's first failure starts its streak; a failure
		// 250 ms or more later disables it.
		for i := range 3 {
			s.emit(fmt.Sprintf(`{"type": "b", "data": {"i": %d}, "sandbox": true}`, i))
			time.Sleep(150 * time.Millisecond)
		}
		got := watcher.WaitFor(t, 1, 30*time.Second)
		var body struct {
			Type    string         `json:"type"`
			Sandbox bool           `json:"sandbox"`
			Data    map[string]any `json:"data"`
		}
		json.Unmarshal(got[0].Body, &body)
		if body.Type != "endpoint.disabled" || !body.Sandbox || body.Data["endpoint_id"] != d.ID || body.Data["reason"] != "failing" {
			t.Fatalf("watcher got %s", got[0].Body)
		}
		var ep struct {
			Enabled        bool   `json:"enabled"`
			DisabledReason string `json:"disabled_reason"`
			LastError      string `json:"last_error"`
		}
		s.call("GET", "/v1/endpoints/"+d.ID, "", &ep)
		if ep.Enabled || ep.DisabledReason != "failing" || ep.LastError == "" {
			t.Fatalf("endpoint %+v", ep)
		}
	})
}
