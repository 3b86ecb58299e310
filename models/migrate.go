package models

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
)

// A migration is applied once, in order, and never edited after it ships:
// a schema change is a new migration at the end of the list.
type migration struct {
	version    int
	name       string
	statements []string
}

// Types differ between the two databases; statements name them as
// {{timestamp}}, {{bool}} and {{bigint}}.
var dialectTypes = map[string]*strings.Replacer{
	"postgres": strings.NewReplacer("{{timestamp}}", "timestamptz", "{{bool}}", "boolean", "{{bigint}}", "bigint"),
	"sqlite":   strings.NewReplacer("{{timestamp}}", "datetime", "{{bool}}", "boolean", "{{bigint}}", "integer"),
}

var migrations = []migration{
	{version: 1, name: "accounts, endpoints, events, deliveries, attempts", statements: []string{
		`CREATE TABLE accounts (
			id text PRIMARY KEY,
			name text NOT NULL UNIQUE,
			created_at {{timestamp}} NOT NULL
		)`,
		`CREATE TABLE api_keys (
			id text PRIMARY KEY,
			account_id text NOT NULL REFERENCES accounts(id),
			prefix text NOT NULL,
			hash text NOT NULL UNIQUE,
			created_at {{timestamp}} NOT NULL,
			revoked_at {{timestamp}}
		)`,
		`CREATE INDEX api_keys_account ON api_keys (account_id)`,
		`CREATE TABLE endpoints (
			id text PRIMARY KEY,
			account_id text NOT NULL REFERENCES accounts(id),
			url text NOT NULL,
			description text NOT NULL DEFAULT '',
			event_types text NOT NULL DEFAULT '[]',
			sandbox {{bool}} NOT NULL,
			enabled {{bool}} NOT NULL,
			secret text NOT NULL,
			created_at {{timestamp}} NOT NULL,
			updated_at {{timestamp}} NOT NULL,
			deleted_at {{timestamp}}
		)`,
		`CREATE INDEX endpoints_account_created ON endpoints (account_id, created_at, id)`,
		`CREATE TABLE events (
			id text PRIMARY KEY,
			account_id text NOT NULL REFERENCES accounts(id),
			type text NOT NULL,
			data text NOT NULL,
			sandbox {{bool}} NOT NULL,
			workflow_id text NOT NULL,
			workflow_started_at {{timestamp}},
			created_at {{timestamp}} NOT NULL
		)`,
		`CREATE INDEX events_account_created ON events (account_id, created_at, id)`,
		`CREATE INDEX events_unstarted ON events (workflow_started_at, created_at)`,
		`CREATE TABLE idempotency_keys (
			account_id text NOT NULL REFERENCES accounts(id),
			key text NOT NULL,
			event_id text NOT NULL REFERENCES events(id),
			request_hash text NOT NULL,
			created_at {{timestamp}} NOT NULL,
			PRIMARY KEY (account_id, key)
		)`,
		`CREATE TABLE deliveries (
			id text PRIMARY KEY,
			account_id text NOT NULL REFERENCES accounts(id),
			event_id text NOT NULL REFERENCES events(id),
			endpoint_id text NOT NULL REFERENCES endpoints(id),
			status text NOT NULL,
			reason text NOT NULL DEFAULT '',
			workflow_id text NOT NULL,
			next_attempt_at {{timestamp}},
			created_at {{timestamp}} NOT NULL,
			updated_at {{timestamp}} NOT NULL
		)`,
		`CREATE INDEX deliveries_event ON deliveries (event_id)`,
		`CREATE INDEX deliveries_endpoint_created ON deliveries (endpoint_id, created_at, id)`,
		`CREATE TABLE attempts (
			id text PRIMARY KEY,
			delivery_id text NOT NULL REFERENCES deliveries(id),
			number integer NOT NULL,
			started_at {{timestamp}} NOT NULL,
			duration_ms {{bigint}},
			status_code integer,
			error text NOT NULL DEFAULT '',
			error_detail text NOT NULL DEFAULT '',
			response_body text NOT NULL DEFAULT '',
			UNIQUE (delivery_id, number)
		)`,
	}},
	{version: 2, name: "api key names; keys found by prefix", statements: []string{
		`ALTER TABLE api_keys ADD COLUMN name text NOT NULL DEFAULT ''`,
		`CREATE INDEX api_keys_prefix ON api_keys (prefix)`,
	}},
	{version: 3, name: "why and when an endpoint was disabled", statements: []string{
		`ALTER TABLE endpoints ADD COLUMN disabled_reason text NOT NULL DEFAULT ''`,
		`ALTER TABLE endpoints ADD COLUMN disabled_at {{timestamp}}`,
		`CREATE INDEX deliveries_endpoint_status ON deliveries (endpoint_id, status)`,
	}},
	{version: 4, name: "endpoint secret rotation: the previous secret, sealed, and when it stops signing", statements: []string{
		`ALTER TABLE endpoints ADD COLUMN previous_secret text NOT NULL DEFAULT ''`,
		`ALTER TABLE endpoints ADD COLUMN previous_secret_expires_at {{timestamp}}`,
	}},
	{version: 5, name: "since when an endpoint's attempts have all failed, and the last error", statements: []string{
		`ALTER TABLE endpoints ADD COLUMN failing_since {{timestamp}}`,
		`ALTER TABLE endpoints ADD COLUMN last_error text NOT NULL DEFAULT ''`,
	}},
	{version: 6, name: "retention purges the oldest rows first", statements: []string{
		`CREATE INDEX deliveries_updated ON deliveries (updated_at)`,
		`CREATE INDEX events_created ON events (created_at)`,
		`CREATE INDEX idempotency_keys_event ON idempotency_keys (event_id)`,
	}},
}

// migrationLockKey is the PostgreSQL advisory lock that serialises
// migrations of processes starting together ("securo" in ASCII).
const migrationLockKey = 0x7365637572

// Migrate applies the migrations db lacks, in one transaction under a lock,
// so two processes starting at once apply each migration exactly once.
func Migrate(ctx context.Context, db *gorm.DB) error {
	dialect := db.Dialector.Name()
	types, ok := dialectTypes[dialect]
	if !ok {
		return fmt.Errorf("migrate: unsupported database %q", dialect)
	}
	err := db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// On SQLite the immediate transaction already holds the write lock.
		if dialect == "postgres" {
			if err := tx.Exec("SELECT pg_advisory_xact_lock(?)", migrationLockKey).Error; err != nil {
				return fmt.Errorf("take migration lock: %w", err)
			}
		}
		if err := tx.Exec(types.Replace(`CREATE TABLE IF NOT EXISTS schema_migrations (
			version integer PRIMARY KEY,
			name text NOT NULL,
			applied_at {{timestamp}} NOT NULL
		)`)).Error; err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		var applied []int
		if err := tx.Raw("SELECT version FROM schema_migrations").Scan(&applied).Error; err != nil {
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		done := make(map[int]bool, len(applied))
		for _, v := range applied {
			done[v] = true
		}
		for _, m := range migrations {
			if done[m.version] {
				continue
			}
			for _, stmt := range m.statements {
				if err := tx.Exec(types.Replace(stmt)).Error; err != nil {
					return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
				}
			}
			if err := tx.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
				m.version, m.name, time.Now().UTC()).Error; err != nil {
				return fmt.Errorf("record migration %d: %w", m.version, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// ErrMigrationsNotCurrent says the database's schema is not the one this
// binary was built for: a migration is missing, or a newer binary applied
// one this binary does not know.
var ErrMigrationsNotCurrent = errors.New("database migrations are not current")

// CheckMigrations reports whether the migrations applied to the database
// are exactly this binary's; the error says which differ.
func (s *Store) CheckMigrations(ctx context.Context) error {
	var applied []int
	if err := s.db.WithContext(ctx).Raw("SELECT version FROM schema_migrations ORDER BY version").Scan(&applied).Error; err != nil {
		return fmt.Errorf("read schema_migrations: %w", err)
	}
	known := make(map[int]bool, len(migrations))
	for _, m := range migrations {
		known[m.version] = true
	}
	var missing, unknown []int
	done := make(map[int]bool, len(applied))
	for _, v := range applied {
		done[v] = true
		if !known[v] {
			unknown = append(unknown, v)
		}
	}
	for _, m := range migrations {
		if !done[m.version] {
			missing = append(missing, m.version)
		}
	}
	switch {
	case len(unknown) > 0:
		return fmt.Errorf("%w: the database has migrations %v this binary does not know (a newer version ran)", ErrMigrationsNotCurrent, unknown)
	case len(missing) > 0:
		return fmt.Errorf("%w: migrations %v are not applied", ErrMigrationsNotCurrent, missing)
	}
	return nil
}
