package workflows

import (
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/securo/webhooks/activities"
	"github.com/securo/webhooks/retry"
)

// Delivery statuses as the workflow reports them (the same words the API
// uses; workflows do not import the storage package).
const (
	StatusPending   = "pending"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusSkipped   = "skipped"

	reasonAttemptsExhausted = "attempts_exhausted"
)

// DeliveryInput starts one delivery's workflow.
type DeliveryInput struct {
	DeliveryID string
	Schedule   []time.Duration
	// FirstAttempt is the number of the first attempt this workflow makes
	// (1 when zero): 2 when the event's workflow already made the first.
	FirstAttempt int
	// FirstDelay, when set, is the wait before that attempt, as the one
	// before it decided (its jitter, the receiver's Retry-After).
	FirstDelay time.Duration
}

// Signals that steer a delivery under way (POST /v1/deliveries/{id}/retry
// and /cancel): attempt now instead of at the next scheduled time, or end
// the delivery as skipped (canceled).
const (
	SignalRetryNow = "retry-now"
	SignalCancel   = "cancel"
	ReasonCanceled = "canceled"
)

type steering struct {
	retryNow, cancel workflow.ReceiveChannel
}

func newSteering(ctx workflow.Context) *steering {
	return &steering{retryNow: workflow.GetSignalChannel(ctx, SignalRetryNow), cancel: workflow.GetSignalChannel(ctx, SignalCancel)}
}

// wait sleeps d on a durable timer unless a retry-now signal cuts it short;
// it reports true when a cancel signal came (before or during the wait).
func (s *steering) wait(ctx workflow.Context, d time.Duration) (canceled bool) {
	if s.cancel.ReceiveAsync(nil) {
		return true
	}
	if d <= 0 {
		s.retryNow.ReceiveAsync(nil) // already attempting now
		return false
	}
	tctx, stopTimer := workflow.WithCancel(ctx)
	defer stopTimer()
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(workflow.NewTimer(tctx, d), func(workflow.Future) {})
	sel.AddReceive(s.retryNow, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, nil) })
	sel.AddReceive(s.cancel, func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, nil)
		canceled = true
	})
	sel.Select(ctx)
	return canceled
}

// versionJitterRetryAfter marks executions whose delays are jittered and
// moved by Retry-After; the ones before it replay with the plain schedule.
const versionJitterRetryAfter = "jitter-and-retry-after"

// throttleWait is how long a delivery waits before trying again when its
// endpoint already has as many attempts in flight as a worker allows: a
// second, doubling up to half a minute, jittered, so that a crowd of
// throttled deliveries does not wake all at once and keep the server busy.
func throttleWait(deliveryID string, attempt, tries int) time.Duration {
	d := time.Second << min(tries, 5)
	return retry.Jitter(deliveryID+":throttled", attempt*64+tries, min(d, 30*time.Second))
}

func scheduleOf(s []time.Duration) []time.Duration {
	if len(s) == 0 {
		return DefaultSchedule
	}
	return s
}

// DeliveryResult is how the delivery ended.
type DeliveryResult struct {
	Status   string
	Reason   string
	Attempts int
}

// DeliveryWorkflow owns one delivery's schedule: each attempt is an activity
// that Temporal does not retry; the waits between them are durable timers.
func DeliveryWorkflow(ctx workflow.Context, in DeliveryInput) (DeliveryResult, error) {
	schedule := scheduleOf(in.Schedule)
	firstIndex := max(in.FirstAttempt, 1) - 1
	attemptCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		// The POST itself times out after 15 s; the rest is database work.
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	log := workflow.GetLogger(ctx)
	// Executions started before jitter and Retry-After replay without them.
	steered := workflow.GetVersion(ctx, versionJitterRetryAfter, workflow.DefaultVersion, 1) >= 1
	delay := schedule[firstIndex]
	if steered {
		delay = retry.Jitter(in.DeliveryID, firstIndex+1, delay)
		if in.FirstDelay > 0 {
			delay = in.FirstDelay
		}
	}
	steer := newSteering(ctx)
	for i := firstIndex; i < len(schedule); i++ {
		if steer.wait(ctx, delay) {
			cancel := activities.FinishInput{DeliveryID: in.DeliveryID, Status: StatusSkipped, Reason: ReasonCanceled}
			if err := workflow.ExecuteActivity(bookkeeping(ctx), a.FinishDelivery, cancel).Get(ctx, nil); err != nil {
				return DeliveryResult{}, err
			}
			return DeliveryResult{Status: StatusSkipped, Reason: ReasonCanceled, Attempts: i}, nil
		}
		attempt := activities.AttemptInput{DeliveryID: in.DeliveryID, Number: i + 1, Last: i == len(schedule)-1, Now: workflow.Now(ctx)}
		if !attempt.Last {
			attempt.NextDelay = schedule[i+1]
			if steered {
				attempt.NextDelay = retry.Jitter(in.DeliveryID, i+2, attempt.NextDelay)
			}
		}
		delay = attempt.NextDelay
		var res activities.AttemptResult
		err := workflow.ExecuteActivity(attemptCtx, a.Attempt, attempt).Get(ctx, &res)
		for tries := 0; err == nil && res.Status == activities.StatusThrottled; tries++ {
			if err = workflow.Sleep(ctx, throttleWait(in.DeliveryID, attempt.Number, tries)); err == nil {
				err = workflow.ExecuteActivity(attemptCtx, a.Attempt, attempt).Get(ctx, &res)
			}
		}
		if err != nil {
			// The attempt could not run to the end (worker lost, database
			// down): it counts as a failed attempt and the schedule goes on.
			log.Warn("attempt did not complete", "delivery", in.DeliveryID, "attempt", attempt.Number, "error", err)
			continue
		}
		if res.Status != StatusPending {
			return DeliveryResult{Status: res.Status, Reason: res.Reason, Attempts: attempt.Number}, nil
		}
		if steered && res.NextDelay > 0 {
			delay = res.NextDelay // the receiver's Retry-After
		}
	}
	finish := activities.FinishInput{DeliveryID: in.DeliveryID, Status: StatusFailed, Reason: reasonAttemptsExhausted}
	if err := workflow.ExecuteActivity(bookkeeping(ctx), a.FinishDelivery, finish).Get(ctx, nil); err != nil {
		return DeliveryResult{}, err
	}
	return DeliveryResult{Status: StatusFailed, Reason: reasonAttemptsExhausted, Attempts: len(schedule)}, nil
}
