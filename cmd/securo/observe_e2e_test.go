package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securo/webhooks/internal/metricstest"
	"github.com/securo/webhooks/internal/receivertest"
	"github.com/securo/webhooks/internal/storetest"
	"github.com/securo/webhooks/internal/temporaltest"
)

// httpGet fetches url and returns its status and body.
func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestTheAPIAndTheWorkerEachServeMetricsHealthAndLogsOfRealDeliveries(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		ok, flaky := receivertest.New(t), receivertest.New(t)
		var calls atomic.Int32
		flaky.Answer(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 1 {
				http.Error(w, "try later", http.StatusInternalServerError)
			}
		})
		s := startService(t, kind, []*receivertest.Receiver{ok, flaky}, serviceOptions{})
		okEP := s.createEndpoint(`{"url": "` + ok.URL + `", "event_types": ["dex.*"]}`)
		s.createEndpoint(`{"url": "` + flaky.URL + `", "event_types": ["payment.*"]}`)
		swap := s.emit(`{"type": "dex.swap", "data": ` + swapData + `}`)
		pay := s.emit(`{"type": "payment.confirmed", "data": {"amount": "10.00"}}`)
		for _, id := range []string{swap.ID, pay.ID} {
			if d := s.waitEvent(id).Deliveries[0]; d.Status != "succeeded" {
				t.Fatalf("delivery %+v", d)
			}
		}

		metricstest.Want(t, metricstest.Get(t, s.apiURL+"/metrics"),
			`securo_events_accepted_total{event_type="dex.swap"} 1`,
			`securo_events_accepted_total{event_type="payment.confirmed"} 1`,
		)
		workerMetrics := metricstest.Get(t, s.workerURL+"/metrics")
		metricstest.Want(t, workerMetrics,
			`securo_attempts_total{class="2xx"} 2`,
			`securo_attempts_total{class="5xx"} 1`,
			`securo_attempt_duration_seconds_count{class="2xx"} 2`,
			`securo_deliveries_total{reason="",status="succeeded"} 2`,
			`securo_first_attempt_delay_seconds_count 2`,
			`securo_deliveries_in_flight 0`,
		)
		// The Temporal SDK's own worker metrics, through our adapter.
		for _, name := range []string{"temporal_workflow_completed{", "temporal_request{", "temporal_activity_execution_latency_seconds_count{"} {
			if !strings.Contains(workerMetrics, "\n"+name) {
				t.Errorf("worker /metrics lacks the SDK's %s...}", name)
			}
		}
		for path, want := range map[string]string{"/healthz": `{"status":"ok"}`, "/readyz": `{"status":"ready"}`} {
			if code, body := httpGet(t, s.workerURL+path); code != 200 || body != want {
				t.Errorf("worker %s: %d %s", path, code, body)
			}
		}

		// One log line per attempt, with ids and outcome, and no secret or
		// payload.
		deadline := time.Now().Add(10 * time.Second)
		for strings.Count(s.log.String(), `"msg":"delivery attempt"`) < 3 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		logs := s.log.String()
		if n := strings.Count(logs, `"msg":"delivery attempt"`); n != 3 {
			t.Errorf("%d attempt lines, want 3:\n%s", n, logs)
		}
		for _, want := range []string{`"event_id":"` + swap.ID + `"`, `"endpoint_id":"` + okEP.ID + `"`, `"status_code":500`, `"outcome":"http_status"`} {
			if !strings.Contains(logs, want) {
				t.Errorf("the log lacks %s:\n%s", want, logs)
			}
		}
		for _, secret := range []string{okEP.Secret, strings.TrimPrefix(okEP.Secret, "whsec_"), `"amount_in"`, "10.00", ok.Got()[0].Header.Get("webhook-signature")} {
			if strings.Contains(logs, secret) {
				t.Errorf("the log holds %q", secret)
			}
		}
	})
}

func TestSecuroWorkerServesHealthReadinessAndMetricsOnItsOwnAddress(t *testing.T) {
	temporal := temporaltest.Shared(t)
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	env := envOf(map[string]string{
		"SECURO_DATABASE_URL":   storetest.URL(t, "sqlite"),
		"SECURO_ENCRYPTION_KEY": storetest.EncryptionKey,
		"TEMPORAL_ADDRESS":      temporal.HostPort,
		"SECURO_TASK_QUEUE":     "worker-command-" + strconv.FormatInt(time.Now().UnixNano(), 36),
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"worker", "--http-addr", addr}, env, &stdout, &stderr) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		select {
		case err := <-done:
			t.Fatalf("securo worker exited: %v\n%s", err, stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("securo worker does not answer on %s:\n%s", addr, stderr.String())
		}
	}
	for path, want := range map[string]string{"/healthz": `{"status":"ok"}`, "/readyz": `{"status":"ready"}`} {
		if code, body := httpGet(t, "http://"+addr+path); code != 200 || body != want {
			t.Errorf("%s: %d %s", path, code, body)
		}
	}
	text := metricstest.Get(t, "http://"+addr+"/metrics")
	metricstest.Want(t, text, "securo_deliveries_in_flight 0")
	if !strings.Contains(text, "\ntemporal_") {
		t.Error("the worker's /metrics has none of the Temporal SDK's metrics")
	}
	if !strings.Contains(stdout.String(), "health and metrics on http://"+addr) {
		t.Errorf("the banner does not say where: %s", stdout.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("securo worker stopped with %v", err)
	}
	// Production logs are JSON, one object a line.
	logs := strings.TrimSpace(stderr.String())
	if !strings.Contains(logs, `"msg":"worker started"`) {
		t.Errorf("no worker started line in %s", logs)
	}
	for _, l := range strings.Split(logs, "\n") {
		var line map[string]any
		if err := json.Unmarshal([]byte(l), &line); err != nil {
			t.Errorf("a log line that is not JSON: %s", l)
		}
	}
}
