package models

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	gosqlite "github.com/glebarez/go-sqlite"
	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Now is the store's clock: UTC, truncated to the microsecond that both
// PostgreSQL and SQLite keep, so a time read back equals the time written.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Open connects to the database named by rawURL, "postgres://..." or
// "sqlite://path", and applies the migrations it lacks.
func Open(ctx context.Context, rawURL string) (*gorm.DB, error) {
	dialector, err := dialectorFor(rawURL)
	if err != nil {
		return nil, err
	}
	var db *gorm.DB
	for attempt := 1; ; attempt++ {
		db, err = gorm.Open(dialector, &gorm.Config{
			NowFunc:                Now,
			TranslateError:         true,
			SkipDefaultTransaction: true,
			Logger:                 logger.Discard,
			// Parsing SQL was an eighth of the service's CPU on SQLite:
			// statements are prepared once per connection and kept.
			PrepareStmt:        true,
			PrepareStmtMaxSize: 256,
		})
		// Processes opening a fresh SQLite file together race to switch it
		// to WAL, and a loser gets SQLITE_BUSY at once, busy timeout or not.
		if err == nil || attempt == 5 || !isSQLiteBusy(err) {
			break
		}
		time.Sleep(time.Duration(attempt) * 20 * time.Millisecond)
	}
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if db.Dialector.Name() == "sqlite" {
		// SQLite has one writer at a time. One connection per process makes
		// this process's writers queue in the pool instead of spinning in
		// SQLite's busy handler, which sleeps up to 100 ms a turn; the busy
		// timeout still arbitrates between processes sharing the file.
		sqlDB, err := db.DB()
		if err != nil {
			return nil, err
		}
		sqlDB.SetMaxOpenConns(1)
	}
	if err := Migrate(ctx, db); err != nil {
		if sqlDB, e := db.DB(); e == nil {
			sqlDB.Close()
		}
		return nil, err
	}
	return db, nil
}

// Close releases the database's connections.
func Close(db *gorm.DB) error {
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

func isSQLiteBusy(err error) bool {
	var e *gosqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == 5 // SQLITE_BUSY and its extended codes
}

func dialectorFor(rawURL string) (gorm.Dialector, error) {
	switch {
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		return postgres.Open(rawURL), nil
	case strings.HasPrefix(rawURL, "sqlite://"):
		path, query, _ := strings.Cut(strings.TrimPrefix(rawURL, "sqlite://"), "?")
		if path == "" {
			return nil, fmt.Errorf("database url %q names no file", rawURL)
		}
		if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return nil, fmt.Errorf("create database directory: %w", err)
			}
		}
		// WAL lets readers and one writer work at once and lets `securo api`
		// and `securo worker` share the file; immediate transactions take the
		// write lock up front, so two writers wait (busy timeout) instead of
		// failing on a lock upgrade.
		q, err := url.ParseQuery(query)
		if err != nil {
			return nil, fmt.Errorf("database url %q: %w", rawURL, err)
		}
		for _, p := range []string{"journal_mode(WAL)", "synchronous(NORMAL)", "busy_timeout(10000)", "foreign_keys(1)"} {
			q.Add("_pragma", p)
		}
		q.Set("_txlock", "immediate")
		return sqlite.Open(path + "?" + q.Encode()), nil
	default:
		return nil, fmt.Errorf("database url %q: want postgres://... or sqlite://path", rawURL)
	}
}
