package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/securo/webhooks/activities"
)

// RetentionInput is what the retention schedule starts RetentionWorkflow
// with: how long history is kept.
type RetentionInput struct {
	MaxAge    time.Duration
	BatchSize int // rows per transaction; 0: activities.DefaultPurgeBatch
}

// RetentionResult counts what a run deleted.
type RetentionResult struct {
	Deliveries int
	Events     int
}

// RetentionWorkflow deletes the deliveries (with their attempts) that ended
// more than MaxAge ago, then the events older than that with no delivery
// left. Pending deliveries, and so their events, are never deleted.
func RetentionWorkflow(ctx workflow.Context, in RetentionInput) (RetentionResult, error) {
	if in.MaxAge <= 0 {
		return RetentionResult{}, temporal.NewNonRetryableApplicationError("retention: MaxAge must be positive", "bad_input", nil)
	}
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		// Each batch is a short transaction and heartbeats; a large backlog
		// takes many of them.
		StartToCloseTimeout: time.Hour,
		HeartbeatTimeout:    time.Minute,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
			MaximumAttempts:    5,
		},
	})
	purge := activities.PurgeInput{Before: workflow.Now(ctx).Add(-in.MaxAge), BatchSize: in.BatchSize}
	var res activities.PurgeResult
	if err := workflow.ExecuteActivity(actx, a.PurgeExpired, purge).Get(ctx, &res); err != nil {
		return RetentionResult{}, err
	}
	return RetentionResult{Deliveries: res.Deliveries, Events: res.Events}, nil
}
