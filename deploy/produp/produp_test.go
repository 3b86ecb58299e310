package produp_test

import (
	"bufio"
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
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"

	"github.com/securo/webhooks/deploy/produp"
	"github.com/securo/webhooks/internal/receivertest"
	"github.com/securo/webhooks/internal/storetest"
)

func binDir(t *testing.T) string {
	t.Helper()
	dir, err := produp.FindBinDir(os.Getenv, produp.TemporalServerBin)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// deliveries is what the receiver answered 2xx to, by webhook-id.
type deliveries struct {
	mu    sync.Mutex
	ok    map[string]int
	total int
}

func (d *deliveries) add(id string) {
	d.mu.Lock()
	d.ok[id]++
	d.total++
	d.mu.Unlock()
}

// count is how many requests were answered 2xx.
func (d *deliveries) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.total
}

// missing are the ids not delivered yet.
func (d *deliveries) missing(ids []string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for _, id := range ids {
		if d.ok[id] == 0 {
			out = append(out, id)
		}
	}
	return out
}

// startTopology runs the production topology for the test on databases of
// its own, dropped at the end; receivers' CA is trusted and retries come
// after 1 s and then every 2 s.
func startTopology(t *testing.T, rc *receivertest.Receiver) *produp.Topology {
	t.Helper()
	b := make([]byte, 4)
	rand.Read(b)
	prefix := "securo_produp_" + hex.EncodeToString(b)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: rc.Certificate().Raw})
	if err := os.WriteFile(caFile, ca, 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Cleanup(func() {
		if err := produp.DropDatabases(context.Background(), storetest.AdminURL(), prefix); err != nil {
			t.Log(err)
		}
	})
	topo, err := produp.Start(context.Background(), produp.Options{
		BinDir: binDir(t), Dir: dir, PostgresURL: storetest.AdminURL(), DatabasePrefix: prefix,
		HistoryShards: 4, Workers: 2,
		Env: []string{
			"SECURO_ENCRYPTION_KEY=" + storetest.EncryptionKey,
			"SECURO_CA_FILE=" + caFile,
			"SECURO_ALLOW_PRIVATE_NETWORKS=true",
			"SECURO_RATE_LIMIT=off",
			"SECURO_RETRY_SCHEDULE=0s,1s,2s,2s,2s,2s,2s,2s,2s,2s",
			"SECURO_SWEEP_INTERVAL=1s",
			"SECURO_SWEEP_GRACE=2s",
		},
	})
	if err != nil {
		dumpLogs(t, dir)
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := topo.Stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			dumpLogs(t, dir)
		}
	})
	return topo
}

// dumpLogs shows the end of every program's log.
func dumpLogs(t *testing.T, dir string) {
	logs, _ := filepath.Glob(filepath.Join(dir, "*.log"))
	for _, l := range logs {
		b, _ := os.ReadFile(l)
		if len(b) > 3000 {
			b = b[len(b)-3000:]
		}
		t.Logf("--- %s:\n%s", filepath.Base(l), b)
	}
}

// apiClient calls the API with an account's key.
type apiClient struct {
	t        *testing.T
	url, key string
}

func (c apiClient) call(method, path string, body any, out any) int {
	c.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, c.url+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Errorf("%s %s: %v", method, path, err)
		return 0
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			c.t.Errorf("%s %s: %d %s: %v", method, path, resp.StatusCode, raw, err)
		}
	}
	return resp.StatusCode
}

func (c apiClient) endpoint(url, eventType string) {
	c.t.Helper()
	if code := c.call("POST", "/v1/endpoints", map[string]any{"url": url, "event_types": []string{eventType}}, nil); code != http.StatusCreated {
		c.t.Fatalf("create endpoint %s: %d", url, code)
	}
}

func (c apiClient) emit(eventType string, n int) string {
	var ev struct{ ID string }
	if code := c.call("POST", "/v1/events", map[string]any{"type": eventType, "data": map[string]int{"n": n}}, &ev); code != http.StatusAccepted {
		c.t.Errorf("emit %s: %d", eventType, code)
	}
	return ev.ID
}

// waitStatus waits until each event has one delivery and it is in status
// want.
func (c apiClient) waitStatus(ids []string, want string, timeout time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for _, id := range ids {
		for {
			var ev struct {
				Deliveries []struct{ Status string }
			}
			c.call("GET", "/v1/events/"+id, nil, &ev)
			if len(ev.Deliveries) == 1 && ev.Deliveries[0].Status == want {
				break
			}
			if time.Now().After(deadline) {
				c.t.Fatalf("event %s: deliveries %+v after %s, want one %s", id, ev.Deliveries, timeout, want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// burst emits n events from 8 clients and, alongside, calls during once
// when is true; it returns the events' ids once both are done.
func (c apiClient) burst(eventType string, n int, when func() bool, during func()) []string {
	var (
		mu   sync.Mutex
		ids  []string
		next atomic.Int64
		wg   sync.WaitGroup
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				id := c.emit(eventType, int(i))
				mu.Lock()
				ids = append(ids, id)
				mu.Unlock()
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for !when() {
			time.Sleep(10 * time.Millisecond)
		}
		during()
	}()
	wg.Wait()
	return ids
}

// TestProductionTopologyLosesNothing runs the production topology (Temporal
// server on PostgreSQL, the API, two workers) and drives it through the API
// while a worker is killed, a worker is restarted with SIGTERM, the Temporal
// server is killed and started again with retries pending, and the API is
// stopped with a request in flight: every event ends delivered, and the only
// duplicates the receiver sees are the same event again, with its webhook-id.
func TestProductionTopologyLosesNothing(t *testing.T) {
	rc := receivertest.New(t)
	got := &deliveries{ok: map[string]int{}}
	var temporalBack atomic.Bool
	var inFlight sync.Map // webhook-id -> struct{}, while the receiver answers
	inFlightIDs := func() []string {
		var ids []string
		inFlight.Range(func(k, _ any) bool { ids = append(ids, k.(string)); return true })
		return ids
	}
	rc.Answer(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/retry") && !temporalBack.Load() {
			http.Error(w, "not yet", http.StatusInternalServerError)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/burst") {
			// A slow receiver keeps deliveries running when a worker stops.
			inFlight.Store(r.Header.Get("webhook-id"), struct{}{})
			defer inFlight.Delete(r.Header.Get("webhook-id"))
			time.Sleep(100 * time.Millisecond)
		}
		got.add(r.Header.Get("webhook-id"))
		w.Write([]byte("ok"))
	})
	topo := startTopology(t, rc)
	ctx := context.Background()
	key, err := topo.CreateAccount(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	api := apiClient{t: t, url: topo.APIURL, key: key}
	api.endpoint(rc.URL+"/burst", "burst")
	api.endpoint(rc.URL+"/retry", "retry")
	var all []string

	// A worker dies mid-burst (SIGKILL, as an OOM kill would) and comes back.
	// Each burst's worker stops once a third of its events arrived.
	midway := func(n int) func() bool {
		base := got.count()
		return func() bool { return got.count() >= base+n/3 }
	}
	killed := api.burst("burst", 150, midway(150), func() {
		t.Logf("SIGKILL to worker-2 with %d deliveries in flight", len(inFlightIDs()))
		if err := topo.Workers[1].Kill(); err != nil {
			t.Error(err)
		}
	})
	if err := topo.StartWorker(ctx, 1); err != nil {
		t.Fatal(err)
	}

	all = append(all, killed...)

	// A rolling restart: SIGTERM mid-burst; the worker lets what it runs
	// finish, exits 0 and starts again.
	var exitCode int
	var atSIGTERM []string
	restarted := api.burst("burst", 150, midway(150), func() {
		atSIGTERM = inFlightIDs()
		if err := topo.Workers[0].Signal(syscall.SIGTERM); err != nil {
			t.Error(err)
			return
		}
		waitCtx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		code, err := topo.Workers[0].Wait(waitCtx)
		if err != nil {
			t.Error(err)
		}
		exitCode = code
	})
	if exitCode != 0 {
		t.Errorf("securo worker exited with %d after SIGTERM, want 0", exitCode)
	}
	if err := topo.StartWorker(ctx, 0); err != nil {
		t.Fatal(err)
	}
	all = append(all, restarted...)

	// Retries pending while the Temporal server is killed and started again.
	var retried []string
	for i := range 20 {
		retried = append(retried, api.emit("retry", i))
	}
	all = append(all, retried...)
	waitFirstAttempts(t, rc, retried)
	if err := topo.Temporal.Kill(); err != nil {
		t.Fatal(err)
	}
	api.waitStatus(retried, "pending", 10*time.Second) // with Temporal down, from our database
	if err := topo.StartTemporal(ctx); err != nil {
		t.Fatal(err)
	}
	temporalBack.Store(true)

	// SIGTERM to the API with a request in flight: it stops accepting,
	// answers that request, exits 0; the event is delivered.
	all = append(all, inFlightThroughShutdown(t, topo, key))
	if err := topo.StartAPI(ctx); err != nil {
		t.Fatal(err)
	}

	deadline := time.Now().Add(90 * time.Second)
	for missing := got.missing(all); len(missing) > 0; missing = got.missing(all) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events never delivered, e.g. %v", len(missing), len(all), missing[:min(5, len(missing))])
		}
		time.Sleep(100 * time.Millisecond)
	}
	perID := checkDuplicates(t, rc, all)
	again := 0
	for _, id := range atSIGTERM {
		if perID[id] > 1 {
			again++
		}
	}
	// The worker's stop timeout lets what it runs finish: nothing in flight
	// at SIGTERM is cut short and made again.
	t.Logf("SIGTERM to worker-1 with %d deliveries in flight: %d of them were made again", len(atSIGTERM), again)
	if again > 0 {
		t.Errorf("%d of the %d deliveries in flight when worker-1 got SIGTERM were made again: the stop cut them short", again, len(atSIGTERM))
	}
	// The delivery is recorded once the receiver's answer is back.
	api.waitStatus(all, "succeeded", 30*time.Second)
	for _, p := range topo.Processes() {
		if !p.Running() {
			t.Errorf("%s exited (%s)", p.Name, p.ExitState())
		}
	}
}

// waitFirstAttempts waits until every event in ids reached the receiver.
func waitFirstAttempts(t *testing.T, rc *receivertest.Receiver, ids []string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		seen := map[string]bool{}
		for _, r := range rc.Got() {
			seen[r.Header.Get("webhook-id")] = true
		}
		n := 0
		for _, id := range ids {
			if seen[id] {
				n++
			}
		}
		if n == len(ids) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events reached the receiver in 30s", n, len(ids))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkDuplicates checks every request the receiver got is one of the events,
// with its own id in both the webhook-id and the body, and returns how many
// requests each event got.
func checkDuplicates(t *testing.T, rc *receivertest.Receiver, ids []string) map[string]int {
	t.Helper()
	ours := map[string]bool{}
	for _, id := range ids {
		ours[id] = true
	}
	perID := map[string]int{}
	for _, r := range rc.Got() {
		id := r.Header.Get("webhook-id")
		var body struct{ ID string }
		if err := json.Unmarshal(r.Body, &body); err != nil || body.ID != id || !ours[id] {
			t.Errorf("request with webhook-id %q and body %s: not one of our events", id, r.Body)
		}
		perID[id]++
	}
	dups := 0
	for _, n := range perID {
		dups += n - 1
	}
	t.Logf("%d events, %d requests (%d repeated with the same webhook-id, retries of /retry included)", len(ids), len(rc.Got()), dups)
	return perID
}

// inFlightThroughShutdown sends POST /v1/events in two halves with SIGTERM to
// the API between them, and returns the event's id.
func inFlightThroughShutdown(t *testing.T, topo *produp.Topology, key string) string {
	t.Helper()
	addr := strings.TrimPrefix(topo.APIURL, "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"type": "burst", "data": {"in_flight": true}}`
	fmt.Fprintf(conn, "POST /v1/events HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		addr, key, len(body), body[:10])
	time.Sleep(200 * time.Millisecond) // the server reads the headers: the request is in flight
	if err := topo.API.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for { // it stops accepting new connections
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			break
		}
		c.Close()
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := io.WriteString(conn, body[10:]); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the request in flight got no answer after SIGTERM: %v", err)
	}
	defer resp.Body.Close()
	var ev struct {
		ID         string
		WorkflowID string `json:"workflow_id"`
	}
	raw, _ := io.ReadAll(resp.Body)
	json.Unmarshal(raw, &ev)
	if resp.StatusCode != http.StatusAccepted || ev.ID == "" {
		t.Fatalf("the request in flight got %d %s, want 202 with the event", resp.StatusCode, raw)
	}
	waitCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if code, err := topo.API.Wait(waitCtx); err != nil || code != 0 {
		t.Errorf("securo api after SIGTERM: exit code %d, %v; want 0", code, err)
	}
	// The answer came before the workflow's start (SECURO_BACKGROUND_LAUNCH);
	// the API finished that start before exiting, not the sweeper seconds later.
	tc, err := client.Dial(client.Options{HostPort: topo.TemporalAddress, Namespace: produp.Namespace,
		Logger: sdklog.NewStructuredLogger(slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	if _, err := tc.DescribeWorkflowExecution(waitCtx, ev.WorkflowID, ""); err != nil {
		t.Errorf("workflow %s of the event accepted during shutdown, once the API exited: %v", ev.WorkflowID, err)
	}
	return ev.ID
}
