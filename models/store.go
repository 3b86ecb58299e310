package models

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Store runs the service's queries; every method carries ctx into GORM.
type Store struct {
	db  *gorm.DB
	box *SecretBox
}

// NewStore wraps an open, migrated database. box seals endpoint secrets; a
// store without one (nil) cannot create endpoints or read sealed secrets,
// which suits tools that touch only accounts and keys.
func NewStore(db *gorm.DB, box *SecretBox) *Store {
	// The box rides in every statement's settings for Endpoint.AfterFind;
	// the session makes each query start from a copy of them.
	return &Store{db: db.Set(secretBoxSetting, box).Session(&gorm.Session{}), box: box}
}

// DB is the underlying handle, for readiness checks and tests.
func (s *Store) DB() *gorm.DB { return s.db }

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

func notFound(err error, what, id string) error {
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return fmt.Errorf("%s %s: %w", what, id, ErrNotFound)
	}
	return fmt.Errorf("%s %s: %w", what, id, err)
}

// AccountByName finds an account by its unique name.
func (s *Store) AccountByName(ctx context.Context, name string) (Account, error) {
	var acct Account
	if err := s.db.WithContext(ctx).Where("name = ?", name).Take(&acct).Error; err != nil {
		return Account{}, notFound(err, "account", name)
	}
	return acct, nil
}

// ---- pages ----

// Page asks for one page of a list, newest first by (created_at, id).
type Page struct {
	Limit  int
	Cursor string
}

type cursor struct {
	createdAt time.Time
	id        string
}

func encodeCursor(createdAt time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(createdAt.UnixMicro(), 10) + "," + id))
}

func decodeCursor(s string) (*cursor, error) {
	if s == "" {
		return nil, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, ErrInvalidCursor
	}
	ts, id, ok := strings.Cut(string(raw), ",")
	micros, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil || id == "" {
		return nil, ErrInvalidCursor
	}
	return &cursor{createdAt: time.UnixMicro(micros).UTC(), id: id}, nil
}

// ValidateCursor reports whether s is a cursor this store made.
func ValidateCursor(s string) error {
	_, err := decodeCursor(s)
	return err
}

// paginate applies the page to q on table and returns a function that trims
// the fetched rows to the page and gives the next cursor.
func paginate(q *gorm.DB, table string, p Page) (*gorm.DB, error) {
	c, err := decodeCursor(p.Cursor)
	if err != nil {
		return nil, err
	}
	if c != nil {
		q = q.Where("("+table+".created_at < ? OR ("+table+".created_at = ? AND "+table+".id < ?))", c.createdAt, c.createdAt, c.id)
	}
	return q.Order(table + ".created_at DESC").Order(table + ".id DESC").Limit(p.Limit + 1), nil
}

func nextCursor[T any](rows []T, limit int, key func(T) (time.Time, string)) ([]T, string) {
	if len(rows) <= limit {
		return rows, ""
	}
	rows = rows[:limit]
	createdAt, id := key(rows[limit-1])
	return rows, encodeCursor(createdAt, id)
}
