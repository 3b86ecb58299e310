package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/securo/webhooks/models"
)

func TestEncryptionKeyIsMadeOnceAndTheEnvironmentWins(t *testing.T) {
	dir := t.TempDir()
	none := func(string) string { return "" }
	first, err := encryptionKey(none, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := models.ParseSecretBox(first); err != nil {
		t.Fatalf("made key %q: %v", first, err)
	}
	info, err := os.Stat(filepath.Join(dir, "encryption-key"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v; want 0600", err, info.Mode())
	}
	again, err := encryptionKey(none, dir)
	if err != nil || again != first {
		t.Fatalf("second start got %q, %v; want the kept key %q", again, err, first)
	}
	fromEnv := func(k string) string {
		if k == "SECURO_ENCRYPTION_KEY" {
			return "from-env"
		}
		return ""
	}
	if k, err := encryptionKey(fromEnv, dir); err != nil || k != "from-env" {
		t.Fatalf("with SECURO_ENCRYPTION_KEY set: %q, %v", k, err)
	}
}

func TestBadOptionsStopBeforeAnythingStarts(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--db-prefix", "Bad-Prefix"}, "database prefix"},
		{[]string{"--bin", "/nonexistent"}, "make prod-up"},
		{[]string{"--postgres", "http://example.com"}, "want postgres://"},
		{[]string{"--shards", "x"}, "invalid value"},
	} {
		dir := t.TempDir()
		err := run(context.Background(), append(tc.args, "--dir", dir), func(string) string { return "" }, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("securo-prod-up %v: %v, want an error about %q", tc.args, err, tc.want)
		}
	}
}
