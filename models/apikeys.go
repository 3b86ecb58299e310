package models

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// apiKeyPrefixLen is how much of a key is kept in clear: "sk_" and seven
// characters, enough to find the key's row and for people to tell keys apart.
const apiKeyPrefixLen = 10

// MaxLiveAPIKeys is how many unrevoked keys an account may hold.
const MaxLiveAPIKeys = 20

// HashAPIKey is how keys are stored: the hex SHA-256 of the key. Keys are 32
// random bytes, so a fast hash is enough; nothing can be guessed from it.
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
		_, key, err = createAPIKey(tx, acct.ID, "")
		return err
	})
	if err != nil {
		return Account{}, "", fmt.Errorf("create account %q: %w", name, err)
	}
	return acct, key, nil
}

// CreateAPIKey issues another key for an account, named name for people,
// and returns its row and the key itself, which is never seen again.
func (s *Store) CreateAPIKey(ctx context.Context, accountID, name string) (APIKey, string, error) {
	var (
		row APIKey
		key string
	)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		live, err := lockLiveKeys(tx, accountID)
		if err != nil {
			return err
		}
		if live >= MaxLiveAPIKeys {
			return fmt.Errorf("account has %d live keys: %w", live, ErrTooManyAPIKeys)
		}
		row, key, err = createAPIKey(tx, accountID, name)
		return err
	})
	if err != nil {
		return APIKey{}, "", fmt.Errorf("create api key: %w", err)
	}
	return row, key, nil
}

func createAPIKey(tx *gorm.DB, accountID, name string) (APIKey, string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return APIKey{}, "", err
	}
	key := "sk_" + base64.RawURLEncoding.EncodeToString(b)
	row := APIKey{ID: NewID("key"), AccountID: accountID, Name: name, Prefix: key[:apiKeyPrefixLen], Hash: HashAPIKey(key), CreatedAt: Now()}
	if err := tx.Create(&row).Error; err != nil {
		return APIKey{}, "", err
	}
	return row, key, nil
}

// lockLiveKeys locks the account row, so changes to its keys happen one at
// a time (PostgreSQL; SQLite's immediate transactions already serialise),
// and counts its live keys.
func lockLiveKeys(tx *gorm.DB, accountID string) (int64, error) {
	var acct Account
	if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ?", accountID).Take(&acct).Error; err != nil {
		return 0, notFound(err, "account", accountID)
	}
	var n int64
	err := tx.Model(&APIKey{}).Where("account_id = ? AND revoked_at IS NULL", accountID).Count(&n).Error
	return n, err
}

// AccountByAPIKey finds the account a live key belongs to. The row is found
// by the key's public prefix and its hash compared in constant time, so the
// time an answer takes says nothing about how close a guess was.
func (s *Store) AccountByAPIKey(ctx context.Context, key string) (Account, error) {
	if len(key) < apiKeyPrefixLen {
		return Account{}, fmt.Errorf("api key: %w", ErrNotFound)
	}
	// One query: the live keys with this prefix (almost always one), each
	// with its account.
	var rows []struct {
		Account
		KeyHash string
	}
	err := s.db.WithContext(ctx).Table("api_keys").
		Select("accounts.id, accounts.name, accounts.created_at, api_keys.hash AS key_hash").
		Joins("JOIN accounts ON accounts.id = api_keys.account_id").
		Where("api_keys.prefix = ? AND api_keys.revoked_at IS NULL", key[:apiKeyPrefixLen]).
		Scan(&rows).Error
	if err != nil {
		return Account{}, fmt.Errorf("api key: %w", err)
	}
	want := []byte(HashAPIKey(key))
	var (
		acct  Account
		found bool
	)
	for _, r := range rows {
		if subtle.ConstantTimeCompare([]byte(r.KeyHash), want) == 1 {
			acct, found = r.Account, true
		}
	}
	if !found {
		return Account{}, fmt.Errorf("api key: %w", ErrNotFound)
	}
	return acct, nil
}

// ListAPIKeys returns a page of the account's keys, revoked ones included,
// newest first.
func (s *Store) ListAPIKeys(ctx context.Context, accountID string, p Page) ([]APIKey, string, error) {
	q, err := paginate(s.db.WithContext(ctx).Where("account_id = ?", accountID), "api_keys", p)
	if err != nil {
		return nil, "", err
	}
	var rows []APIKey
	if err := q.Find(&rows).Error; err != nil {
		return nil, "", fmt.Errorf("list api keys: %w", err)
	}
	rows, next := nextCursor(rows, p.Limit, func(k APIKey) (time.Time, string) { return k.CreatedAt, k.ID })
	return rows, next, nil
}

// RevokeAPIKey revokes one of the account's keys for good. Revoking a
// revoked key changes nothing; the account's last live key cannot be
// revoked (ErrLastAPIKey), so an account is never locked out of the API.
func (s *Store) RevokeAPIKey(ctx context.Context, accountID, id string) (APIKey, error) {
	var row APIKey
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		live, err := lockLiveKeys(tx, accountID)
		if err != nil {
			return err
		}
		if err := tx.Where("account_id = ? AND id = ?", accountID, id).Take(&row).Error; err != nil {
			return notFound(err, "api key", id)
		}
		if row.RevokedAt != nil {
			return nil
		}
		if live <= 1 {
			return fmt.Errorf("api key %s: %w", id, ErrLastAPIKey)
		}
		now := Now()
		row.RevokedAt = &now
		return tx.Model(&row).Update("revoked_at", now).Error
	})
	if err != nil {
		return APIKey{}, fmt.Errorf("revoke api key: %w", err)
	}
	return row, nil
}
