package main

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/securo/webhooks/activities"
	"github.com/securo/webhooks/egress"
	"github.com/securo/webhooks/models"
	"github.com/securo/webhooks/workflows"
)

// A setting is one value the commands read: from --flag, else $env, else
// its default for the command. Its flag is its variable's name without
// SECURO_, in lower case with dashes (SECURO_HTTP_ADDR: --http-addr).
type setting struct {
	env   string
	usage string
	kind  settingKind
	def   func(cmd, dataDir string) string
	apply func(c *config, v string) error
	// secret values are never printed; databaseURL ones hide a password.
	secret, databaseURL bool
	// devOnly settings shape dev's own Temporal server; notDev ones how to
	// reach a cluster, which dev does not use.
	devOnly, notDev bool
}

func (s *setting) appliesTo(cmd string) bool {
	return (cmd == cmdDev || !s.devOnly) && (cmd != cmdDev || !s.notDev)
}

type settingKind int

const (
	kindString settingKind = iota
	kindBool
)

func (s *setting) flag() string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(s.env, "SECURO_")), "_", "-")
}

func always(v string) func(cmd, dataDir string) string {
	return func(string, string) string { return v }
}

// inDev is one default in dev and another elsewhere.
func inDev(dev, other string) func(cmd, dataDir string) string {
	return func(cmd, _ string) string {
		if cmd == cmdDev {
			return dev
		}
		return other
	}
}

func text(dst func(*config) *string) func(*config, string) error {
	return func(c *config, v string) error { *dst(c) = v; return nil }
}

func boolean(dst func(*config) *bool) func(*config, string) error {
	return func(c *config, v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("want true or false, got %q", v)
		}
		*dst(c) = b
		return nil
	}
}

func positive(dst func(*config) *int) func(*config, string) error {
	return func(c *config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("want a positive number, got %q", v)
		}
		*dst(c) = n
		return nil
	}
}

// duration reads a Go duration of at least min.
func duration(dst func(*config) *time.Duration, min time.Duration) func(*config, string) error {
	return func(c *config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("want a duration such as 5s, 10m or 720h, got %q", v)
		}
		if d < min {
			return fmt.Errorf("want at least %s, got %s", min, d)
		}
		*dst(c) = d
		return nil
	}
}

func schedule(dst func(*config) *[]time.Duration) func(*config, string) error {
	return func(c *config, v string) error {
		s, err := workflows.ParseSchedule(v)
		if err != nil {
			return err
		}
		*dst(c) = s
		return nil
	}
}

// file reads the path of a file that must exist (empty: none).
func file(dst func(*config) *string) func(*config, string) error {
	return func(c *config, v string) error {
		if v != "" {
			if _, err := os.Stat(v); err != nil {
				return fmt.Errorf("cannot read %s: %w", v, err)
			}
		}
		*dst(c) = v
		return nil
	}
}

func formatSchedule(s []time.Duration) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = shortDuration(d)
	}
	return strings.Join(parts, ",")
}

// shortDuration writes 5m and 2h, not 5m0s and 2h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// settings are every setting of api, worker and dev, in the order
// `securo config` prints them.
var settings = []setting{
	{env: "SECURO_HTTP_ADDR", usage: "HTTP listen address: the API (api, dev), or /healthz, /readyz and /metrics (worker)",
		def: func(cmd, _ string) string {
			if cmd == cmdWorker {
				return "127.0.0.1:8081"
			}
			return "127.0.0.1:8080"
		}, apply: text(func(c *config) *string { return &c.HTTPAddr })},
	{env: "SECURO_DATABASE_URL", usage: "database: postgres://... or sqlite://path", databaseURL: true,
		def: func(_, dataDir string) string { return "sqlite://" + dataDir + "/securo.db" },
		apply: func(c *config, v string) error {
			if !strings.HasPrefix(v, "postgres://") && !strings.HasPrefix(v, "postgresql://") && !strings.HasPrefix(v, "sqlite://") {
				return errors.New("want postgres://... or sqlite://path")
			}
			c.DatabaseURL = v
			return nil
		}},
	{env: "TEMPORAL_ADDRESS", usage: "Temporal frontend host:port", def: always("127.0.0.1:7233"),
		apply: text(func(c *config) *string { return &c.TemporalAddress })},
	{env: "TEMPORAL_NAMESPACE", usage: "Temporal namespace", def: always("default"),
		apply: text(func(c *config) *string { return &c.TemporalNamespace })},
	{env: "SECURO_TEMPORAL_UI_URL", usage: "Temporal Web UI the Dashboard links each delivery's workflow to (empty: no links; dev: its own UI)", def: always(""),
		apply: func(c *config, v string) error {
			v = strings.TrimSuffix(v, "/")
			if v != "" {
				if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					return fmt.Errorf("want the Web UI's http(s) URL such as http://127.0.0.1:8233, got %q", v)
				}
			}
			c.TemporalUIURL = v
			return nil
		}},
	{env: "TEMPORAL_TLS_CERT", notDev: true, usage: "client certificate (PEM) for mTLS to Temporal, with TEMPORAL_TLS_KEY", def: always(""),
		apply: file(func(c *config) *string { return &c.TemporalTLSCert })},
	{env: "TEMPORAL_TLS_KEY", notDev: true, usage: "client key (PEM) for mTLS to Temporal", def: always(""),
		apply: file(func(c *config) *string { return &c.TemporalTLSKey })},
	{env: "TEMPORAL_TLS_CA", notDev: true, usage: "CA certificates (PEM) that sign Temporal's server certificate (default: system roots)", def: always(""),
		apply: func(c *config, v string) error {
			if v != "" {
				pem, err := os.ReadFile(v)
				if err != nil {
					return fmt.Errorf("cannot read %s: %w", v, err)
				}
				if !strings.Contains(string(pem), "-----BEGIN CERTIFICATE-----") {
					return fmt.Errorf("%s holds no PEM certificate", v)
				}
			}
			c.TemporalTLSCA = v
			return nil
		}},
	{env: "TEMPORAL_TLS_SERVER_NAME", notDev: true, usage: "server name to verify Temporal's certificate against (turns TLS on)", def: always(""),
		apply: text(func(c *config) *string { return &c.TemporalTLSServerName })},
	{env: "TEMPORAL_API_KEY", notDev: true, usage: "Temporal Cloud API key (turns TLS on); prefer the variable to the flag", secret: true, def: always(""),
		apply: text(func(c *config) *string { return &c.TemporalAPIKey })},
	{env: "SECURO_TASK_QUEUE", usage: "Temporal task queue", def: always("securo-webhooks"),
		apply: text(func(c *config) *string { return &c.TaskQueue })},
	{env: "SECURO_ALLOW_PRIVATE_NETWORKS", usage: "let deliveries reach private and loopback addresses", kind: kindBool, def: inDev("true", "false"),
		apply: boolean(func(c *config) *bool { return &c.AllowPrivate })},
	{env: "SECURO_ALLOW_NETWORKS", usage: "extra private ranges deliveries may reach (comma-separated CIDRs)", def: always(""),
		apply: func(c *config, v string) error {
			c.AllowNetworks = nil
			if v == "" {
				return nil
			}
			for _, s := range strings.Split(v, ",") {
				p, err := netip.ParsePrefix(strings.TrimSpace(s))
				if err != nil {
					return fmt.Errorf("%q is not a CIDR: %w", s, err)
				}
				c.AllowNetworks = append(c.AllowNetworks, p)
			}
			return nil
		}},
	{env: "SECURO_CA_FILE", usage: "extra CA certificates (PEM) for receivers", def: always(""),
		apply: func(c *config, v string) error {
			c.CAFile = v
			_, err := c.rootCAs()
			return errors.Unwrap(err)
		}},
	{env: "SECURO_RETRY_SCHEDULE", usage: "delays before each attempt", def: always(formatSchedule(workflows.DefaultSchedule)),
		apply: schedule(func(c *config) *[]time.Duration { return &c.Schedule })},
	{env: "SECURO_SANDBOX_RETRY_SCHEDULE", usage: "delays before each attempt of sandbox events", def: always(formatSchedule(workflows.DefaultSandboxSchedule)),
		apply: schedule(func(c *config) *[]time.Duration { return &c.SandboxSchedule })},
	{env: "SECURO_MAX_ENDPOINTS", usage: "endpoints per account", def: always("100"),
		apply: positive(func(c *config) *int { return &c.MaxEndpoints })},
	{env: "SECURO_SWEEP_INTERVAL", usage: "how often the sweeper looks for unstarted events", def: always("5s"),
		apply: duration(func(c *config) *time.Duration { return &c.SweepInterval }, 0)},
	{env: "SECURO_SWEEP_GRACE", usage: "how old an unstarted event must be for the sweeper to start it", def: always("5s"),
		apply: duration(func(c *config) *time.Duration { return &c.SweepGrace }, 0)},
	{env: "SECURO_AUTO_DISABLE_AFTER", usage: "how long an endpoint's attempts may all fail before it is disabled", def: always(shortDuration(activities.DefaultAutoDisableAfter)),
		apply: duration(func(c *config) *time.Duration { return &c.AutoDisableAfter }, 0)},
	{env: "SECURO_DELIVERY_FAST_PATH", usage: "first attempts in one local activity of the event's workflow", kind: kindBool, def: always("true"),
		apply: boolean(func(c *config) *bool { return &c.FastPath })},
	{env: "SECURO_EAGER_START", usage: "eager workflow start", kind: kindBool, def: always("true"),
		apply: boolean(func(c *config) *bool { return &c.EagerStart })},
	{env: "SECURO_BACKGROUND_LAUNCH", usage: "answer POST /v1/events once committed and start the workflow after", kind: kindBool, def: always("true"),
		apply: boolean(func(c *config) *bool { return &c.BackgroundLaunch })},
	{env: "SECURO_MAX_INFLIGHT_PER_ENDPOINT", usage: "attempts in flight to one endpoint, per worker process", def: always(strconv.Itoa(activities.DefaultMaxInFlightPerEndpoint)),
		apply: positive(func(c *config) *int { return &c.MaxInFlightPerEndpoint })},
	{env: "SECURO_PPROF_ADDR", usage: "serve Go's profiler on this address (off when empty)", def: always(""),
		apply: text(func(c *config) *string { return &c.PprofAddr })},
	{env: "SECURO_ENCRYPTION_KEY", usage: "key that encrypts endpoint secrets at rest (securo keygen); new,old to rotate; prefer the variable to the flag", secret: true,
		def: always(""), apply: setEncryptionKey},
	{env: "SECURO_RATE_LIMIT", usage: "API requests per account: 100/s, 6000/m, 10/h or off", def: inDev("off", "100/s"),
		apply: func(c *config, v string) error {
			l, err := parseRateLimit(v)
			c.RateLimit = l
			return err
		}},
	{env: "SECURO_EGRESS_PROXY", usage: "HTTP proxy every delivery goes through (http://host:port)", databaseURL: true, def: always(""),
		apply: func(c *config, v string) error {
			c.EgressProxy = nil
			if v == "" {
				return nil
			}
			p, err := egress.ParseProxy(v)
			c.EgressProxy = p
			return err
		}},
	{env: "SECURO_LOG_FORMAT", usage: "log format: json or text", def: inDev("text", "json"),
		apply: func(c *config, v string) error {
			if v != "json" && v != "text" {
				return fmt.Errorf("want json or text, got %q", v)
			}
			c.LogFormat = v
			return nil
		}},
	{env: "SECURO_LOG_LEVEL", usage: "log level: debug, info, warn or error", def: always("info"),
		apply: func(c *config, v string) error {
			if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil || strings.ContainsAny(v, "+-") {
				return fmt.Errorf("want debug, info, warn or error, got %q", v)
			}
			return nil
		}},
	{env: "SECURO_RETENTION", usage: "how long events, deliveries and attempts are kept before they are purged", def: always("720h"),
		apply: duration(func(c *config) *time.Duration { return &c.Retention }, time.Hour)},
	{env: "SECURO_TEMPORAL_SQLITE_TUNED", usage: "run Temporal's SQLite in WAL mode with synchronous=normal (about 3x faster; a power cut may lose the last moments, a crash loses nothing)",
		kind: kindBool, devOnly: true, def: always("true"), apply: boolean(func(c *config) *bool { return &c.TemporalSQLiteTuned })},
}

func setEncryptionKey(c *config, v string) error {
	c.SecretBox = nil
	if v == "" {
		return nil
	}
	box, err := models.ParseSecretBox(v)
	if err != nil {
		return err
	}
	c.SecretBox = box
	return nil
}

// shown is how `securo config` prints a value: secrets masked, a URL's
// password hidden.
func (s *setting) shown(v string) string {
	switch {
	case v == "":
		return ""
	case s.secret:
		return "****"
	case s.databaseURL:
		return maskURL(v)
	}
	return v
}

// maskURL hides a URL's password, in its user info or its query.
func maskURL(v string) string {
	u, err := url.Parse(v)
	if err != nil {
		return "****"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}
