package workflows

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/securo/webhooks/activities"
)

func TestRetentionWorkflow(t *testing.T) {
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		in       RetentionInput
		failures int // purge attempts that fail before one succeeds
		want     RetentionResult
		wantErr  bool
	}{
		{"purges what ended before MaxAge ago", RetentionInput{MaxAge: 720 * time.Hour, BatchSize: 50}, 0, RetentionResult{Deliveries: 7, Events: 3}, false},
		{"retries a purge the database interrupted", RetentionInput{MaxAge: time.Hour}, 2, RetentionResult{Deliveries: 7, Events: 3}, false},
		{"gives up after five failures", RetentionInput{MaxAge: time.Hour}, 5, RetentionResult{}, true},
		{"refuses a MaxAge that is not positive", RetentionInput{}, 0, RetentionResult{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ts testsuite.WorkflowTestSuite
			env := ts.NewTestWorkflowEnvironment()
			env.SetStartTime(start)
			env.RegisterWorkflow(RetentionWorkflow)
			env.RegisterActivity(&activities.Activities{})
			var calls []activities.PurgeInput
			env.OnActivity(a.PurgeExpired, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.PurgeInput) (activities.PurgeResult, error) {
				calls = append(calls, in)
				if len(calls) <= tt.failures {
					return activities.PurgeResult{}, errors.New("database unavailable")
				}
				return activities.PurgeResult{Deliveries: 7, Events: 3}, nil
			}).Maybe()
			env.ExecuteWorkflow(RetentionWorkflow, tt.in)
			if !env.IsWorkflowCompleted() {
				t.Fatal("the workflow did not complete")
			}
			err := env.GetWorkflowError()
			if tt.wantErr {
				if err == nil {
					t.Fatal("want an error")
				}
				if tt.in.MaxAge <= 0 {
					var app *temporal.ApplicationError
					if !errors.As(err, &app) || !app.NonRetryable() || len(calls) != 0 {
						t.Errorf("error %v after %d purges, want a non-retryable one before any", err, len(calls))
					}
				} else if len(calls) != 5 {
					t.Errorf("%d purge attempts, want 5", len(calls))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got RetentionResult
			if err := env.GetWorkflowResult(&got); err != nil || got != tt.want {
				t.Fatalf("result %+v, %v; want %+v", got, err, tt.want)
			}
			last := calls[len(calls)-1]
			if want := start.Add(-tt.in.MaxAge); !last.Before.Equal(want) || last.BatchSize != tt.in.BatchSize {
				t.Errorf("purge input %+v, want before %s and batch %d", last, want, tt.in.BatchSize)
			}
		})
	}
}
