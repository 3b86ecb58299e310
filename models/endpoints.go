package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// CreateEndpoint stores ep for its account unless the account already has
// max endpoints (ErrTooManyEndpoints).
func (s *Store) CreateEndpoint(ctx context.Context, ep *Endpoint, max int) error {
	now := Now()
	ep.ID = NewID("ep")
	ep.CreatedAt, ep.UpdatedAt = now, now
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// Lock the account row so two creates cannot both pass the count
		// (PostgreSQL; SQLite's immediate transactions already serialise).
		var acct Account
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("id = ?", ep.AccountID).Take(&acct).Error; err != nil {
			return notFound(err, "account", ep.AccountID)
		}
		var n int64
		if err := tx.Model(&Endpoint{}).Where("account_id = ?", ep.AccountID).Count(&n).Error; err != nil {
			return err
		}
		if n >= int64(max) {
			return fmt.Errorf("account has %d endpoints, at most %d allowed: %w", n, max, ErrTooManyEndpoints)
		}
		row, err := s.sealRow(*ep) // the caller keeps the secret in clear
		if err != nil {
			return err
		}
		return tx.Create(&row).Error
	})
	if err != nil {
		return fmt.Errorf("create endpoint: %w", err)
	}
	return nil
}

// GetEndpoint returns one endpoint of the account; deleted ones are not found.
func (s *Store) GetEndpoint(ctx context.Context, accountID, id string) (Endpoint, error) {
	var ep Endpoint
	if err := s.db.WithContext(ctx).Where("account_id = ? AND id = ?", accountID, id).Take(&ep).Error; err != nil {
		return Endpoint{}, notFound(err, "endpoint", id)
	}
	return ep, nil
}

// ListEndpoints returns a page of the account's endpoints and the next cursor.
func (s *Store) ListEndpoints(ctx context.Context, accountID string, p Page) ([]Endpoint, string, error) {
	// Lists never show secrets, so they are not read (nor opened).
	q, err := paginate(s.db.WithContext(ctx).Omit(secretColumns...).Where("account_id = ?", accountID), "endpoints", p)
	if err != nil {
		return nil, "", err
	}
	var rows []Endpoint
	if err := q.Find(&rows).Error; err != nil {
		return nil, "", fmt.Errorf("list endpoints: %w", err)
	}
	rows, next := nextCursor(rows, p.Limit, func(e Endpoint) (time.Time, string) { return e.CreatedAt, e.ID })
	return rows, next, nil
}

// UpdateEndpoint applies change to the endpoint in a transaction; if change
// returns an error nothing is written.
func (s *Store) UpdateEndpoint(ctx context.Context, accountID, id string, change func(*Endpoint) error) (Endpoint, error) {
	var ep Endpoint
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// The row lock makes concurrent PATCHes apply one after the other.
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("account_id = ? AND id = ?", accountID, id).Take(&ep).Error; err != nil {
			return notFound(err, "endpoint", id)
		}
		wasEnabled := ep.Enabled
		if err := change(&ep); err != nil {
			return err
		}
		ep.UpdatedAt = Now()
		switch {
		case ep.Enabled && !wasEnabled:
			// Enabled again: a fresh start, no failing streak.
			ep.DisabledReason, ep.DisabledAt, ep.FailingSince, ep.LastError = "", nil, nil, ""
		case ep.Enabled:
		case ep.DisabledAt == nil:
			ep.DisabledReason, ep.DisabledAt = ReasonManual, &ep.UpdatedAt
		}
		return tx.Model(&ep).Select("url", "description", "event_types", "sandbox", "enabled", "disabled_reason", "disabled_at", "failing_since", "last_error", "updated_at").Updates(&ep).Error
	})
	if err != nil {
		return Endpoint{}, fmt.Errorf("update endpoint: %w", err)
	}
	return ep, nil
}

// sealRow is ep as it is stored: its secrets sealed, bound to its id.
func (s *Store) sealRow(ep Endpoint) (Endpoint, error) {
	var err error
	if ep.Secret, err = s.box.seal(ep.ID, ep.Secret); err != nil {
		return Endpoint{}, fmt.Errorf("seal secret: %w", err)
	}
	if ep.PreviousSecret != "" {
		if ep.PreviousSecret, err = s.box.seal(ep.ID, ep.PreviousSecret); err != nil {
			return Endpoint{}, fmt.Errorf("seal previous secret: %w", err)
		}
	}
	return ep, nil
}

// RotateSecret gives the endpoint secret as its signing secret. The secret
// it replaces keeps signing deliveries, beside the new one, for grace from
// now; with no grace it is dropped at once. A secret kept from an earlier
// rotation is dropped either way.
func (s *Store) RotateSecret(ctx context.Context, accountID, id, secret string, grace time.Duration) (Endpoint, error) {
	var ep Endpoint
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// Locked like UpdateEndpoint, so two rotations at once keep a
		// previous secret that really was the endpoint's.
		if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Where("account_id = ? AND id = ?", accountID, id).Take(&ep).Error; err != nil {
			return notFound(err, "endpoint", id)
		}
		ep.UpdatedAt = Now()
		ep.PreviousSecret, ep.PreviousSecretExpiresAt = "", nil
		if grace > 0 {
			expires := ep.UpdatedAt.Add(grace)
			ep.PreviousSecret, ep.PreviousSecretExpiresAt = ep.Secret, &expires
		}
		ep.Secret = secret
		row, err := s.sealRow(ep)
		if err != nil {
			return err
		}
		return tx.Model(&row).Select("secret", "previous_secret", "previous_secret_expires_at", "updated_at").Updates(&row).Error
	})
	if err != nil {
		return Endpoint{}, fmt.Errorf("rotate secret: %w", err)
	}
	return ep, nil
}

// DeleteEndpoint removes the endpoint from the API; its deliveries stay.
func (s *Store) DeleteEndpoint(ctx context.Context, accountID, id string) error {
	res := s.db.WithContext(ctx).Where("account_id = ? AND id = ?", accountID, id).Delete(&Endpoint{})
	if res.Error != nil {
		return fmt.Errorf("delete endpoint %s: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("endpoint %s: %w", id, ErrNotFound)
	}
	return nil
}

// SealSecrets seals every endpoint secret (current or previous) not yet
// sealed with the box's first key: secrets written before encryption at
// rest, or under a key being rotated out. It fails on a secret none of the
// box's keys opens, so a process started with the wrong key stops at once.
// It returns how many endpoints it sealed again.
func (s *Store) SealSecrets(ctx context.Context) (int, error) {
	if s.box == nil {
		return 0, ErrNoEncryptionKey
	}
	type row struct{ ID, Secret, PreviousSecret string }
	primary := sealedPrefix + s.box.keys[0].id + ":%"
	sealed := 0
	for {
		// Not through Endpoint, whose AfterFind would open them.
		var rows []row
		err := s.db.WithContext(ctx).Table("endpoints").Select("id", "secret", "previous_secret").
			Where("secret NOT LIKE ? OR (previous_secret <> '' AND previous_secret NOT LIKE ?)", primary, primary).
			Limit(500).Find(&rows).Error
		if err != nil {
			return sealed, fmt.Errorf("seal secrets: %w", err)
		}
		if len(rows) == 0 {
			return sealed, nil
		}
		for _, r := range rows {
			secret, err := s.box.reseal(r.ID, r.Secret)
			if err != nil {
				return sealed, fmt.Errorf("seal secrets: endpoint %s: %w", r.ID, err)
			}
			previous, err := s.box.reseal(r.ID, r.PreviousSecret)
			if err != nil {
				return sealed, fmt.Errorf("seal secrets: endpoint %s, previous secret: %w", r.ID, err)
			}
			// Only if unchanged: another process may be sealing, or
			// rotating, too.
			res := s.db.WithContext(ctx).Table("endpoints").
				Where("id = ? AND secret = ? AND previous_secret = ?", r.ID, r.Secret, r.PreviousSecret).
				Updates(map[string]any{"secret": secret, "previous_secret": previous})
			if res.Error != nil {
				return sealed, fmt.Errorf("seal secrets: endpoint %s: %w", r.ID, res.Error)
			}
			sealed += int(res.RowsAffected)
		}
	}
}
