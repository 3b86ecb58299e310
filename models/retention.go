package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// PurgeDeliveries deletes, in one short transaction, up to limit
// deliveries that ended before before (by their last change), oldest
// first, with their attempts. A pending delivery is never purged, however
// old. It returns how many deliveries it deleted: fewer than limit means
// none are left.
func (s *Store) PurgeDeliveries(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.purge(ctx, "deliveries", before, limit,
		func(tx *gorm.DB) *gorm.DB {
			return tx.Model(&Delivery{}).Where("status <> ? AND updated_at < ?", StatusPending, before.UTC()).Order("updated_at")
		},
		func(tx *gorm.DB, ids []string) (int64, error) {
			if err := tx.Where("delivery_id IN ?", ids).Delete(&Attempt{}).Error; err != nil {
				return 0, fmt.Errorf("attempts: %w", err)
			}
			// The status is checked again: a delivery resent in between stays.
			res := tx.Where("id IN ? AND status <> ?", ids, StatusPending).Delete(&Delivery{})
			return res.RowsAffected, res.Error
		})
}

// hasNoDelivery is the condition of an event whose deliveries are all gone.
const hasNoDelivery = "NOT EXISTS (SELECT 1 FROM deliveries WHERE deliveries.event_id = events.id)"

// PurgeEvents deletes, in one short transaction, up to limit events
// accepted before before that have no delivery left, oldest first, with
// their idempotency keys. It returns how many events it deleted.
func (s *Store) PurgeEvents(ctx context.Context, before time.Time, limit int) (int, error) {
	return s.purge(ctx, "events", before, limit,
		func(tx *gorm.DB) *gorm.DB {
			return tx.Model(&Event{}).Where("created_at < ? AND "+hasNoDelivery, before.UTC()).Order("created_at")
		},
		func(tx *gorm.DB, ids []string) (int64, error) {
			if err := tx.Where("event_id IN ?", ids).Delete(&IdempotencyKey{}).Error; err != nil {
				return 0, fmt.Errorf("idempotency keys: %w", err)
			}
			res := tx.Where("id IN ? AND "+hasNoDelivery, ids).Delete(&Event{})
			return res.RowsAffected, res.Error
		})
}

// purge picks up to limit ids with pick and deletes them with del, in one
// transaction, and says how many del deleted.
func (s *Store) purge(ctx context.Context, what string, before time.Time, limit int,
	pick func(tx *gorm.DB) *gorm.DB, del func(tx *gorm.DB, ids []string) (int64, error)) (int, error) {
	var n int64
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var ids []string
		if err := pick(tx).Limit(limit).Pluck("id", &ids).Error; err != nil || len(ids) == 0 {
			return err
		}
		var err error
		n, err = del(tx, ids)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("purge %s before %s: %w", what, before.Format(time.RFC3339), err)
	}
	return int(n), nil
}
