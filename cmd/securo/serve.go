package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"gorm.io/gorm"

	"github.com/securo/webhooks/activities"
	"github.com/securo/webhooks/api"
	"github.com/securo/webhooks/api/dashboard"
	"github.com/securo/webhooks/docs"
	"github.com/securo/webhooks/egress"
	"github.com/securo/webhooks/launcher"
	"github.com/securo/webhooks/metrics"
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
	// registry holds this process's metrics, served at /metrics.
	registry *prometheus.Registry
	metrics  *metrics.Metrics
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
	reg := prometheus.NewRegistry()
	opts, err := temporalOptions(cfg, log, reg)
	if err != nil {
		closeDB(db)
		return nil, err
	}
	tc, err := client.NewLazyClient(opts)
	if err != nil {
		closeDB(db)
		return nil, fmt.Errorf("temporal client: %w", err)
	}
	return &stack{cfg: cfg, store: store, temporal: tc, log: log, registry: reg, metrics: metrics.New(reg)}, nil
}

// temporalOptions are the Temporal client's options: address, namespace,
// TLS or an API key (Temporal Cloud), and the SDK's metrics into reg.
func temporalOptions(cfg config, log *slog.Logger, reg *prometheus.Registry) (client.Options, error) {
	opts := client.Options{
		HostPort:       cfg.TemporalAddress,
		Namespace:      cfg.TemporalNamespace,
		Logger:         sdklog.NewStructuredLogger(slog.New(warnOnly{log.Handler()})),
		MetricsHandler: metrics.NewTemporalHandler(reg),
	}
	if isLoopback(cfg.TemporalAddress) {
		// gzip of every request costs CPU and saves nothing on loopback.
		opts.ConnectionOptions.GrpcCompression = &client.GrpcCompressionNone{}
	}
	tlsConfig, err := cfg.temporalTLS()
	if err != nil {
		return opts, err
	}
	opts.ConnectionOptions.TLS = tlsConfig
	if cfg.TemporalAPIKey != "" {
		// The SDK turns TLS on with an API key when TLS is not configured.
		opts.Credentials = client.NewAPIKeyStaticCredentials(cfg.TemporalAPIKey)
	}
	return opts, nil
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

// serveAPI serves the API on ln until ctx ends, then drains requests and
// the workflow starts they left under way (the sweeper starts any a crash
// cuts short).
func (s *stack) serveAPI(ctx context.Context, ln net.Listener) error {
	var launches sync.WaitGroup
	dash, err := dashboard.New(dashboard.Config{TemporalUIURL: s.cfg.TemporalUIURL, TemporalNamespace: s.cfg.TemporalNamespace, Guide: docs.Guide})
	if err != nil {
		return err
	}
	handler := api.New(api.Deps{
		BackgroundLaunches: &launches,
		Store:              s.store,
		Launcher:           s.launcher(),
		TemporalHealth:     s.temporalHealth,
		Logger:             s.log,
		MaxEndpoints:       s.cfg.MaxEndpoints,
		LaunchInBackground: s.cfg.BackgroundLaunch,
		Guard:              s.cfg.guard(),
		RateLimit:          s.cfg.RateLimit,
		Migrations:         s.store.CheckMigrations,
		Metrics:            s.metrics,
		MetricsHandler:     metrics.Handler(s.registry),
		Dashboard:          dash,
	})
	return serveHTTP(ctx, ln, handler, "api", func(shutdownCtx context.Context) {
		launched := make(chan struct{})
		go func() { launches.Wait(); close(launched) }()
		select {
		case <-launched:
		case <-shutdownCtx.Done():
			s.log.Warn("shutdown: workflow starts still under way are left to the sweeper")
		}
	})
}

// temporalHealth checks that Temporal answers.
func (s *stack) temporalHealth(ctx context.Context) error {
	_, err := s.temporal.CheckHealth(ctx, &client.CheckHealthRequest{})
	return err
}

// serveOps serves the worker's /healthz, /readyz and /metrics on ln until
// ctx ends.
func (s *stack) serveOps(ctx context.Context, ln net.Listener) error {
	return serveHTTP(ctx, ln, api.NewOps(api.Ops{
		DB: s.store, TemporalHealth: s.temporalHealth, Migrations: s.store.CheckMigrations,
		Metrics: metrics.Handler(s.registry), Logger: s.log,
	}), "worker http", nil)
}

// serveHTTP serves handler on ln until ctx ends, then drains requests and,
// if given, waits for drain within the same deadline.
func serveHTTP(ctx context.Context, ln net.Listener, handler http.Handler, what string, drain func(context.Context)) error {
	srv := api.NewServer(handler)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("%s: %w", what, err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("%s shutdown: %w", what, err)
	}
	if drain != nil {
		drain(shutdownCtx)
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
		Metrics:                s.metrics,
		Logger:                 s.log,
	}))
	if err := w.Start(); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	s.log.Info("worker started", "task_queue", s.cfg.TaskQueue, "temporal", s.cfg.TemporalAddress, "namespace", s.cfg.TemporalNamespace)
	defer w.Stop()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		s.launcher().RunSweeper(ctx, s.cfg.SweepInterval, s.cfg.SweepGrace)
	}()
	go func() {
		defer wg.Done()
		s.keepRetentionSchedule(ctx, 30*time.Second)
	}()
	<-ctx.Done()
	wg.Wait()
	return nil
}

// runBoth runs the API and the worker until ctx ends or one fails.
func (s *stack) runBoth(ctx context.Context, ln net.Listener) error {
	servePprof(s.cfg.PprofAddr, s.log)
	return runTogether(ctx, func(ctx context.Context) error { return s.serveAPI(ctx, ln) }, s.runWorker)
}

// openCommand reads the settings of command cmd, opens the stack and
// listens on its HTTP address; listenHint is added to a failure to listen.
func openCommand(ctx context.Context, name, cmd string, args []string, getenv func(string) string, stderr io.Writer, listenHint string) (*stack, net.Listener, error) {
	cfg, err := commandConfig(name, cmd, args, getenv, stderr, nil, true)
	if err != nil {
		return nil, nil, err
	}
	s, err := openStack(ctx, cfg, cfg.logger(stderr))
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		s.Close()
		return nil, nil, fmt.Errorf("listen on %s%s: %w", cfg.HTTPAddr, listenHint, err)
	}
	return s, ln, nil
}

func runAPICommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	s, ln, err := openCommand(ctx, "securo api", cmdAPI, args, getenv, stderr, "")
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Fprintf(stdout, "Securo Webhooks API listening on http://%s\n", ln.Addr())
	return s.serveAPI(ctx, ln)
}

// runWorkerCommand runs the worker, and serves its /healthz, /readyz and
// /metrics on SECURO_HTTP_ADDR.
func runWorkerCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	s, ln, err := openCommand(ctx, "securo worker", cmdWorker, args, getenv, stderr, " (each worker on a machine needs its own --http-addr)")
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Fprintf(stdout, "Securo Webhooks worker on task queue %s at Temporal %s; health and metrics on http://%s\n", s.cfg.TaskQueue, s.cfg.TemporalAddress, ln.Addr())
	return runTogether(ctx, func(ctx context.Context) error { return s.serveOps(ctx, ln) }, s.runWorker)
}

// runTogether runs every f until ctx ends or one of them returns, then
// stops the others and waits for them.
func runTogether(ctx context.Context, fs ...func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, len(fs))
	for _, f := range fs {
		go func() { errc <- f(ctx) }()
	}
	errs := []error{<-errc}
	cancel()
	for range len(fs) - 1 {
		errs = append(errs, <-errc)
	}
	return errors.Join(errs...)
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
