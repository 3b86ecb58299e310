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
	var pending activities.PendingResult
	if err := workflow.ExecuteActivity(bookkeeping(ctx), a.PendingDeliveries, activities.PendingInput{EventID: in.EventID}).Get(ctx, &pending); err != nil {
		return EventResult{}, err
	}
	futures := make([]workflow.ChildWorkflowFuture, len(pending.Deliveries))
	for i, d := range pending.Deliveries {
		cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: d.WorkflowID})
		futures[i] = workflow.ExecuteChildWorkflow(cctx, DeliveryWorkflow, DeliveryInput{DeliveryID: d.DeliveryID, Schedule: in.Schedule})
	}
	res := EventResult{Deliveries: len(futures)}
	for _, f := range futures {
		var dr DeliveryResult
		err := f.Get(ctx, &dr)
		var started *temporal.ChildWorkflowExecutionAlreadyStartedError
		switch {
		case errors.As(err, &started):
			// Started by an earlier run of this workflow; it goes on alone.
			continue
		case err != nil:
			return res, err
		}
		switch dr.Status {
		case StatusSucceeded:
			res.Succeeded++
		case StatusFailed:
			res.Failed++
		default:
			res.Skipped++
		}
	}
	return res, nil
}
