package workflows

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/suite"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"

	"github.com/securo/webhooks/activities"
	"github.com/securo/webhooks/retry"
)

type deliverySuite struct {
	suite.Suite
	testsuite.WorkflowTestSuite
	env *testsuite.TestWorkflowEnvironment

	mu       sync.Mutex
	attempts []activities.AttemptInput
	finished []activities.FinishInput
	times    []time.Time
}

func TestDeliveryWorkflow(t *testing.T) { suite.Run(t, new(deliverySuite)) }

func (s *deliverySuite) SetupTest() {
	s.env = s.NewTestWorkflowEnvironment()
	s.env.RegisterWorkflow(DeliveryWorkflow)
	s.env.RegisterActivity(&activities.Activities{})
	s.attempts, s.finished, s.times = nil, nil, nil
	s.env.OnActivity(a.FinishDelivery, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.FinishInput) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.finished = append(s.finished, in)
		return nil
	}).Maybe()
}

func (s *deliverySuite) AfterTest(_, _ string) { s.env.AssertExpectations(s.T()) }

// answer makes the Attempt activity answer each attempt in turn with the
// given results (and errors, for attempts that cannot complete).
func (s *deliverySuite) answer(results ...any) {
	s.env.OnActivity(a.Attempt, mock.Anything, mock.Anything).Return(func(ctx context.Context, in activities.AttemptInput) (activities.AttemptResult, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		in.Now = time.Time{} // the workflow's time, checked where it matters
		s.attempts = append(s.attempts, in)
		s.times = append(s.times, s.env.Now())
		r := results[min(len(s.attempts), len(results))-1]
		if err, ok := r.(error); ok {
			return activities.AttemptResult{}, err
		}
		return r.(activities.AttemptResult), nil
	}).Maybe()
}

var (
	failed    = activities.AttemptResult{Status: StatusPending, StatusCode: 500, Error: "http_status"}
	succeeded = activities.AttemptResult{Status: StatusSucceeded, StatusCode: 200}
)

func (s *deliverySuite) result() DeliveryResult {
	s.True(s.env.IsWorkflowCompleted())
	s.NoError(s.env.GetWorkflowError())
	var r DeliveryResult
	s.NoError(s.env.GetWorkflowResult(&r))
	return r
}

func (s *deliverySuite) TestAFirstAttemptThatSucceedsEndsTheDelivery() {
	s.answer(succeeded)
	s.env.ExecuteWorkflow(DeliveryWorkflow, DeliveryInput{DeliveryID: "dlv_1"})
	s.Equal(DeliveryResult{Status: StatusSucceeded, Attempts: 1}, s.result())
	s.Len(s.attempts, 1)
	s.Equal(activities.AttemptInput{DeliveryID: "dlv_1", Number: 1, NextDelay: retry.Jitter("dlv_1", 2, 5*time.Second)}, s.attempts[0])
	s.Empty(s.finished)
}

func (s *deliverySuite) TestFailuresFollowTheWholeDefaultScheduleThenFail() {
	s.answer(failed)
	s.env.ExecuteWorkflow(DeliveryWorkflow, DeliveryInput{DeliveryID: "dlv_1"})
	s.Equal(DeliveryResult{Status: StatusFailed, Reason: "attempts_exhausted", Attempts: 8}, s.result())
	s.Require().Len(s.attempts, len(DefaultSchedule))
	var elapsed time.Duration
	for i, in := range s.attempts {
		if i > 0 {
			// Each attempt comes its scheduled delay, jittered by at most
			// ±20 %, after the one before: the delay it was told of.
			gap := s.times[i].Sub(s.times[i-1])
			s.InDelta(s.attempts[i-1].NextDelay.Seconds(), gap.Seconds(), 1, "attempt %d", i+1)
			s.InEpsilon(DefaultSchedule[i].Seconds(), gap.Seconds(), 0.2001, "attempt %d", i+1)
			elapsed += gap
		}
		s.Equal(i+1, in.Number)
		s.Equal(i == len(DefaultSchedule)-1, in.Last)
		if i+1 < len(DefaultSchedule) {
			s.Equal(retry.Jitter("dlv_1", i+2, DefaultSchedule[i+1]), in.NextDelay)
		}
	}
	s.Greater(elapsed, 22*time.Hour)
	s.Less(elapsed, 34*time.Hour)
	s.Equal([]activities.FinishInput{{DeliveryID: "dlv_1", Status: StatusFailed, Reason: "attempts_exhausted"}}, s.finished)
}

func (s *deliverySuite) TestASuccessAfterFailuresStopsTheSchedule() {
	s.answer(failed, failed, succeeded)
	s.env.ExecuteWorkflow(DeliveryWorkflow, DeliveryInput{DeliveryID: "dlv_1", Schedule: []time.Duration{0, time.Millisecond, 2 * time.Millisecond, time.Hour}})
	s.Equal(DeliveryResult{Status: StatusSucceeded, Attempts: 3}, s.result())
	s.Len(s.attempts, 3)
	s.Empty(s.finished)
}

func (s *deliverySuite) TestASkipEndsTheDeliveryWithItsReason() {
	for _, reason := range []string{"endpoint_disabled", "endpoint_deleted", "sandbox_mismatch"} {
		s.Run(reason, func() {
			s.SetupTest()
			s.answer(failed, activities.AttemptResult{Status: StatusSkipped, Reason: reason})
			s.env.ExecuteWorkflow(DeliveryWorkflow, DeliveryInput{DeliveryID: "dlv_1"})
			s.Equal(DeliveryResult{Status: StatusSkipped, Reason: reason, Attempts: 2}, s.result())
			s.Len(s.attempts, 2)
			s.Empty(s.finished)
		})
	}
}

func (s *deliverySuite) TestAnAttemptThatCannotCompleteCountsAsFailed() {
	s.answer(errors.New("database is down"), succeeded)
	s.env.ExecuteWorkflow(DeliveryWorkflow, DeliveryInput{DeliveryID: "dlv_1", Schedule: []time.Duration{0, time.Second}})
	s.Equal(DeliveryResult{Status: StatusSucceeded, Attempts: 2}, s.result())
}

func (s *deliverySuite) TestAShortScheduleIsHonoured() {
	s.answer(failed)
	s.env.ExecuteWorkflow(DeliveryWorkflow, DeliveryInput{DeliveryID: "dlv_1", Schedule: []time.Duration{0, time.Millisecond, time.Millisecond}})
	s.Equal(DeliveryResult{Status: StatusFailed, Reason: "attempts_exhausted", Attempts: 3}, s.result())
	s.Len(s.attempts, 3)
}

func TestEventWorkflowRunsOneChildPerPendingDelivery(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(EventWorkflow)
	env.RegisterWorkflow(DeliveryWorkflow)
	env.RegisterActivity(&activities.Activities{})
	env.OnActivity(a.PendingDeliveries, mock.Anything, activities.PendingInput{EventID: "evt_1"}).Return(activities.PendingResult{Deliveries: []activities.PendingDelivery{
		{DeliveryID: "dlv_ok", WorkflowID: DeliveryWorkflowID("dlv_ok")},
		{DeliveryID: "dlv_bad", WorkflowID: DeliveryWorkflowID("dlv_bad")},
		{DeliveryID: "dlv_off", WorkflowID: DeliveryWorkflowID("dlv_off")},
	}}, nil)
	var mu sync.Mutex
	seen := map[string]int{}
	env.OnActivity(a.Attempt, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.AttemptInput) (activities.AttemptResult, error) {
		mu.Lock()
		seen[in.DeliveryID]++
		mu.Unlock()
		switch in.DeliveryID {
		case "dlv_ok":
			return succeeded, nil
		case "dlv_off":
			return activities.AttemptResult{Status: StatusSkipped, Reason: "endpoint_disabled"}, nil
		}
		return failed, nil
	})
	env.OnActivity(a.FinishDelivery, mock.Anything, activities.FinishInput{DeliveryID: "dlv_bad", Status: StatusFailed, Reason: "attempts_exhausted"}).Return(nil).Once()

	env.ExecuteWorkflow(EventWorkflow, EventInput{EventID: "evt_1"})
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("completed %v, error %v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	var r EventResult
	if err := env.GetWorkflowResult(&r); err != nil {
		t.Fatal(err)
	}
	if want := (EventResult{Deliveries: 3, Succeeded: 1, Failed: 1, Skipped: 1}); r != want {
		t.Fatalf("result %+v, want %+v", r, want)
	}
	if seen["dlv_ok"] != 1 || seen["dlv_off"] != 1 || seen["dlv_bad"] != len(DefaultSchedule) {
		t.Fatalf("attempts per delivery: %v", seen)
	}
	env.AssertExpectations(t)
}

func TestEventWorkflowWithNoDeliveriesCompletes(t *testing.T) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(EventWorkflow)
	env.RegisterActivity(&activities.Activities{})
	env.OnActivity(a.PendingDeliveries, mock.Anything, mock.Anything).Return(activities.PendingResult{}, nil)
	env.ExecuteWorkflow(EventWorkflow, EventInput{EventID: "evt_1"})
	var r EventResult
	if err := env.GetWorkflowResult(&r); err != nil || r != (EventResult{}) {
		t.Fatalf("result %+v, err %v", r, err)
	}
}

func TestParseSchedule(t *testing.T) {
	tests := []struct {
		in      string
		want    []time.Duration
		wantErr bool
	}{
		{in: "0s,5s,5m", want: []time.Duration{0, 5 * time.Second, 5 * time.Minute}},
		{in: " 0s , 10ms ", want: []time.Duration{0, 10 * time.Millisecond}},
		{in: "", wantErr: true},
		{in: "0s,soon", wantErr: true},
		{in: "0s,-1s", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseSchedule(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseSchedule(%q) error %v", tt.in, err)
			continue
		}
		if !tt.wantErr && len(got) != len(tt.want) {
			t.Errorf("ParseSchedule(%q) = %v, want %v", tt.in, got, tt.want)
		}
		for i := range tt.want {
			if i < len(got) && got[i] != tt.want[i] {
				t.Errorf("ParseSchedule(%q)[%d] = %v, want %v", tt.in, i, got[i], tt.want[i])
			}
		}
	}
}

// fastEnv is an event workflow on the fast path with its first attempts
// answered by firsts, and child attempts by childAnswer.
func fastEnv(t *testing.T, firsts activities.FirstAttemptsResult, firstErr error, childAnswer func(activities.AttemptInput) activities.AttemptResult) (*testsuite.TestWorkflowEnvironment, *[]activities.AttemptInput) {
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(EventWorkflow)
	env.RegisterWorkflow(DeliveryWorkflow)
	env.RegisterActivity(&activities.Activities{})
	env.OnActivity(a.FirstAttempts, mock.Anything, mock.MatchedBy(func(in activities.FirstAttemptsInput) bool {
		return in.EventID == "evt_1" && in.NextDelay == 5*time.Second && in.Jitter && !in.Now.IsZero()
	})).Return(firsts, firstErr)
	var mu sync.Mutex
	var attempts []activities.AttemptInput
	env.OnActivity(a.Attempt, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.AttemptInput) (activities.AttemptResult, error) {
		mu.Lock()
		defer mu.Unlock()
		attempts = append(attempts, in)
		return childAnswer(in), nil
	}).Maybe()
	env.OnActivity(a.FinishDelivery, mock.Anything, mock.Anything).Return(nil).Maybe()
	env.OnActivity(a.PendingDeliveries, mock.Anything, mock.Anything).Return(activities.PendingResult{Deliveries: []activities.PendingDelivery{
		{DeliveryID: "dlv_a", WorkflowID: "delivery-dlv_a"}}}, nil).Maybe()
	return env, &attempts
}

func eventResult(t *testing.T, env *testsuite.TestWorkflowEnvironment) EventResult {
	t.Helper()
	if !env.IsWorkflowCompleted() || env.GetWorkflowError() != nil {
		t.Fatalf("completed %v, error %v", env.IsWorkflowCompleted(), env.GetWorkflowError())
	}
	var r EventResult
	if err := env.GetWorkflowResult(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

func first(id string, r activities.AttemptResult) activities.FirstAttempt {
	return activities.FirstAttempt{DeliveryID: id, WorkflowID: DeliveryWorkflowID(id), Result: r}
}

func TestTheFastPathStartsNoChildWhenFirstAttemptsEndTheDeliveries(t *testing.T) {
	env, attempts := fastEnv(t, activities.FirstAttemptsResult{Deliveries: []activities.FirstAttempt{
		first("dlv_a", succeeded),
		first("dlv_b", activities.AttemptResult{Status: StatusSkipped, Reason: "endpoint_disabled"}),
	}}, nil, nil)
	env.ExecuteWorkflow(EventWorkflow, EventInput{EventID: "evt_1", FastPath: true})
	if r := eventResult(t, env); r != (EventResult{Deliveries: 2, Succeeded: 1, Skipped: 1}) {
		t.Fatalf("result %+v", r)
	}
	if len(*attempts) != 0 {
		t.Fatalf("child attempts %+v", *attempts)
	}
}

func TestTheFastPathHandsFailuresToAChildThatGoesOnFromTheSecondAttempt(t *testing.T) {
	env, attempts := fastEnv(t, activities.FirstAttemptsResult{Deliveries: []activities.FirstAttempt{
		first("dlv_a", succeeded),
		first("dlv_b", failed),
	}}, nil, func(in activities.AttemptInput) activities.AttemptResult {
		if in.Number < 4 { // failed NextDelay is 0, as in results recorded before it: the child jitters the schedule
			return failed
		}
		return succeeded
	})
	start := env.Now()
	var secondAt time.Time
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		if info.ActivityType.Name == "Attempt" && secondAt.IsZero() {
			secondAt = env.Now()
		}
	})
	env.ExecuteWorkflow(EventWorkflow, EventInput{EventID: "evt_1", FastPath: true})
	if r := eventResult(t, env); r != (EventResult{Deliveries: 2, Succeeded: 2}) {
		t.Fatalf("result %+v", r)
	}
	got := *attempts
	if len(got) != 3 || got[0].Number != 2 || got[0].DeliveryID != "dlv_b" || got[2].Number != 4 {
		t.Fatalf("child attempts %+v", got)
	}
	if wait, want := secondAt.Sub(start), retry.Jitter("dlv_b", 2, DefaultSchedule[1]); wait < want || wait > want+time.Second {
		t.Fatalf("the second attempt came %s after the first, want %s", wait, want)
	}
}

func TestAThrottledFirstAttemptIsMadeByTheChildWithoutUsingAnAttempt(t *testing.T) {
	calls := 0
	env, attempts := fastEnv(t, activities.FirstAttemptsResult{Deliveries: []activities.FirstAttempt{
		first("dlv_a", activities.AttemptResult{Status: activities.StatusThrottled}),
	}}, nil, func(in activities.AttemptInput) activities.AttemptResult {
		if calls++; calls < 3 {
			return activities.AttemptResult{Status: activities.StatusThrottled}
		}
		return succeeded
	})
	env.ExecuteWorkflow(EventWorkflow, EventInput{EventID: "evt_1", FastPath: true})
	if r := eventResult(t, env); r != (EventResult{Deliveries: 1, Succeeded: 1}) {
		t.Fatalf("result %+v", r)
	}
	for _, in := range *attempts {
		if in.Number != 1 {
			t.Fatalf("a throttled attempt used up an attempt: %+v", *attempts)
		}
	}
	if len(*attempts) != 3 {
		t.Fatalf("attempts %+v", *attempts)
	}
}

func TestFirstAttemptsThatCannotCompleteFallBackToChildrenFromTheFirstAttempt(t *testing.T) {
	env, attempts := fastEnv(t, activities.FirstAttemptsResult{}, errors.New("database is down"), func(activities.AttemptInput) activities.AttemptResult { return succeeded })
	env.ExecuteWorkflow(EventWorkflow, EventInput{EventID: "evt_1", FastPath: true})
	if r := eventResult(t, env); r != (EventResult{Deliveries: 1, Succeeded: 1}) {
		t.Fatalf("result %+v", r)
	}
	if got := *attempts; len(got) != 1 || got[0].Number != 1 || got[0].DeliveryID != "dlv_a" {
		t.Fatalf("child attempts %+v", got)
	}
}

func (s *deliverySuite) TestARetryAfterMovesTheNextAttempt() {
	s.answer(activities.AttemptResult{Status: StatusPending, StatusCode: 429, Error: "http_status", NextDelay: 3 * time.Hour}, succeeded)
	s.env.ExecuteWorkflow(DeliveryWorkflow, DeliveryInput{DeliveryID: "dlv_1"})
	s.Equal(DeliveryResult{Status: StatusSucceeded, Attempts: 2}, s.result())
	s.InDelta((3 * time.Hour).Seconds(), s.times[1].Sub(s.times[0]).Seconds(), 1)
}

func (s *deliverySuite) TestAChildFromTheSecondAttemptWaitsWhatTheFirstDecided() {
	s.answer(succeeded)
	start := s.env.Now()
	s.env.ExecuteWorkflow(DeliveryWorkflow, DeliveryInput{DeliveryID: "dlv_1", FirstAttempt: 2, FirstDelay: 42 * time.Minute})
	s.Equal(DeliveryResult{Status: StatusSucceeded, Attempts: 2}, s.result())
	s.Equal(2, s.attempts[0].Number)
	s.InDelta((42 * time.Minute).Seconds(), s.times[0].Sub(start).Seconds(), 1)
}

func TestSandboxEventsFollowTheSandboxSchedule(t *testing.T) {
	in := EventInput{Schedule: DefaultSchedule, Sandbox: true, SandboxSchedule: DefaultSandboxSchedule}
	if got := in.schedule(); len(got) != 3 || got[2] != 50*time.Minute {
		t.Fatalf("sandbox schedule %v", got)
	}
	in.Sandbox = false
	if got := in.schedule(); len(got) != len(DefaultSchedule) {
		t.Fatalf("live schedule %v", got)
	}
}

func TestTheFirstAttemptsRetryAfterCarriesIntoTheChild(t *testing.T) {
	ra := activities.AttemptResult{Status: StatusPending, StatusCode: 503, Error: "http_status", NextDelay: 2 * time.Hour}
	env, attempts := fastEnv(t, activities.FirstAttemptsResult{Deliveries: []activities.FirstAttempt{first("dlv_b", ra)}}, nil,
		func(activities.AttemptInput) activities.AttemptResult { return succeeded })
	start := env.Now()
	var secondAt time.Time
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		if info.ActivityType.Name == "Attempt" {
			secondAt = env.Now()
		}
	})
	env.ExecuteWorkflow(EventWorkflow, EventInput{EventID: "evt_1", FastPath: true})
	if r := eventResult(t, env); r != (EventResult{Deliveries: 1, Succeeded: 1}) || len(*attempts) != 1 {
		t.Fatalf("result %+v, attempts %+v", r, *attempts)
	}
	if wait := secondAt.Sub(start); wait < 2*time.Hour || wait > 2*time.Hour+time.Second {
		t.Fatalf("the second attempt came %s after the first, want the Retry-After's 2h", wait)
	}
}

func (s *deliverySuite) TestARetrySignalAttemptsNowInsteadOfAtTheScheduledTime() {
	s.answer(failed, succeeded)
	start := s.env.Now()
	s.env.RegisterDelayedCallback(func() { s.env.SignalWorkflow(SignalRetryNow, nil) }, time.Second)
	s.env.ExecuteWorkflow(DeliveryWorkflow, DeliveryInput{DeliveryID: "dlv_1", Schedule: []time.Duration{0, time.Hour}})
	s.Equal(DeliveryResult{Status: StatusSucceeded, Attempts: 2}, s.result())
	s.InDelta(1, s.times[1].Sub(start).Seconds(), 0.5, "the second attempt came at the signal, not after an hour")
}

func (s *deliverySuite) TestACancelSignalEndsTheDeliveryAsSkipped() {
	s.answer(failed)
	s.env.RegisterDelayedCallback(func() { s.env.SignalWorkflow(SignalCancel, nil) }, time.Minute)
	s.env.ExecuteWorkflow(DeliveryWorkflow, DeliveryInput{DeliveryID: "dlv_1", Schedule: []time.Duration{0, time.Hour, time.Hour}})
	s.Equal(DeliveryResult{Status: StatusSkipped, Reason: ReasonCanceled, Attempts: 1}, s.result())
	s.Len(s.attempts, 1)
	s.Equal([]activities.FinishInput{{DeliveryID: "dlv_1", Status: StatusSkipped, Reason: ReasonCanceled}}, s.finished)
}
