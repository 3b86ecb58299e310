// Package workflows holds the deterministic delivery workflows: one per
// event, which starts one child per delivery. No I/O, clocks or map order
// here; everything with side effects is an activity.
package workflows

import (
	"errors"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/securo/webhooks/activities"
)

// a is how workflows name activities: a typed nil pointer, so a renamed
// method breaks the build instead of a running workflow.
var a *activities.Activities

// EventInput starts an event's workflow. Only ids and the retry schedule go
// in: payloads and secrets never enter workflow history.
type EventInput struct {
	EventID  string
	Schedule []time.Duration
	// FastPath makes every first attempt in one local activity of this
	// workflow, and starts a child workflow only for deliveries that need
	// another attempt. Histories recorded before it existed decode it as
	// false and replay on the child-per-delivery path they took.
	FastPath bool
	// Sandbox events follow SandboxSchedule when it is set: a short one, as
	// test modes have.
	Sandbox         bool
	SandboxSchedule []time.Duration
}

// schedule is the retry schedule of the event's deliveries.
func (in EventInput) schedule() []time.Duration {
	if in.Sandbox && len(in.SandboxSchedule) > 0 {
		return in.SandboxSchedule
	}
	return in.Schedule
}

// EventResult counts how the event's deliveries ended.
type EventResult struct {
	Deliveries int
	Succeeded  int
	Failed     int
	Skipped    int
}

// bookkeeping is for activities that only read or write our database: they
// retry until the database answers.
func bookkeeping(ctx workflow.Context) workflow.Context {
	return workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{
			InitialInterval:    time.Second,
			BackoffCoefficient: 2,
			MaximumInterval:    time.Minute,
		},
	})
}

// EventWorkflow delivers one event: it reads the event's pending deliveries
// and runs each as a child workflow, so every delivery's attempts and next
// attempt can be inspected on their own.
func EventWorkflow(ctx workflow.Context, in EventInput) (EventResult, error) {
	if in.FastPath {
		return fastEventWorkflow(ctx, in)
	}
	return childEventWorkflow(ctx, in)
}

// childEventWorkflow runs every delivery as a child workflow from its first
// attempt: the path every event took before the fast path.
func childEventWorkflow(ctx workflow.Context, in EventInput) (EventResult, error) {
	var pending activities.PendingResult
	if err := workflow.ExecuteActivity(bookkeeping(ctx), a.PendingDeliveries, activities.PendingInput{EventID: in.EventID}).Get(ctx, &pending); err != nil {
		return EventResult{}, err
	}
	futures := make([]workflow.ChildWorkflowFuture, len(pending.Deliveries))
	for i, d := range pending.Deliveries {
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: d.WorkflowID})
		futures[i] = workflow.ExecuteChildWorkflow(cctx, DeliveryWorkflow, DeliveryInput{DeliveryID: d.DeliveryID, Schedule: in.schedule()})
	}
	res := EventResult{Deliveries: len(futures)}
	return res, res.await(ctx, futures)
}

// await waits for the children and counts how their deliveries ended.
func (r *EventResult) await(ctx workflow.Context, futures []workflow.ChildWorkflowFuture) error {
	for _, f := range futures {
		var dr DeliveryResult
		err := f.Get(ctx, &dr)
		var started *temporal.ChildWorkflowExecutionAlreadyStartedError
		switch {
		case errors.As(err, &started):
			// Started by an earlier run of this workflow; it goes on alone.
			continue
		case err != nil:
			return err
		}
		r.count(dr.Status)
	}
	return nil
}

func (r *EventResult) count(status string) {
	switch status {
	case StatusSucceeded:
		r.Succeeded++
	case StatusFailed:
		r.Failed++
	default:
		r.Skipped++
	}
}

// fastEventWorkflow makes every first attempt in one local activity (no
// activity task round trips, no child workflow for a delivery that succeeds
// at once), then hands each delivery that needs more attempts to a child
// workflow that carries on with the schedule's second attempt.
func fastEventWorkflow(ctx workflow.Context, in EventInput) (EventResult, error) {
	schedule := scheduleOf(in.schedule())
	steered := workflow.GetVersion(ctx, versionJitterRetryAfter, workflow.DefaultVersion, 1) >= 1
	first := activities.FirstAttemptsInput{EventID: in.EventID, Last: len(schedule) == 1, Jitter: steered, Now: workflow.Now(ctx)}
	if !first.Last {
		first.NextDelay = schedule[1]
	}
	lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{
		// Every POST gives up after 15 s; the rest is two writes.
		StartToCloseTimeout: time.Minute,
		RetryPolicy:         &temporal.RetryPolicy{MaximumAttempts: 1},
	})
	var firsts activities.FirstAttemptsResult
	if err := workflow.ExecuteLocalActivity(lctx, a.FirstAttempts, first).Get(ctx, &firsts); err != nil {
		// The first attempts could not complete (the database, a lost
		// worker): every delivery still pending goes the long way, from its
		// first attempt; an attempt already recorded is started afresh.
		workflow.GetLogger(ctx).Warn("first attempts did not complete; running every delivery as a child", "error", err)
		return childEventWorkflow(ctx, in)
	}
	res := EventResult{Deliveries: len(firsts.Deliveries)}
	var futures []workflow.ChildWorkflowFuture
	for _, d := range firsts.Deliveries {
		next, firstDelay := 2, time.Duration(0)
		switch d.Result.Status {
		case StatusPending:
			if steered {
				firstDelay = d.Result.NextDelay
			}
		case activities.StatusThrottled:
			next = 1 // not attempted: the child makes the first attempt
		default:
			res.count(d.Result.Status)
			continue
		}
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: d.WorkflowID})
		futures = append(futures, workflow.ExecuteChildWorkflow(cctx, DeliveryWorkflow,
			DeliveryInput{DeliveryID: d.DeliveryID, Schedule: in.schedule(), FirstAttempt: next, FirstDelay: firstDelay}))
	}
	return res, res.await(ctx, futures)
}
