package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securo/webhooks/internal/metricstest"
	"github.com/securo/webhooks/internal/receivertest"
	"github.com/securo/webhooks/internal/temporaltest"
)

// syncBuffer is a bytes.Buffer safe for the writer and the test at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var keyLine = regexp.MustCompile(`API key:\s+(\S+)`)

// startDev runs `securo dev` as `make run` does and returns its API key, the
// API URL and a function that presses Ctrl-C and waits for the exit.
func startDev(t *testing.T, dataDir string, env map[string]string, ports [3]int) (key, apiURL string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	args := []string{"dev", "--data-dir", dataDir,
		"--http-addr", "127.0.0.1:" + strconv.Itoa(ports[0]),
		"--temporal-port", strconv.Itoa(ports[1]),
		"--ui-port", strconv.Itoa(ports[2]),
		"--temporal-bin", temporaltest.Binary(t)}
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, func(k string) string { return env[k] }, &stdout, &stderr) }()
	deadline := time.Now().Add(90 * time.Second)
	for keyLine.FindStringSubmatch(stdout.String()) == nil {
		select {
		case err := <-done:
			cancel()
			t.Fatalf("securo dev exited: %v\n%s\n%s", err, stdout.String(), stderr.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("securo dev did not start:\n%s\n%s", stdout.String(), stderr.String())
		}
	}
	out := stdout.String()
	for _, want := range []string{"http://127.0.0.1:" + strconv.Itoa(ports[0]), "http://127.0.0.1:" + strconv.Itoa(ports[2]),
		"Dashboard:    http://127.0.0.1:" + strconv.Itoa(ports[0]) + "/dashboard"} {
		if !strings.Contains(out, want) {
			t.Errorf("banner does not show %s:\n%s", want, out)
		}
	}
	stopped := false
	stop = func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(60 * time.Second):
			t.Fatal("securo dev did not stop within 60s of Ctrl-C")
			return nil
		}
	}
	t.Cleanup(func() { stop() })
	return keyLine.FindStringSubmatch(out)[1], "http://127.0.0.1:" + strconv.Itoa(ports[0]), stop
}

func TestDevRunsEverythingAndOneCtrlCStopsIt(t *testing.T) {
	rc := receivertest.New(t)
	dataDir := filepath.Join(t.TempDir(), ".securo")
	env := map[string]string{"SECURO_CA_FILE": writeCAFile(t, []*receivertest.Receiver{rc})}
	ports := [3]int{freePort(t), freePort(t), freePort(t)}

	key, apiURL, stop := startDev(t, dataDir, env, ports)
	s := &service{t: t, apiURL: apiURL, key: key}
	if resp, err := http.Get(apiURL + "/readyz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("readyz: %v %v", resp, err)
	}
	if resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(ports[2])); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("Temporal Web UI: %v %v", resp, err)
	}
	// The Dashboard links workflows to the dev server's Web UI.
	var dash struct {
		TemporalUIURL string `json:"temporal_ui_url"`
	}
	if code := s.call("GET", "/dashboard/config.json", "", &dash); code != http.StatusOK || dash.TemporalUIURL != "http://127.0.0.1:"+strconv.Itoa(ports[2]) {
		t.Fatalf("dashboard config: %d %+v", code, dash)
	}
	// Loopback receivers are allowed in dev.
	s.createEndpoint(`{"url": "` + rc.URL + `"}`)
	ev := s.emit(`{"type": "dex.swap", "data": {"n": 1}}`)
	rc.WaitFor(t, 1, 30*time.Second)
	s.waitEvent(ev.ID)
	// The API and the worker count into one registry, served on the API's address.
	metricstest.Want(t, metricstest.Get(t, apiURL+"/metrics"),
		`securo_events_accepted_total{event_type="dex.swap"} 1`,
		`securo_attempts_total{class="2xx"} 1`,
	)

	info, err := os.Stat(filepath.Join(dataDir, "dev-api-key"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", info, err)
	}
	for _, f := range []string{"securo.db", "temporal.db"} {
		if _, err := os.Stat(filepath.Join(dataDir, f)); err != nil {
			t.Errorf("data dir lacks %s: %v", f, err)
		}
	}
	if err := stop(); err != nil {
		t.Fatalf("securo dev exited with %v", err)
	}
	// Everything is down: API and Temporal ports are free again.
	for _, p := range ports {
		if _, err := http.Get("http://127.0.0.1:" + strconv.Itoa(p)); err == nil {
			t.Errorf("port %d still answers after Ctrl-C", p)
		}
	}

	// A restart keeps the data, the key and Temporal's history.
	key2, _, stop2 := startDev(t, dataDir, env, ports)
	if key2 != key {
		t.Fatalf("key changed across restarts: %s then %s", key, key2)
	}
	var got eventJSON
	if code := s.call("GET", "/v1/events/"+ev.ID, "", &got); code != http.StatusOK || got.Deliveries[0].Status != "succeeded" {
		t.Fatalf("event after restart: %d %+v", code, got)
	}
	s.waitWorkflowClosedAt(ports[1], ev.WorkflowID)
	if err := stop2(); err != nil {
		t.Fatal(err)
	}
}

func TestAccountsCreatePrintsAKeyThatWorks(t *testing.T) {
	db := "sqlite://" + filepath.Join(t.TempDir(), "securo.db")
	env := func(k string) string {
		if k == "SECURO_DATABASE_URL" {
			return db
		}
		return ""
	}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"accounts", "create", "--name", "acme", "--json"}, env, &out, &errOut); err != nil {
		t.Fatalf("%v: %s", err, errOut.String())
	}
	var got struct {
		Account struct{ ID, Name string }
		APIKey  string `json:"api_key"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil || got.Account.Name != "acme" || !strings.HasPrefix(got.Account.ID, "acct_") || got.APIKey == "" {
		t.Fatalf("output %s: %v", out.String(), err)
	}
	if err := run(context.Background(), []string{"accounts", "create", "--name", "acme"}, env, &out, &errOut); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("a second acme: %v", err)
	}
	if err := run(context.Background(), []string{"accounts", "create"}, env, &out, &errOut); err == nil {
		t.Fatal("no --name accepted")
	}
}
