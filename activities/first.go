package activities

import (
	"context"
	"sync"
	"time"

	"github.com/securo/webhooks/models"
	"github.com/securo/webhooks/retry"
)

// FirstAttemptsInput asks for the first attempt of every pending delivery of
// an event, in one local activity: the fast path most deliveries take.
type FirstAttemptsInput struct {
	EventID   string
	NextDelay time.Duration // when the second attempt follows a failed first
	Last      bool          // the schedule has one attempt only
	// Jitter spreads NextDelay per delivery (retry.Jitter of attempt 2), as
	// the delivery's workflow will.
	Jitter bool
	// Now is the workflow's time (see AttemptInput.Now).
	Now time.Time
}

// FirstAttempt is how one delivery's first attempt ended; ids only.
type FirstAttempt struct {
	DeliveryID string
	WorkflowID string
	Result     AttemptResult
}

// FirstAttemptsResult lists every delivery the event had pending.
type FirstAttemptsResult struct {
	Deliveries []FirstAttempt
}

// FirstAttempts records that the event's workflow runs, loads its pending
// deliveries, skips those whose endpoint cannot receive, and POSTs the rest
// concurrently: two writes for the whole event (attempts started, attempts
// finished) whatever its number of endpoints.
func (a *Activities) FirstAttempts(ctx context.Context, in FirstAttemptsInput) (FirstAttemptsResult, error) {
	targets, err := a.store.LoadEventTargets(ctx, in.EventID)
	if err != nil {
		return FirstAttemptsResult{}, err
	}
	out := FirstAttemptsResult{Deliveries: make([]FirstAttempt, len(targets))}
	outcomes := make([]models.AttemptOutcome, len(targets))
	var started []models.Attempt
	var post []int
	releases := make([]func(), len(targets))
	for i, t := range targets {
		out.Deliveries[i] = FirstAttempt{DeliveryID: t.Delivery.ID, WorkflowID: t.Delivery.WorkflowID}
		if reason := skipReason(t); reason != "" {
			outcomes[i] = models.AttemptOutcome{DeliveryID: t.Delivery.ID, State: models.DeliveryState{Status: models.StatusSkipped, Reason: reason}}
			out.Deliveries[i].Result = AttemptResult{Status: models.StatusSkipped, Reason: reason}
			continue
		}
		release, ok := a.limiter.acquire(t.Endpoint.ID)
		if !ok {
			out.Deliveries[i].Result = AttemptResult{Status: StatusThrottled}
			continue
		}
		releases[i] = release
		started = append(started, models.NewAttempt(t.Delivery.ID, 1, a.now()))
		post = append(post, i)
	}
	defer func() {
		for _, r := range releases {
			if r != nil {
				r()
			}
		}
	}()
	if err := a.store.BeginEventAttempts(ctx, in.EventID, started); err != nil {
		return FirstAttemptsResult{}, err
	}
	var wg sync.WaitGroup
	for j, i := range post {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := in.NextDelay
			if in.Jitter {
				next = retry.Jitter(targets[i].Delivery.ID, 2, next)
			}
			outcomes[i], out.Deliveries[i].Result = a.deliver(ctx, targets[i], started[j], next, in.Last, a.at(in.Now))
		}()
	}
	wg.Wait()
	var done []models.AttemptOutcome
	for i, o := range outcomes {
		if o.DeliveryID == "" {
			continue
		}
		if o.State.Status != models.StatusPending {
			// Ended here: the event's workflow is the one that ran it.
			o.State.WorkflowID = targets[i].Event.WorkflowID
		}
		done = append(done, o)
	}
	emitted, err := a.store.FinishAttempts(ctx, done)
	if err != nil {
		return FirstAttemptsResult{}, err
	}
	for _, o := range done {
		if o.State.Status != models.StatusPending {
			a.metrics.DeliveryFinished(o.State.Status, o.State.Reason)
		}
	}
	a.launch(ctx, emitted)
	return out, nil
}
