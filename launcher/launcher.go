// Package launcher starts the Temporal workflow of each accepted event: right
// after the API commits it, and again from a sweeper for any event whose
// workflow was never seen to start (the process died, or Temporal was down).
package launcher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/securo/webhooks/models"
	"github.com/securo/webhooks/workflows"
)

// Store is what the launcher needs of the database.
type Store interface {
	MarkWorkflowStarted(ctx context.Context, eventID string) error
	UnstartedEvents(ctx context.Context, before time.Time, limit int) ([]models.Event, error)
}

// eventWorkflowTaskTimeout bounds an event workflow's tasks, which include
// its first attempts (each POST gives up after 15 s).
const eventWorkflowTaskTimeout = 30 * time.Second

// Launcher starts event workflows.
type Launcher struct {
	client client.Client
	store  Store
	opts   Options
	log    *slog.Logger
}

// Options shape the workflows a Launcher starts.
type Options struct {
	TaskQueue string
	Schedule  []time.Duration // the retry schedule every workflow gets
	// SandboxSchedule is the retry schedule of sandbox events (none: Schedule).
	SandboxSchedule []time.Duration
	FastPath        bool // first attempts in one local activity (workflows.EventInput)
	// EagerStart hands a new workflow straight to a worker of this process,
	// when there is one, instead of through the task queue.
	EagerStart bool
}

// New builds a Launcher.
func New(c client.Client, store Store, opts Options, log *slog.Logger) *Launcher {
	return &Launcher{client: c, store: store, opts: opts, log: log}
}

// Launch starts the event's workflow. The workflow's first activity records
// that it runs, which spares the API a write per event; a workflow that
// already exists, running or closed, is recorded here instead. It counts as
// started: the id reuse policy refuses a second run, so an event is never
// delivered twice over.
func (l *Launcher) Launch(ctx context.Context, ev models.Event) error {
	_, err := l.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       ev.WorkflowID,
		TaskQueue:                                l.opts.TaskQueue,
		WorkflowIDReusePolicy:                    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		EnableEagerStart:                         l.opts.EagerStart,
		// Longer than a hung first attempt (15 s), so the local activity
		// that makes it completes within one workflow task instead of
		// heartbeating new ones.
		WorkflowTaskTimeout: eventWorkflowTaskTimeout,
	}, workflows.EventWorkflow, workflows.EventInput{EventID: ev.ID, Schedule: l.opts.Schedule, FastPath: l.opts.FastPath,
		Sandbox: ev.Sandbox, SandboxSchedule: l.opts.SandboxSchedule})
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &already):
		return l.store.MarkWorkflowStarted(ctx, ev.ID)
	case err != nil:
		return fmt.Errorf("start workflow of %s: %w", ev.ID, err)
	}
	return nil
}

// Sweep launches every event accepted more than grace ago whose workflow was
// never seen to start, oldest first, and returns how many it launched.
func (l *Launcher) Sweep(ctx context.Context, grace time.Duration) (int, error) {
	launched := 0
	for {
		events, err := l.store.UnstartedEvents(ctx, models.Now().Add(-grace), 100)
		if err != nil {
			return launched, err
		}
		for _, ev := range events {
			if err := l.Launch(ctx, ev); err != nil {
				return launched, err
			}
			launched++
		}
		if len(events) < 100 {
			return launched, nil
		}
	}
}

// RunSweeper sweeps every interval until ctx ends.
func (l *Launcher) RunSweeper(ctx context.Context, interval, grace time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if n, err := l.Sweep(ctx, grace); err != nil && ctx.Err() == nil {
			l.log.Warn("sweeper: starting workflows failed; will try again", "error", err)
		} else if n > 0 {
			l.log.Info("sweeper: started workflows of events that had none", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// LaunchDelivery starts a delivery's own workflow from its first attempt:
// how a resend runs, since the event's workflow may long be closed.
func (l *Launcher) LaunchDelivery(ctx context.Context, d models.Delivery, sandbox bool) error {
	schedule := l.opts.Schedule
	if sandbox && len(l.opts.SandboxSchedule) > 0 {
		schedule = l.opts.SandboxSchedule
	}
	_, err := l.client.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                                       d.WorkflowID,
		TaskQueue:                                l.opts.TaskQueue,
		WorkflowIDReusePolicy:                    enums.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		EnableEagerStart:                         l.opts.EagerStart,
	}, workflows.DeliveryWorkflow, workflows.DeliveryInput{DeliveryID: d.ID, Schedule: schedule})
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	if err != nil && !errors.As(err, &already) {
		return fmt.Errorf("start workflow of delivery %s: %w", d.ID, err)
	}
	return nil
}

// ErrNotRunning is returned for a signal to a workflow that is not running:
// not started yet, or already closed.
var ErrNotRunning = errors.New("workflow not running")

// Signal steers a running delivery workflow (workflows.SignalRetryNow,
// workflows.SignalCancel).
func (l *Launcher) Signal(ctx context.Context, workflowID, signal string) error {
	err := l.client.SignalWorkflow(ctx, workflowID, "", signal, nil)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return fmt.Errorf("signal %s to %s: %w", signal, workflowID, ErrNotRunning)
	}
	if err != nil {
		return fmt.Errorf("signal %s to %s: %w", signal, workflowID, err)
	}
	return nil
}
