package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/securo/webhooks/internal/storetest"
)

func TestEachBadSettingIsRefusedWithAMessageNamingIt(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	tests := []struct {
		env, value string
		says       string
	}{
		{"SECURO_DATABASE_URL", "mysql://db", "want postgres://... or sqlite://path"},
		{"TEMPORAL_TLS_CERT", filepath.Join(dir, "missing.pem"), "cannot read"},
		{"TEMPORAL_TLS_CA", notPEM, "holds no PEM certificate"},
		{"SECURO_ALLOW_PRIVATE_NETWORKS", "yes please", `want true or false, got "yes please"`},
		{"SECURO_ALLOW_NETWORKS", "10.0.0.0/8,nonsense", `"nonsense" is not a CIDR`},
		{"SECURO_CA_FILE", notPEM, "holds no PEM certificate"},
		{"SECURO_RETRY_SCHEDULE", "0s,soon", "retry schedule"},
		{"SECURO_SANDBOX_RETRY_SCHEDULE", "-1s", "negative delay"},
		{"SECURO_MAX_ENDPOINTS", "0", `want a positive number, got "0"`},
		{"SECURO_SWEEP_INTERVAL", "5", "want a duration such as 5s"},
		{"SECURO_SWEEP_GRACE", "-5s", "want a duration"},
		{"SECURO_AUTO_DISABLE_AFTER", "5 days", "want a duration"},
		{"SECURO_DELIVERY_FAST_PATH", "2", "want true or false"},
		{"SECURO_EAGER_START", "on", "want true or false"},
		{"SECURO_BACKGROUND_LAUNCH", "nope", "want true or false"},
		{"SECURO_MAX_INFLIGHT_PER_ENDPOINT", "many", "want a positive number"},
		{"SECURO_ENCRYPTION_KEY", "hunter2", "securo keygen"},
		{"SECURO_RATE_LIMIT", "100/d", "want requests per second"},
		{"SECURO_EGRESS_PROXY", "smokescreen:4750", ""},
		{"SECURO_LOG_FORMAT", "xml", `want json or text, got "xml"`},
		{"SECURO_LOG_LEVEL", "loud", `want debug, info, warn or error, got "loud"`},
		{"SECURO_LOG_LEVEL", "info+2", "want debug, info, warn or error"},
		{"SECURO_RETENTION", "10m", "want at least 1h0m0s, got 10m0s"},
		{"SECURO_RETENTION", "forever", "want a duration"},
	}
	for _, tt := range tests {
		t.Run(tt.env+"="+tt.value, func(t *testing.T) {
			_, err := resolveConfig(envOf(map[string]string{tt.env: tt.value}), nil, cmdAPI, t.TempDir(), false)
			if err == nil || !strings.HasPrefix(err.Error(), tt.env+": ") || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("got %v, want %q naming %s", err, tt.says, tt.env)
			}
			// As a flag, the message names the flag.
			s := settingNamed(t, tt.env)
			_, err = resolveConfig(envOf(nil), map[string]string{tt.env: tt.value}, cmdAPI, t.TempDir(), false)
			if err == nil || !strings.HasPrefix(err.Error(), "--"+s.flag()+": ") {
				t.Fatalf("as --%s: %v", s.flag(), err)
			}
		})
	}
}

func settingNamed(t *testing.T, env string) *setting {
	for i := range settings {
		if settings[i].env == env {
			return &settings[i]
		}
	}
	t.Fatalf("no setting %s", env)
	return nil
}

func TestEveryBadValueIsReportedAtOnce(t *testing.T) {
	_, err := resolveConfig(envOf(map[string]string{"SECURO_MAX_ENDPOINTS": "x", "SECURO_LOG_FORMAT": "xml"}), nil, cmdAPI, t.TempDir(), false)
	if err == nil || !strings.Contains(err.Error(), "SECURO_MAX_ENDPOINTS") || !strings.Contains(err.Error(), "SECURO_LOG_FORMAT") {
		t.Fatalf("got %v, want both named", err)
	}
}

func TestMTLSWantsACertificateAndItsKey(t *testing.T) {
	cert, key := writeKeyPair(t)
	tests := []struct {
		name string
		env  map[string]string
		says string
	}{
		{"a certificate without its key", map[string]string{"TEMPORAL_TLS_CERT": cert}, "give both (mTLS) or neither"},
		{"a key without its certificate", map[string]string{"TEMPORAL_TLS_KEY": key}, "give both (mTLS) or neither"},
		{"a key that is not the certificate's", map[string]string{"TEMPORAL_TLS_CERT": cert, "TEMPORAL_TLS_KEY": cert}, "TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := resolveConfig(envOf(tt.env), nil, cmdWorker, t.TempDir(), false); err == nil || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("got %v, want %q", err, tt.says)
			}
		})
	}
	cfg, err := resolveConfig(envOf(map[string]string{"TEMPORAL_TLS_CERT": cert, "TEMPORAL_TLS_KEY": key, "TEMPORAL_TLS_CA": cert,
		"TEMPORAL_TLS_SERVER_NAME": "ns.tmprl.cloud", "TEMPORAL_API_KEY": "k"}), nil, cmdWorker, t.TempDir(), false)
	if err != nil {
		t.Fatal(err)
	}
	opts, err := temporalOptions(cfg, newLogger(&bytes.Buffer{}), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	tlsConfig := opts.ConnectionOptions.TLS
	if tlsConfig == nil || len(tlsConfig.Certificates) != 1 || tlsConfig.RootCAs == nil || tlsConfig.ServerName != "ns.tmprl.cloud" || opts.Credentials == nil {
		t.Fatalf("client options: TLS %+v, credentials %v", tlsConfig, opts.Credentials)
	}
}

// writeKeyPair writes a self-signed certificate and its key as PEM files.
func writeKeyPair(t *testing.T) (certPath, keyPath string) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "securo-worker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certPath, keyPath = filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key")
	os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)
	return certPath, keyPath
}

func TestFlagsWinOverTheEnvironmentWhichWinsOverDefaults(t *testing.T) {
	env := envOf(map[string]string{"SECURO_HTTP_ADDR": "127.0.0.1:9000", "SECURO_MAX_ENDPOINTS": "7",
		"SECURO_ALLOW_PRIVATE_NETWORKS": "true", "SECURO_RETENTION": "48h"})
	tests := []struct {
		name  string
		args  []string
		check func(config) bool
		from  map[string]string
	}{
		{"the environment over the defaults", nil,
			func(c config) bool {
				return c.HTTPAddr == "127.0.0.1:9000" && c.MaxEndpoints == 7 && c.AllowPrivate && c.Retention == 48*time.Hour && c.TaskQueue == "securo-webhooks"
			},
			map[string]string{"SECURO_HTTP_ADDR": fromEnv, "SECURO_TASK_QUEUE": fromDefault}},
		{"flags over the environment", []string{"--http-addr", "127.0.0.1:9100", "--max-endpoints=3", "--allow-private-networks=false", "--retention", "2h"},
			func(c config) bool {
				return c.HTTPAddr == "127.0.0.1:9100" && c.MaxEndpoints == 3 && !c.AllowPrivate && c.Retention == 2*time.Hour
			},
			map[string]string{"SECURO_HTTP_ADDR": fromFlag, "SECURO_MAX_ENDPOINTS": fromFlag, "SECURO_LOG_FORMAT": fromDefault}},
		{"a bool flag alone is true", []string{"--eager-start", "--task-queue", "q"},
			func(c config) bool { return c.EagerStart && c.TaskQueue == "q" },
			map[string]string{"SECURO_EAGER_START": fromFlag}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := commandConfig("securo worker", cmdWorker, tt.args, env, &bytes.Buffer{}, nil, false)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(cfg) {
				t.Errorf("config %+v", cfg)
			}
			for _, r := range cfg.resolved {
				if want, ok := tt.from[r.setting.env]; ok && r.source != want {
					t.Errorf("%s from %s, want %s", r.setting.env, r.source, want)
				}
			}
		})
	}
}

func TestEachCommandHasItsDefaults(t *testing.T) {
	tests := []struct {
		cmd, addr, logFormat string
		allowPrivate         bool
	}{
		{cmdAPI, "127.0.0.1:8080", "json", false},
		{cmdWorker, "127.0.0.1:8081", "json", false},
		{cmdDev, "127.0.0.1:8080", "text", true},
	}
	for _, tt := range tests {
		t.Run(tt.cmd, func(t *testing.T) {
			cfg, err := resolveConfig(envOf(nil), nil, tt.cmd, t.TempDir(), false)
			if err != nil || cfg.HTTPAddr != tt.addr || cfg.LogFormat != tt.logFormat || cfg.AllowPrivate != tt.allowPrivate ||
				cfg.Retention != 720*time.Hour || cfg.LogLevel != slog.LevelInfo {
				t.Errorf("%+v, %v", cfg, err)
			}
		})
	}
	t.Run("dev runs its own Temporal and ignores how to reach a cluster", func(t *testing.T) {
		cfg, err := resolveConfig(envOf(map[string]string{"TEMPORAL_API_KEY": "k", "TEMPORAL_TLS_SERVER_NAME": "x"}), nil, cmdDev, t.TempDir(), false)
		if err != nil || cfg.temporalConn != (temporalConn{}) {
			t.Fatalf("%+v, %v", cfg.temporalConn, err)
		}
	})
	t.Run("SECURO_LOG_FORMAT and SECURO_LOG_LEVEL override them", func(t *testing.T) {
		cfg, err := resolveConfig(envOf(map[string]string{"SECURO_LOG_FORMAT": "json", "SECURO_LOG_LEVEL": "debug"}), nil, cmdDev, t.TempDir(), false)
		if err != nil || cfg.LogFormat != "json" || cfg.LogLevel != slog.LevelDebug {
			t.Fatalf("%s %s, %v", cfg.LogFormat, cfg.LogLevel, err)
		}
		var buf bytes.Buffer
		cfg.logger(&buf).Debug("hello", "n", 1)
		if buf.String() == "" || buf.String()[0] != '{' {
			t.Errorf("logged %q, want a JSON line", buf.String())
		}
	})
}

func TestSecuroConfigPrintsEverySettingWithSecretsMasked(t *testing.T) {
	password, apiKey := "s3cr3t-pw", "tmprl-api-key-value"
	env := envOf(map[string]string{
		"SECURO_DATABASE_URL":   "postgres://securo:" + password + "@db:5432/securo?sslmode=disable",
		"SECURO_ENCRYPTION_KEY": storetest.EncryptionKey,
		"TEMPORAL_API_KEY":      apiKey,
		"SECURO_EGRESS_PROXY":   "http://user:" + password + "@proxy:3128",
	})
	var out bytes.Buffer
	if err := run(context.Background(), []string{"config", "worker", "--temporal-namespace", "acme.a1b2c"}, env, &out, &out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, secret := range []string{password, apiKey, storetest.EncryptionKey} {
		if strings.Contains(text, secret) {
			t.Errorf("securo config shows a secret %q:\n%s", secret, text)
		}
	}
	for _, line := range [][]string{
		{"SECURO_DATABASE_URL", "postgres://securo:xxxxx@db:5432/securo?sslmode=disable", "env"},
		{"SECURO_ENCRYPTION_KEY", "****", "env"},
		{"TEMPORAL_API_KEY", "****", "env"},
		{"SECURO_EGRESS_PROXY", "http://user:xxxxx@proxy:3128", "env"},
		{"TEMPORAL_NAMESPACE", "acme.a1b2c", "flag"},
		{"SECURO_HTTP_ADDR", "127.0.0.1:8081", "default"},
		{"SECURO_RETENTION", "720h", "default"},
	} {
		if !containsLine(text, line) {
			t.Errorf("no line %v in:\n%s", line, text)
		}
	}
	if n := strings.Count(text, "\n"); n != len(settings) { // a header, every setting but dev's own
		t.Errorf("%d lines, want %d", n, len(settings))
	}
}

// containsLine reports whether a line of text holds exactly these fields,
// the first and the last where they stand.
func containsLine(text string, fields []string) bool {
	for _, l := range strings.Split(text, "\n") {
		f := strings.Fields(l)
		if len(f) == 4 && f[0] == fields[0] && f[2] == fields[1] && f[3] == fields[2] {
			return true
		}
	}
	return false
}

func TestMaskURL(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:pw@h:5432/db":                   "postgres://u:xxxxx@h:5432/db",
		"postgres://u@h/db?password=pw&sslmode=false": "postgres://u@h/db?password=xxxxx&sslmode=false",
		"postgres://h/db":                             "postgres://h/db",
		"sqlite://./.securo/securo.db":                "sqlite://./.securo/securo.db",
	} {
		if got := maskURL(in); got != want {
			t.Errorf("maskURL(%q) = %q, want %q", in, got, want)
		}
	}
}
