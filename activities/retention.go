package activities

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
)

// DefaultPurgeBatch is how many rows one purge transaction deletes at
// most, so it never holds its locks for long.
const DefaultPurgeBatch = 1000

// PurgeInput asks to delete the history that ended before Before.
type PurgeInput struct {
	Before    time.Time
	BatchSize int // 0: DefaultPurgeBatch
}

// PurgeResult counts what was deleted.
type PurgeResult struct {
	Deliveries int
	Events     int
}

// PurgeExpired deletes, in small transactions and oldest first, the
// deliveries that ended before in.Before with their attempts, then the
// events accepted before it that have no delivery left. It heartbeats its
// progress after every batch; a retry starts over and finds less to do.
func (a *Activities) PurgeExpired(ctx context.Context, in PurgeInput) (PurgeResult, error) {
	batch := in.BatchSize
	if batch <= 0 {
		batch = DefaultPurgeBatch
	}
	var res PurgeResult
	for _, step := range []struct {
		purge func(context.Context, time.Time, int) (int, error)
		count *int
	}{{a.store.PurgeDeliveries, &res.Deliveries}, {a.store.PurgeEvents, &res.Events}} {
		for {
			n, err := step.purge(ctx, in.Before, batch)
			if err != nil {
				return res, err
			}
			*step.count += n
			activity.RecordHeartbeat(ctx, res)
			if n < batch {
				break
			}
			if err := ctx.Err(); err != nil {
				return res, fmt.Errorf("purge stopped: %w", err)
			}
		}
	}
	a.log.InfoContext(ctx, "retention purge", "before", in.Before.UTC().Format(time.RFC3339),
		"deliveries", res.Deliveries, "events", res.Events)
	return res, nil
}
