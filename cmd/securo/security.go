package main

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/securo/webhooks/api"
	"github.com/securo/webhooks/models"
)

// security is the settings that make the service safe to expose; see
// docs/security.md.
type security struct {
	// SecretBox seals endpoint secrets; nil when SECURO_ENCRYPTION_KEY is
	// unset outside dev, and then the API and the worker refuse to start.
	SecretBox *models.SecretBox
	// EgressProxy, when set, carries every delivery.
	EgressProxy *url.URL
	// RateLimit caps each account's API requests (per API process).
	RateLimit api.RateLimit
}

// defaultRateLimit is SECURO_RATE_LIMIT outside dev.
var defaultRateLimit = api.RateLimit{Requests: 100, Per: time.Second}

// devKeyFile is where `securo dev` keeps the key it made.
const devKeyFile = "encryption-key"

// errNoEncryptionKey says how to fix the one setting production must give.
var errNoEncryptionKey = errors.New("SECURO_ENCRYPTION_KEY is not set: endpoint signing secrets are encrypted at rest with it. " +
	"Make one with `securo keygen` (or `openssl rand -base64 32`), keep it in your secret store, and give the same key to every api and worker process")

// parseRateLimit reads "100/s", "6000/m", "10/h" or "off".
func parseRateLimit(v string) (api.RateLimit, error) {
	if v == "off" || v == "0" {
		return api.RateLimit{}, nil
	}
	n, unit, ok := strings.Cut(v, "/")
	requests, err := strconv.Atoi(n)
	per, known := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}[unit]
	if !ok || err != nil || requests < 1 || !known {
		return api.RateLimit{}, fmt.Errorf("want requests per second, minute or hour such as 100/s, 6000/m or 10/h, or off; got %q", v)
	}
	return api.RateLimit{Requests: requests, Per: per}, nil
}

// devEncryptionKey reads the dev key from the data dir, making it (mode
// 0600) on first start.
func devEncryptionKey(dataDir string) (string, error) {
	path := filepath.Join(dataDir, devKeyFile)
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	key, err := models.NewEncryptionKey()
	if err != nil {
		return "", err
	}
	// O_EXCL: two dev processes starting on one data dir never use two keys.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return devEncryptionKey(dataDir)
	}
	if err != nil {
		return "", fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := fmt.Fprintln(f, key); err != nil {
		f.Close()
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return key, f.Close()
}

// runKeygen prints a fresh SECURO_ENCRYPTION_KEY.
func runKeygen(stdout io.Writer) error {
	key, err := models.NewEncryptionKey()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, key)
	return err
}
