package models

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Store runs the service's queries; every method carries ctx into GORM.
type Store struct {
	db *gorm.DB
}

// NewStore wraps an open, migrated database.
func NewStore(db *gorm.DB) *Store { return &Store{db: db} }

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

// ---- accounts and keys ----

// HashAPIKey is how keys are stored and looked up.
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// CreateAccount makes an account and its first API key, returned once.
func (s *Store) CreateAccount(ctx context.Context, name string) (Account, string, error) {
	acct := Account{ID: NewID("acct"), Name: name, CreatedAt: Now()}
	var key string
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&acct).Error; err != nil {
			return err
		}
		var err error
		key, err = createAPIKey(tx, acct.ID)
		return err
	})
	if err != nil {
		return Account{}, "", fmt.Errorf("create account %q: %w", name, err)
	}
	return acct, key, nil
}

// CreateAPIKey issues another key for an account and returns it once.
func (s *Store) CreateAPIKey(ctx context.Context, accountID string) (string, error) {
	key, err := createAPIKey(s.db.WithContext(ctx), accountID)
	if err != nil {
		return "", fmt.Errorf("create api key: %w", err)
	}
	return key, nil
}

func createAPIKey(tx *gorm.DB, accountID string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	key := "sk_" + base64.RawURLEncoding.EncodeToString(b)
	row := APIKey{ID: NewID("key"), AccountID: accountID, Prefix: key[:10], Hash: HashAPIKey(key), CreatedAt: Now()}
	if err := tx.Create(&row).Error; err != nil {
		return "", err
	}
	return key, nil
}

// AccountByAPIKey finds the account a live key belongs to. The lookup is by
// hash, so the key itself is never compared byte by byte.
func (s *Store) AccountByAPIKey(ctx context.Context, key string) (Account, error) {
	var acct Account
	err := s.db.WithContext(ctx).
		Joins("JOIN api_keys ON api_keys.account_id = accounts.id").
		Where("api_keys.hash = ? AND api_keys.revoked_at IS NULL", HashAPIKey(key)).
		Take(&acct).Error
	if err != nil {
		return Account{}, notFound(err, "api key", "")
	}
	return acct, nil
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
