package main

import (
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/securo/webhooks/activities"
	"github.com/securo/webhooks/egress"
	"github.com/securo/webhooks/workflows"
)

// config is every setting, read once from the environment and flags.
type config struct {
	security
	HTTPAddr          string
	DatabaseURL       string
	TemporalAddress   string
	TemporalNamespace string
	// TemporalUIURL is the Temporal Web UI the Dashboard links workflows
	// to; empty: no links.
	TemporalUIURL   string
	TaskQueue       string
	AllowPrivate    bool
	AllowNetworks   []netip.Prefix
	CAFile          string
	Schedule        []time.Duration
	SandboxSchedule []time.Duration
	MaxEndpoints    int
	SweepInterval   time.Duration
	SweepGrace      time.Duration
	// FastPath, EagerStart and MaxInFlightPerEndpoint shape delivery speed;
	// docs/performance.md says what each is worth.
	FastPath               bool
	EagerStart             bool
	BackgroundLaunch       bool
	AutoDisableAfter       time.Duration
	PprofAddr              string // SECURO_PPROF_ADDR: Go's profiler, off by default
	MaxInFlightPerEndpoint int
}

// loadConfig reads the environment; dev changes two defaults (private
// targets allowed, database in the data dir).
func loadConfig(getenv func(string) string, dev bool, dataDir string) (config, error) {
	c := config{
		HTTPAddr:          envOr(getenv, "SECURO_HTTP_ADDR", "127.0.0.1:8080"),
		DatabaseURL:       envOr(getenv, "SECURO_DATABASE_URL", "sqlite://"+dataDir+"/securo.db"),
		TemporalAddress:   envOr(getenv, "TEMPORAL_ADDRESS", "127.0.0.1:7233"),
		TemporalNamespace: envOr(getenv, "TEMPORAL_NAMESPACE", "default"),
		TaskQueue:         envOr(getenv, "SECURO_TASK_QUEUE", "securo-webhooks"),
		TemporalUIURL:     strings.TrimSuffix(getenv("SECURO_TEMPORAL_UI_URL"), "/"),
		CAFile:            getenv("SECURO_CA_FILE"),
		PprofAddr:         getenv("SECURO_PPROF_ADDR"),
		Schedule:          workflows.DefaultSchedule,
		SandboxSchedule:   workflows.DefaultSandboxSchedule,
		MaxEndpoints:      100,
		SweepInterval:     5 * time.Second,
		SweepGrace:        5 * time.Second,
	}
	var err error
	if c.AllowPrivate, err = envBool(getenv, "SECURO_ALLOW_PRIVATE_NETWORKS", dev); err != nil {
		return c, err
	}
	if c.FastPath, err = envBool(getenv, "SECURO_DELIVERY_FAST_PATH", true); err != nil {
		return c, err
	}
	if c.EagerStart, err = envBool(getenv, "SECURO_EAGER_START", true); err != nil {
		return c, err
	}
	if c.BackgroundLaunch, err = envBool(getenv, "SECURO_BACKGROUND_LAUNCH", true); err != nil {
		return c, err
	}
	c.MaxInFlightPerEndpoint = activities.DefaultMaxInFlightPerEndpoint
	if v := getenv("SECURO_MAX_INFLIGHT_PER_ENDPOINT"); v != "" {
		if c.MaxInFlightPerEndpoint, err = strconv.Atoi(v); err != nil || c.MaxInFlightPerEndpoint < 1 {
			return c, fmt.Errorf("SECURO_MAX_INFLIGHT_PER_ENDPOINT: want a positive number, got %q", v)
		}
	}
	if v := getenv("SECURO_ALLOW_NETWORKS"); v != "" {
		for _, s := range strings.Split(v, ",") {
			p, err := netip.ParsePrefix(strings.TrimSpace(s))
			if err != nil {
				return c, fmt.Errorf("SECURO_ALLOW_NETWORKS: %q is not a CIDR: %w", s, err)
			}
			c.AllowNetworks = append(c.AllowNetworks, p)
		}
	}
	if v := getenv("SECURO_RETRY_SCHEDULE"); v != "" {
		if c.Schedule, err = workflows.ParseSchedule(v); err != nil {
			return c, fmt.Errorf("SECURO_RETRY_SCHEDULE: %w", err)
		}
	}
	if v := getenv("SECURO_SANDBOX_RETRY_SCHEDULE"); v != "" {
		if c.SandboxSchedule, err = workflows.ParseSchedule(v); err != nil {
			return c, fmt.Errorf("SECURO_SANDBOX_RETRY_SCHEDULE: %w", err)
		}
	}
	if v := getenv("SECURO_MAX_ENDPOINTS"); v != "" {
		if c.MaxEndpoints, err = strconv.Atoi(v); err != nil || c.MaxEndpoints < 1 {
			return c, fmt.Errorf("SECURO_MAX_ENDPOINTS: want a positive number, got %q", v)
		}
	}
	c.AutoDisableAfter = activities.DefaultAutoDisableAfter
	for name, dst := range map[string]*time.Duration{"SECURO_SWEEP_INTERVAL": &c.SweepInterval, "SECURO_SWEEP_GRACE": &c.SweepGrace, "SECURO_AUTO_DISABLE_AFTER": &c.AutoDisableAfter} {
		if v := getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return c, fmt.Errorf("%s: want a duration such as 5s, got %q", name, v)
			}
			*dst = d
		}
	}
	if c.TemporalUIURL != "" {
		if u, err := url.Parse(c.TemporalUIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return c, fmt.Errorf("SECURO_TEMPORAL_UI_URL: want the Web UI's http(s) URL such as http://127.0.0.1:8233, got %q", c.TemporalUIURL)
		}
	}
	if c.security, err = loadSecurity(getenv, dev, dataDir); err != nil {
		return c, err
	}
	return c, nil
}

func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

func envBool(getenv func(string) string, name string, def bool) (bool, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return def, fmt.Errorf("%s: want true or false, got %q", name, v)
	}
	return b, nil
}

// guard is the egress guard the settings describe.
func (c config) guard() *egress.Guard {
	return &egress.Guard{AllowPrivate: c.AllowPrivate, Allow: c.AllowNetworks}
}

// rootCAs is the system roots plus SECURO_CA_FILE, or nil for the system
// roots alone.
func (c config) rootCAs() (*x509.CertPool, error) {
	if c.CAFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(c.CAFile)
	if err != nil {
		return nil, fmt.Errorf("SECURO_CA_FILE: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("SECURO_CA_FILE: %s holds no PEM certificate", c.CAFile)
	}
	return pool, nil
}

func newLogger(stderr interface{ Write([]byte) (int, error) }) *slog.Logger {
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}
