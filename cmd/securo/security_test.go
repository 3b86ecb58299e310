package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/securo/webhooks/api"
	"github.com/securo/webhooks/internal/storetest"
	"github.com/securo/webhooks/models"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestAPIAndWorkerRefuseToStartWithoutAnEncryptionKey(t *testing.T) {
	env := envOf(map[string]string{"SECURO_DATABASE_URL": storetest.URL(t, "sqlite"), "SECURO_HTTP_ADDR": "127.0.0.1:0"})
	for _, cmd := range []string{"api", "worker"} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), []string{cmd}, env, &out, &errOut)
		if !errors.Is(err, errNoEncryptionKey) || !strings.Contains(err.Error(), "securo keygen") {
			t.Errorf("securo %s without a key: %v", cmd, err)
		}
	}
}

func TestABadEncryptionKeyIsRefusedWithAHint(t *testing.T) {
	_, err := loadConfig(envOf(map[string]string{"SECURO_ENCRYPTION_KEY": "hunter2"}), false, t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "SECURO_ENCRYPTION_KEY") || !strings.Contains(err.Error(), "securo keygen") {
		t.Fatalf("loadConfig: %v", err)
	}
}

func TestTheWrongKeyStopsTheStackAtStart(t *testing.T) {
	ctx := context.Background()
	url := storetest.URL(t, "sqlite")
	s := storetest.OpenURL(t, url)
	acct, _ := storetest.Account(t, s, "acme")
	if err := s.CreateEndpoint(ctx, &models.Endpoint{AccountID: acct.ID, URL: "https://example.com", Secret: "whsec_dGVzdA=="}, 10); err != nil {
		t.Fatal(err)
	}

	var key bytes.Buffer
	if err := run(ctx, []string{"keygen"}, envOf(nil), &key, &key); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(envOf(map[string]string{"SECURO_DATABASE_URL": url, "SECURO_ENCRYPTION_KEY": strings.TrimSpace(key.String())}), false, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := openStack(ctx, cfg, newLogger(&bytes.Buffer{})); !errors.Is(err, models.ErrWrongEncryptionKey) {
		t.Fatalf("openStack with another key: %v", err)
	}
}

func TestDevMakesAnEncryptionKeyOnceAndKeepsIt(t *testing.T) {
	dir := t.TempDir()
	first, err := loadConfig(envOf(nil), true, dir)
	if err != nil || first.SecretBox == nil {
		t.Fatalf("first start: %v", err)
	}
	info, err := os.Stat(filepath.Join(dir, devKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", info.Mode().Perm())
	}
	before, _ := os.ReadFile(filepath.Join(dir, devKeyFile))
	if _, err := loadConfig(envOf(nil), true, dir); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, devKeyFile))
	if !bytes.Equal(before, after) {
		t.Error("a second start made a new key")
	}
	if _, err := models.ParseSecretBox(strings.TrimSpace(string(after))); err != nil {
		t.Errorf("the dev key does not parse: %v", err)
	}

	t.Run("SECURO_ENCRYPTION_KEY wins over the file", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := loadConfig(envOf(map[string]string{"SECURO_ENCRYPTION_KEY": storetest.EncryptionKey}), true, dir); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, devKeyFile)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("dev wrote a key file although a key was given: %v", err)
		}
	})
}

func TestRateLimitSetting(t *testing.T) {
	for v, want := range map[string]api.RateLimit{
		"":       defaultRateLimit,
		"off":    {},
		"0":      {},
		"100/s":  {Requests: 100, Per: time.Second},
		"6000/m": {Requests: 6000, Per: time.Minute},
		"10/h":   {Requests: 10, Per: time.Hour},
	} {
		cfg, err := loadConfig(envOf(map[string]string{"SECURO_RATE_LIMIT": v}), false, t.TempDir())
		if err != nil || cfg.RateLimit != want {
			t.Errorf("SECURO_RATE_LIMIT=%q: %+v, %v; want %+v", v, cfg.RateLimit, err, want)
		}
	}
	for _, v := range []string{"100", "100/d", "-1/s", "x/s", "/s", "1.5/s"} {
		if _, err := loadConfig(envOf(map[string]string{"SECURO_RATE_LIMIT": v}), false, t.TempDir()); err == nil || !strings.Contains(err.Error(), "SECURO_RATE_LIMIT") {
			t.Errorf("SECURO_RATE_LIMIT=%q: %v", v, err)
		}
	}
	if cfg, _ := loadConfig(envOf(nil), true, t.TempDir()); cfg.RateLimit != (api.RateLimit{}) {
		t.Errorf("securo dev limits by default: %+v", cfg.RateLimit)
	}
}

func TestEgressProxySetting(t *testing.T) {
	cfg, err := loadConfig(envOf(map[string]string{"SECURO_EGRESS_PROXY": "http://smokescreen.internal:4750"}), false, t.TempDir())
	if err != nil || cfg.EgressProxy == nil || cfg.EgressProxy.Host != "smokescreen.internal:4750" {
		t.Fatalf("proxy %v, %v", cfg.EgressProxy, err)
	}
	if _, err := loadConfig(envOf(map[string]string{"SECURO_EGRESS_PROXY": "smokescreen:4750"}), false, t.TempDir()); err == nil || !strings.Contains(err.Error(), "SECURO_EGRESS_PROXY") {
		t.Fatalf("a proxy without a scheme: %v", err)
	}
}

func TestTheTemporalUIURLSetting(t *testing.T) {
	cases := []struct {
		value, want string
		ok          bool
	}{
		{"", "", true},
		{"https://temporal.example.com/", "https://temporal.example.com", true},
		{"http://127.0.0.1:8233", "http://127.0.0.1:8233", true},
		{"temporal.example.com", "", false},
		{"javascript:alert(1)", "", false},
		{"ftp://temporal.example.com", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.value, func(t *testing.T) {
			cfg, err := loadConfig(envOf(map[string]string{"SECURO_TEMPORAL_UI_URL": tc.value, "SECURO_ENCRYPTION_KEY": storetest.EncryptionKey}), false, t.TempDir())
			switch {
			case tc.ok && err != nil:
				t.Fatalf("loadConfig: %v", err)
			case !tc.ok && (err == nil || !strings.Contains(err.Error(), "SECURO_TEMPORAL_UI_URL")):
				t.Fatalf("loadConfig accepted %q: %v", tc.value, err)
			case tc.ok && cfg.TemporalUIURL != tc.want:
				t.Fatalf("TemporalUIURL %q, want %q", cfg.TemporalUIURL, tc.want)
			}
		})
	}
}
