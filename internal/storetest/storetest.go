// Package storetest opens fresh databases for tests: an SQLite file in the
// test's temp dir, or a PostgreSQL database of its own on the local server,
// so parallel test runs never collide.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"

	"net/url"
	"os"
	"path/filepath"
	"testing"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/securo/webhooks/models"
)

// Kinds are the databases every store-backed test runs on.
var Kinds = []string{"sqlite", "postgres"}

// AdminURL is the PostgreSQL server tests create their databases on.
func AdminURL() string {
	if u := os.Getenv("SECURO_TEST_POSTGRES_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// URL returns the URL of a new, empty database of kind, dropped when the
// test ends.
func URL(t testing.TB, kind string) string {
	t.Helper()
	switch kind {
	case "sqlite":
		return "sqlite://" + filepath.Join(t.TempDir(), "securo.db")
	case "postgres":
		b := make([]byte, 6)
		rand.Read(b)
		name := "securo_test_" + hex.EncodeToString(b)
		admin, err := gorm.Open(postgres.Open(AdminURL()), &gorm.Config{Logger: logger.Discard})
		if err != nil {
			t.Fatalf("connect to PostgreSQL at %s (start it, or set SECURO_TEST_POSTGRES_URL): %v", AdminURL(), err)
		}
		if err := admin.Exec("CREATE DATABASE " + name).Error; err != nil {
			t.Fatalf("create database %s on %s: %v", name, AdminURL(), err)
		}
		closeDB(admin)
		t.Cleanup(func() {
			admin, err := gorm.Open(postgres.Open(AdminURL()), &gorm.Config{Logger: logger.Discard})
			if err != nil {
				t.Logf("drop database %s: %v", name, err)
				return
			}
			defer closeDB(admin)
			if err := admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)").Error; err != nil {
				t.Logf("drop database %s: %v", name, err)
			}
		})
		u, err := url.Parse(AdminURL())
		if err != nil {
			t.Fatal(err)
		}
		u.Path = "/" + name
		return u.String()
	default:
		t.Fatalf("unknown database kind %q", kind)
		return ""
	}
}

// Open returns a migrated store on a new database of kind.
func Open(t testing.TB, kind string) *models.Store {
	t.Helper()
	return OpenURL(t, URL(t, kind))
}

// OpenURL returns a migrated store on the database at url, closed when the
// test ends.
func OpenURL(t testing.TB, url string) *models.Store {
	t.Helper()
	db, err := models.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("open store %s: %v", url, err)
	}
	t.Cleanup(func() { closeDB(db) })
	return models.NewStore(db, Box(t))
}

// EncryptionKey is the SECURO_ENCRYPTION_KEY of tests.
const EncryptionKey = "c2VjdXJvLXRlc3RzLW9ubHktMzItYnl0ZXMta2V5ISE="

// Box is the SecretBox of EncryptionKey.
func Box(t testing.TB) *models.SecretBox {
	t.Helper()
	box, err := models.ParseSecretBox(EncryptionKey)
	if err != nil {
		t.Fatal(err)
	}
	return box
}

// Account creates an account named name and returns it with its API key.
func Account(t testing.TB, s *models.Store, name string) (models.Account, string) {
	t.Helper()
	acct, key, err := s.CreateAccount(context.Background(), name)
	if err != nil {
		t.Fatalf("create account %s: %v", name, err)
	}
	return acct, key
}

func closeDB(db *gorm.DB) {
	if sqlDB, err := db.DB(); err == nil {
		sqlDB.Close()
	}
}

// ForEachKind runs f as a subtest on every database kind.
func ForEachKind(t *testing.T, f func(t *testing.T, kind string)) {
	for _, kind := range Kinds {
		t.Run(kind, func(t *testing.T) { f(t, kind) })
	}
}
