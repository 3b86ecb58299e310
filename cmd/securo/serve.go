package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"gorm.io/gorm"

	"github.com/securo/webhooks/activities"
	"github.com/securo/webhooks/api"
	"github.com/securo/webhooks/api/dashboard"
	"github.com/securo/webhooks/docs"
	"github.com/securo/webhooks/egress"
	"github.com/securo/webhooks/launcher"
	"github.com/securo/webhooks/models"
	"github.com/securo/webhooks/worker"
	"github.com/securo/webhooks/workflows"
)

// stack is what the API and the worker are built from.
type stack struct {
	cfg      config
	store    *models.Store
	temporal client.Client
	log      *slog.Logger
}

// openStack connects to the database (applying migrations) and builds a
// Temporal client that connects on first use, so the API can start and
// accept events while Temporal is still down.
func openStack(ctx context.Context, cfg config, log *slog.Logger) (*stack, error) {
	if cfg.SecretBox == nil {
		return nil, errNoEncryptionKey
	}
	db, err := models.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	store := models.NewStore(db, cfg.SecretBox)
	// Seal secrets written before encryption at rest or under a key being
	// rotated out; a wrong key stops the process here.
	if n, err := store.SealSecrets(ctx); err != nil {
		closeDB(db)
		return nil, fmt.Errorf("endpoint secrets (is SECURO_ENCRYPTION_KEY the key this database was written with?): %w", err)
	} else if n > 0 {
		log.Info("sealed endpoint secrets with the current encryption key", "endpoints", n)
	}
	opts := client.Options{
		HostPort:  cfg.TemporalAddress,
		Namespace: cfg.TemporalNamespace,
		Logger:    sdklog.NewStructuredLogger(slog.New(warnOnly{log.Handler()})),
	}
	if isLoopback(cfg.TemporalAddress) {
		// gzip of every request costs CPU and saves nothing on loopback.
		opts.ConnectionOptions.GrpcCompression = &client.GrpcCompressionNone{}
	}
	tc, err := client.NewLazyClient(opts)
	if err != nil {
		closeDB(db)
		return nil, fmt.Errorf("temporal client: %w", err)
	}
	return &stack{cfg: cfg, store: store, temporal: tc, log: log}, nil
}

func (s *stack) Close() {
	s.temporal.Close()
	closeDB(s.store.DB())
}

func closeDB(db *gorm.DB) {
	if err := models.Close(db); err != nil {
		slog.Default().Warn("close database", "error", err)
	}
}

func (s *stack) launcher() *launcher.Launcher {
	return launcher.New(s.temporal, s.store, launcher.Options{
		TaskQueue: s.cfg.TaskQueue, Schedule: s.cfg.Schedule, SandboxSchedule: s.cfg.SandboxSchedule,
		FastPath: s.cfg.FastPath, EagerStart: s.cfg.EagerStart,
	}, s.log)
}

// serveAPI serves the API on ln until ctx ends, then drains requests.
func (s *stack) serveAPI(ctx context.Context, ln net.Listener) error {
	dash, err := dashboard.New(dashboard.Config{TemporalUIURL: s.cfg.TemporalUIURL, TemporalNamespace: s.cfg.TemporalNamespace, Guide: docs.Guide})
	if err != nil {
		return err
	}
	handler := api.New(api.Deps{
		Store:    s.store,
		Launcher: s.launcher(),
		TemporalHealth: func(ctx context.Context) error {
			_, err := s.temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
			return err
		},
		Logger:             s.log,
		MaxEndpoints:       s.cfg.MaxEndpoints,
		LaunchInBackground: s.cfg.BackgroundLaunch,
		Guard:              s.cfg.guard(),
		RateLimit:          s.cfg.RateLimit,
		Dashboard:          dash,
	})
	srv := api.NewServer(handler)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("api: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("api shutdown: %w", err)
	}
	return nil
}

// runWorker runs the delivery worker and the sweeper until ctx ends.
func (s *stack) runWorker(ctx context.Context) error {
	roots, err := s.cfg.rootCAs()
	if err != nil {
		return err
	}
	httpClient := egress.NewClient(egress.Options{Guard: s.cfg.guard(), RootCAs: roots, Proxy: s.cfg.EgressProxy})
	w := worker.New(s.temporal, s.cfg.TaskQueue, activities.New(s.store, httpClient, version, activities.Options{
		MaxInFlightPerEndpoint: s.cfg.MaxInFlightPerEndpoint,
		AutoDisableAfter:       s.cfg.AutoDisableAfter,
		Launcher:               s.launcher(),
		WorkflowIDs:            activities.WorkflowIDs{Event: workflows.EventWorkflowID, Delivery: workflows.DeliveryWorkflowID},
	}))
	if err := w.Start(); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	defer w.Stop()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.launcher().RunSweeper(ctx, s.cfg.SweepInterval, s.cfg.SweepGrace)
	}()
	<-ctx.Done()
	wg.Wait()
	return nil
}

// runBoth runs the API and the worker until ctx ends or one fails.
func (s *stack) runBoth(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 2)
	servePprof(s.cfg.PprofAddr, s.log)
	go func() { errc <- s.serveAPI(ctx, ln) }()
	go func() { errc <- s.runWorker(ctx) }()
	first := <-errc
	cancel()
	second := <-errc
	return errors.Join(first, second)
}

func runAPICommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("securo api", flag.ContinueOnError)
	fs.SetOutput(stderr)
	httpAddr := fs.String("http-addr", "", "HTTP listen address (default $SECURO_HTTP_ADDR or 127.0.0.1:8080)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(getenv, false, "./.securo")
	if err != nil {
		return err
	}
	if *httpAddr != "" {
		cfg.HTTPAddr = *httpAddr
	}
	log := newLogger(stderr)
	s, err := openStack(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer s.Close()
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}
	fmt.Fprintf(stdout, "Securo Webhooks API listening on http://%s\n", ln.Addr())
	return s.serveAPI(ctx, ln)
}

func runWorkerCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("securo worker", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := loadConfig(getenv, false, "./.securo")
	if err != nil {
		return err
	}
	log := newLogger(stderr)
	s, err := openStack(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Fprintf(stdout, "Securo Webhooks worker on task queue %s at Temporal %s\n", cfg.TaskQueue, cfg.TemporalAddress)
	return s.runWorker(ctx)
}

// warnOnly passes on the Temporal SDK's warnings and errors, not its chatter.
type warnOnly struct{ slog.Handler }

func (h warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}

// isLoopback reports whether a host:port names this machine.
func isLoopback(hostPort string) bool {
	host, _, err := net.SplitHostPort(hostPort)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
