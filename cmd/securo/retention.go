package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/securo/webhooks/workflows"
)

// retentionEvery is how often the retention schedule runs.
const retentionEvery = time.Hour

// retentionScheduleID names the retention schedule of a task queue: one
// per deployment, securo-retention for the default queue.
func retentionScheduleID(taskQueue string) string {
	if taskQueue == "securo-webhooks" {
		return "securo-retention"
	}
	return "securo-retention-" + taskQueue
}

// retentionSchedule is the schedule the settings ask for: RetentionWorkflow
// every hour, a run skipped while the last one is still going.
func (c config) retentionSchedule() (client.ScheduleSpec, *client.ScheduleWorkflowAction) {
	return client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: retentionEvery}}},
		&client.ScheduleWorkflowAction{
			ID:                       retentionScheduleID(c.TaskQueue),
			Workflow:                 workflows.RetentionWorkflow,
			Args:                     []any{workflows.RetentionInput{MaxAge: c.Retention}},
			TaskQueue:                c.TaskQueue,
			WorkflowExecutionTimeout: 6 * time.Hour,
		}
}

// ensureRetentionSchedule creates the retention schedule, or brings an
// existing one to the current settings; every worker does it as it starts.
func (s *stack) ensureRetentionSchedule(ctx context.Context) error {
	spec, action := s.cfg.retentionSchedule()
	id := retentionScheduleID(s.cfg.TaskQueue)
	_, err := s.temporal.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID: id, Spec: spec, Action: action, Overlap: enums.SCHEDULE_OVERLAP_POLICY_SKIP,
	})
	if errors.Is(err, temporal.ErrScheduleAlreadyRunning) {
		err = s.temporal.ScheduleClient().GetHandle(ctx, id).Update(ctx, client.ScheduleUpdateOptions{
			DoUpdate: func(in client.ScheduleUpdateInput) (*client.ScheduleUpdate, error) {
				sched := in.Description.Schedule
				sched.Spec, sched.Action = &spec, action
				if sched.Policy == nil {
					sched.Policy = &client.SchedulePolicies{}
				}
				sched.Policy.Overlap = enums.SCHEDULE_OVERLAP_POLICY_SKIP
				return &client.ScheduleUpdate{Schedule: &sched}, nil
			},
		})
	}
	if err != nil {
		return fmt.Errorf("retention schedule %s: %w", id, err)
	}
	return nil
}

// keepRetentionSchedule ensures the schedule, trying again every retry
// while Temporal cannot be reached, until it succeeds or ctx ends.
func (s *stack) keepRetentionSchedule(ctx context.Context, retry time.Duration) {
	for {
		err := s.ensureRetentionSchedule(ctx)
		if err == nil || ctx.Err() != nil {
			return
		}
		s.log.WarnContext(ctx, "retention schedule not set; trying again", "error", err, "in", retry)
		select {
		case <-ctx.Done():
			return
		case <-time.After(retry):
		}
	}
}
