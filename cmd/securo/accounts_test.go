package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// securo runs one command against env and returns its stdout.
func securo(t *testing.T, env func(string) string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), args, env, &out, &errOut)
	return out.String(), err
}

func TestAccountsKeysListCreateAndRevoke(t *testing.T) {
	env := envOf(map[string]string{"SECURO_DATABASE_URL": "sqlite://" + filepath.Join(t.TempDir(), "securo.db")})
	if _, err := securo(t, env, "accounts", "create", "--name", "acme"); err != nil {
		t.Fatal(err)
	}
	if _, err := securo(t, env, "accounts", "create", "--name", "other"); err != nil {
		t.Fatal(err)
	}

	out, err := securo(t, env, "accounts", "keys", "create", "--account", "acme", "--name", "ci", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var created keyJSON
	if err := json.Unmarshal([]byte(out), &created); err != nil || !strings.HasPrefix(created.APIKey, "sk_") || created.Name != "ci" {
		t.Fatalf("keys create printed %s: %v", out, err)
	}

	out, err = securo(t, env, "accounts", "keys", "list", "--account", "acme")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, created.ID) || !strings.Contains(out, created.Prefix+"...") || strings.Contains(out, created.APIKey) {
		t.Errorf("keys list:\n%s", out)
	}

	if _, err := securo(t, env, "accounts", "keys", "revoke", "--account", "other", "--id", created.ID); err == nil || !strings.Contains(err.Error(), "has no key") {
		t.Errorf("another account revoked acme's key: %v", err)
	}
	if _, err := securo(t, env, "accounts", "keys", "revoke", "--account", "acme", "--id", created.ID); err != nil {
		t.Fatal(err)
	}
	out, _ = securo(t, env, "accounts", "keys", "list", "--account", "acme", "--json")
	var keys []keyJSON
	if err := json.Unmarshal([]byte(out), &keys); err != nil || len(keys) != 2 || keys[0].RevokedAt == nil || keys[1].RevokedAt != nil {
		t.Fatalf("keys list --json after revoke: %s %v", out, err)
	}
	if _, err := securo(t, env, "accounts", "keys", "revoke", "--account", "acme", "--id", keys[1].ID); err == nil || !strings.Contains(err.Error(), "last live key") {
		t.Errorf("revoking the last key: %v", err)
	}

	for _, args := range [][]string{
		{"accounts", "keys", "list"},
		{"accounts", "keys", "list", "--account", "nobody"},
		{"accounts", "keys", "revoke", "--account", "acme"},
		{"accounts", "keys", "rotate", "--account", "acme"},
		{"accounts", "keys"},
	} {
		if _, err := securo(t, env, args...); err == nil {
			t.Errorf("securo %s succeeded", strings.Join(args, " "))
		}
	}
}
