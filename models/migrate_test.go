package models_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/securo/webhooks/internal/storetest"
	"github.com/securo/webhooks/models"
)

type appliedMigration struct {
	Version   int
	AppliedAt time.Time
}

func appliedMigrations(t *testing.T, db *gorm.DB) []appliedMigration {
	t.Helper()
	var rows []appliedMigration
	if err := db.Raw("SELECT version, applied_at FROM schema_migrations ORDER BY version").Scan(&rows).Error; err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	return rows
}

func openDB(t *testing.T, url string) *gorm.DB {
	t.Helper()
	db, err := models.Open(context.Background(), url)
	if err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	t.Cleanup(func() { models.Close(db) })
	return db
}

func TestOpenTwiceOnOneDatabaseAppliesNothingTheSecondTime(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		url := storetest.URL(t, kind)
		first := appliedMigrations(t, openDB(t, url))
		if len(first) == 0 {
			t.Fatal("first open recorded no migration")
		}

		db := openDB(t, url)
		if err := models.Migrate(context.Background(), db); err != nil {
			t.Fatalf("migrate an up-to-date database: %v", err)
		}
		second := appliedMigrations(t, db)
		if len(second) != len(first) {
			t.Fatalf("after reopening: %d migrations recorded, want %d", len(second), len(first))
		}
		for i := range first {
			if second[i].Version != first[i].Version || !second[i].AppliedAt.Equal(first[i].AppliedAt) {
				t.Errorf("migration %d was applied again: %+v, then %+v", first[i].Version, first[i], second[i])
			}
		}
	})
}

func TestOpeningOneFreshDatabaseConcurrentlyAppliesEachMigrationOnce(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		want := len(appliedMigrations(t, openDB(t, storetest.URL(t, kind))))

		// The SQLite race is rare and a round cheap: run many.
		rounds := 3
		if kind == "sqlite" {
			rounds = 150
		}
		for round := range rounds {
			url := storetest.URL(t, kind)
			var (
				start sync.WaitGroup
				done  sync.WaitGroup
				errs  [2]error
				dbs   [2]*gorm.DB
			)
			start.Add(1)
			for i := range 2 {
				done.Go(func() {
					start.Wait()
					dbs[i], errs[i] = models.Open(context.Background(), url)
				})
			}
			start.Done()
			done.Wait()
			for i, err := range errs {
				if err != nil {
					t.Fatalf("round %d: open %d: %v", round, i, err)
				}
				t.Cleanup(func() { models.Close(dbs[i]) })
			}

			var counts []struct {
				Version int
				N       int
			}
			if err := dbs[0].Raw("SELECT version, COUNT(*) AS n FROM schema_migrations GROUP BY version ORDER BY version").Scan(&counts).Error; err != nil {
				t.Fatalf("round %d: read schema_migrations: %v", round, err)
			}
			if len(counts) != want {
				t.Errorf("round %d: %d versions recorded, want %d", round, len(counts), want)
			}
			for _, c := range counts {
				if c.N != 1 {
					t.Errorf("round %d: version %d recorded %d times", round, c.Version, c.N)
				}
			}
		}
	})
}

func TestCheckMigrationsSaysWhichDiffer(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		s := storetest.Open(t, kind)
		if err := s.CheckMigrations(ctx); err != nil {
			t.Fatalf("a freshly migrated database: %v", err)
		}
		last := appliedMigrations(t, s.DB())
		newest := last[len(last)-1].Version

		// A newer binary applied a migration this one does not know.
		if err := s.DB().Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from the future', ?)", 999, models.Now()).Error; err != nil {
			t.Fatal(err)
		}
		if err := s.CheckMigrations(ctx); !errors.Is(err, models.ErrMigrationsNotCurrent) || !strings.Contains(err.Error(), "999") {
			t.Fatalf("with an unknown migration: %v", err)
		}
		// One of ours is missing.
		if err := s.DB().Exec("DELETE FROM schema_migrations WHERE version IN (?, ?)", 999, newest).Error; err != nil {
			t.Fatal(err)
		}
		err := s.CheckMigrations(ctx)
		if !errors.Is(err, models.ErrMigrationsNotCurrent) || !strings.Contains(err.Error(), fmt.Sprintf("[%d] are not applied", newest)) {
			t.Fatalf("with migration %d missing: %v", newest, err)
		}
	})
}
