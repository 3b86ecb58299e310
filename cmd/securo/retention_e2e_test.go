package main

import (
	"context"
	"errors"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/securo/webhooks/internal/receivertest"
	"github.com/securo/webhooks/internal/storetest"
	"github.com/securo/webhooks/internal/temporaltest"
	"github.com/securo/webhooks/models"
	"github.com/securo/webhooks/workflows"
)

// retentionSchedule waits until the service's retention schedule exists
// with maxAge, and returns its description.
func (s *service) retentionSchedule(maxAge time.Duration) *client.ScheduleDescription {
	s.t.Helper()
	h := temporaltest.Shared(s.t).Client.ScheduleClient().GetHandle(context.Background(), retentionScheduleID(s.cfg.TaskQueue))
	deadline := time.Now().Add(30 * time.Second)
	for {
		d, err := h.Describe(context.Background())
		if err == nil {
			action, ok := d.Schedule.Action.(*client.ScheduleWorkflowAction)
			var in workflows.RetentionInput
			if ok && len(action.Args) == 1 {
				if p, ok := action.Args[0].(*commonpb.Payload); ok {
					err = converter.GetDefaultDataConverter().FromPayload(p, &in)
				}
			}
			if err == nil && in.MaxAge == maxAge {
				return d
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("no retention schedule with MaxAge %s: %+v, %v", maxAge, d, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestTheWorkerKeepsAnHourlyRetentionScheduleThatPurgesOldHistory(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		rc := receivertest.New(t)
		s := startService(t, kind, []*receivertest.Receiver{rc}, serviceOptions{configure: func(c *config) { c.Retention = time.Hour }})
		d := s.retentionSchedule(time.Hour)
		action := d.Schedule.Action.(*client.ScheduleWorkflowAction)
		if len(d.Schedule.Spec.Intervals) != 1 || d.Schedule.Spec.Intervals[0].Every != time.Hour || action.TaskQueue != s.cfg.TaskQueue {
			t.Fatalf("schedule spec %+v, action %+v", d.Schedule.Spec, action)
		}

		// A worker starting with other settings updates the schedule.
		s.cfg.Retention = 2 * time.Hour
		s.startWorker()
		s.retentionSchedule(2 * time.Hour)

		// An event delivered three hours ago is purged by the next run; one
		// delivered now stays.
		s.createEndpoint(`{"url": "` + rc.URL + `"}`)
		old, fresh := s.emit(`{"type": "dex.swap", "data": {"n": 1}}`), s.emit(`{"type": "dex.swap", "data": {"n": 2}}`)
		s.waitEvent(old.ID)
		s.waitEvent(fresh.ID)
		s.waitWorkflowClosed(old.WorkflowID)
		threeHoursAgo := time.Now().Add(-3 * time.Hour).UTC()
		if err := s.store.DB().Exec("UPDATE events SET created_at = ? WHERE id = ?", threeHoursAgo, old.ID).Error; err != nil {
			t.Fatal(err)
		}
		if err := s.store.DB().Exec("UPDATE deliveries SET created_at = ?, updated_at = ? WHERE event_id = ?", threeHoursAgo, threeHoursAgo, old.ID).Error; err != nil {
			t.Fatal(err)
		}
		h := temporaltest.Shared(t).Client.ScheduleClient().GetHandle(context.Background(), retentionScheduleID(s.cfg.TaskQueue))
		if err := h.Trigger(context.Background(), client.ScheduleTriggerOptions{}); err != nil {
			t.Fatal(err)
		}
		var run string
		deadline := time.Now().Add(30 * time.Second)
		for run == "" {
			if d, err := h.Describe(context.Background()); err == nil && len(d.Info.RecentActions) > 0 {
				run = d.Info.RecentActions[0].StartWorkflowResult.WorkflowID
			} else if time.Now().After(deadline) {
				t.Fatalf("the triggered retention run did not start: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
		s.waitWorkflowClosed(run)
		if _, err := s.store.LoadEvent(context.Background(), old.ID); !errors.Is(err, models.ErrNotFound) {
			t.Errorf("the old event after the retention run: %v", err)
		}
		if _, err := s.store.LoadEvent(context.Background(), fresh.ID); err != nil {
			t.Errorf("the fresh event after the retention run: %v", err)
		}
		if kind == "sqlite" {
			recordHistory(t, run, "retention_workflow_v1.json")
		}
	})
}
