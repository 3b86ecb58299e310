package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"time"

	"github.com/securo/webhooks/egress"
)

// config is every setting, read once from flags and the environment.
type config struct {
	security
	temporalConn
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
	// LogFormat is json or text; LogLevel debug, info, warn or error.
	LogFormat string
	LogLevel  slog.Level
	// Retention is how long events, deliveries and attempts are kept.
	Retention time.Duration
	// TemporalSQLiteTuned runs the dev server's SQLite in WAL mode (dev only).
	TemporalSQLiteTuned bool

	// resolved is every setting's raw value and where it came from, for
	// `securo config`.
	resolved []resolved
}

// temporalConn is how the client reaches a Temporal cluster beyond its
// address: mTLS files, a CA, a server name, or an API key (Temporal Cloud).
type temporalConn struct {
	TemporalTLSCert       string
	TemporalTLSKey        string
	TemporalTLSCA         string
	TemporalTLSServerName string
	TemporalAPIKey        string
}

// The commands whose settings differ.
const (
	cmdAPI    = "api"
	cmdWorker = "worker"
	cmdDev    = "dev"
)

// Where a setting's value came from.
const (
	fromDefault = "default"
	fromEnv     = "env"
	fromFlag    = "flag"
)

type resolved struct {
	setting *setting
	value   string
	source  string
}

// loadConfig reads the environment as command api reads it, or dev when
// dev is set (private targets allowed, database in the data dir).
func loadConfig(getenv func(string) string, dev bool, dataDir string) (config, error) {
	cmd := cmdAPI
	if dev {
		cmd = cmdDev
	}
	return resolveConfig(getenv, nil, cmd, dataDir, true)
}

// resolveConfig reads every setting of cmd: a flag in flags wins over the
// environment, which wins over the default. Every bad value is reported,
// each naming its flag or variable. makeDevKey lets dev make its encryption
// key file on first start; `securo config` only looks.
func resolveConfig(getenv func(string) string, flags map[string]string, cmd, dataDir string, makeDevKey bool) (config, error) {
	var c config
	var errs []error
	for i := range settings {
		s := &settings[i]
		if !s.appliesTo(cmd) {
			continue
		}
		r := resolved{setting: s, value: s.def(cmd, dataDir), source: fromDefault}
		if v := getenv(s.env); v != "" {
			r.value, r.source = v, fromEnv
		}
		if v, ok := flags[s.env]; ok {
			r.value, r.source = v, fromFlag
		}
		if err := s.apply(&c, r.value); err != nil {
			name := s.env
			if r.source == fromFlag {
				name = "--" + s.flag()
			}
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		c.resolved = append(c.resolved, r)
	}
	if err := c.check(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return c, errors.Join(errs...)
	}
	if c.SecretBox == nil && cmd == cmdDev && makeDevKey {
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return c, fmt.Errorf("create data dir: %w", err)
		}
		key, err := devEncryptionKey(dataDir)
		if err != nil {
			return c, err
		}
		if err := setEncryptionKey(&c, key); err != nil {
			return c, fmt.Errorf("%s/%s: %w", dataDir, devKeyFile, err)
		}
	}
	return c, nil
}

// override sets a setting's shown value and source when a command decides
// it (dev's Temporal address).
func (c *config) override(env, value, source string) {
	for i := range c.resolved {
		if c.resolved[i].setting.env == env {
			c.resolved[i].value, c.resolved[i].source = value, source
		}
	}
}

// check validates settings that depend on each other.
func (c *config) check() error {
	if (c.TemporalTLSCert == "") != (c.TemporalTLSKey == "") {
		return errors.New("TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY: give both (mTLS) or neither")
	}
	if c.TemporalTLSCert != "" {
		if _, err := tls.LoadX509KeyPair(c.TemporalTLSCert, c.TemporalTLSKey); err != nil {
			return fmt.Errorf("TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY: %w", err)
		}
	}
	return nil
}

// temporalTLS is the TLS configuration of the Temporal connection, nil for
// plain text (the API key alone turns TLS on in the SDK).
func (c config) temporalTLS() (*tls.Config, error) {
	if c.TemporalTLSCert == "" && c.TemporalTLSCA == "" && c.TemporalTLSServerName == "" {
		return nil, nil
	}
	t := &tls.Config{ServerName: c.TemporalTLSServerName, MinVersion: tls.VersionTLS12}
	if c.TemporalTLSCert != "" {
		pair, err := tls.LoadX509KeyPair(c.TemporalTLSCert, c.TemporalTLSKey)
		if err != nil {
			return nil, fmt.Errorf("TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY: %w", err)
		}
		t.Certificates = []tls.Certificate{pair}
	}
	if c.TemporalTLSCA != "" {
		pool, err := readCAs(c.TemporalTLSCA, x509.NewCertPool())
		if err != nil {
			return nil, fmt.Errorf("TEMPORAL_TLS_CA: %w", err)
		}
		t.RootCAs = pool
	}
	return t, nil
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
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	pool, err = readCAs(c.CAFile, pool)
	if err != nil {
		return nil, fmt.Errorf("SECURO_CA_FILE: %w", err)
	}
	return pool, nil
}

// readCAs adds the PEM certificates in path to pool.
func readCAs(path string, pool *x509.CertPool) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}

// logger writes the settings' log format at their level.
func (c config) logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func newLogger(stderr io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// settingFlags adds a flag for every setting of cmd to fs; after fs.Parse,
// the returned function gives the flags that were set, by variable name.
func settingFlags(fs *flag.FlagSet, cmd, dataDir string) func() map[string]string {
	byFlag := map[string]*setting{}
	for i := range settings {
		s := &settings[i]
		if !s.appliesTo(cmd) {
			continue
		}
		byFlag[s.flag()] = s
		usage := s.usage + " ($" + s.env
		if def := s.def(cmd, dataDir); def != "" && !s.secret {
			usage += "; default " + def
		}
		fs.Var(&flagValue{isBool: s.kind == kindBool}, s.flag(), usage+")")
	}
	return func() map[string]string {
		set := map[string]string{}
		fs.Visit(func(f *flag.Flag) {
			if s, ok := byFlag[f.Name]; ok {
				set[s.env] = f.Value.String()
			}
		})
		return set
	}
}

// flagValue holds a setting's flag as given; the setting parses it.
type flagValue struct {
	v      string
	isBool bool
}

func (f *flagValue) String() string     { return f.v }
func (f *flagValue) Set(v string) error { f.v = v; return nil }
func (f *flagValue) IsBoolFlag() bool   { return f.isBool }

// commandConfig parses a serving command's flags (after extra adds its
// own) and reads its settings; makeDevKey as for resolveConfig.
func commandConfig(name, cmd string, args []string, getenv func(string) string, stderr io.Writer, extra func(fs *flag.FlagSet) (dataDir func() string), makeDevKey bool) (config, error) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := func() string { return defaultDataDir }
	if extra != nil {
		dataDir = extra(fs)
	}
	set := settingFlags(fs, cmd, defaultDataDir)
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("%s: unexpected argument %q", name, fs.Arg(0))
	}
	return resolveConfig(getenv, set(), cmd, dataDir(), makeDevKey)
}

// defaultDataDir is where dev keeps its data, and the default database's
// directory for every command.
const defaultDataDir = "./.securo"
