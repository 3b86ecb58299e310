// Package temporaltest starts a real Temporal dev server for a test, from the
// CLI that `make` builds into bin/temporal; nothing is downloaded.
package temporaltest

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
)

// Binary finds the Temporal CLI: $SECURO_TEMPORAL_BIN, else bin/temporal in
// the nearest directory above the working directory that has one.
func Binary(t testing.TB) string {
	t.Helper()
	if p := os.Getenv("SECURO_TEMPORAL_BIN"); p != "" {
		return p
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		p := filepath.Join(dir, "bin", "temporal")
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no bin/temporal: run the tests with `make test`, which builds it, or set SECURO_TEMPORAL_BIN")
		}
		dir = parent
	}
}

// Server is a running dev server.
type Server struct {
	HostPort string
	Client   client.Client
}

var shared struct {
	sync.Mutex
	srv  *testsuite.DevServer
	info *Server
}

// Shared returns one dev server for the whole test binary, started on first
// use; call StopShared from TestMain after the tests ran. Tests that share it
// use task queues of their own.
func Shared(t testing.TB) *Server {
	t.Helper()
	shared.Lock()
	defer shared.Unlock()
	if shared.info != nil {
		return shared.info
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := testsuite.StartDevServer(ctx, testsuite.DevServerOptions{
		ExistingPath:  Binary(t),
		ClientOptions: &client.Options{Namespace: "default", Logger: log.NewStructuredLogger(slog.New(slog.DiscardHandler))},
		LogLevel:      "error",
		Stdout:        io.Discard,
		Stderr:        io.Discard,
	})
	if err != nil {
		t.Fatalf("start Temporal dev server: %v", err)
	}
	shared.srv = srv
	shared.info = &Server{HostPort: srv.FrontendHostPort(), Client: srv.Client()}
	return shared.info
}

// StopShared stops the shared dev server, if one was started.
func StopShared() {
	shared.Lock()
	defer shared.Unlock()
	if shared.srv != nil {
		shared.srv.Stop()
		shared.srv, shared.info = nil, nil
	}
}
