package models_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/securo/webhooks/internal/storetest"
	"github.com/securo/webhooks/models"
)

func TestAcceptEventKeepsDataByteForByte(t *testing.T) {
	const big = "123456789012345678901234567890123456789012345678901234567890123456789012345678"
	if len(big) != 78 {
		t.Fatalf("test integer has %d digits, want 78", len(big))
	}
	tests := []struct {
		name string
		data string
	}{
		{"compact object", `{"a":1}`},
		{"whitespace and newlines", "{\n  \"a\" :\t1 ,\r\n  \"b\": [ 1,2 ]\n}\n"},
		{"a 78-digit integer", `{"amount":` + big + `}`},
		{"a float with trailing zeros", `{"x":1.50000,"y":1e400}`},
		{"duplicate keys in their order", `{"z":1,"a":2,"z":3}`},
		{"escapes and non-ASCII text", `{"s":"caf\u00e9 café \"q\" \\ 𝄞"}`},
	}
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		s := storetest.Open(t, kind)
		acct, _ := storetest.Account(t, s, "acme")
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				in := eventInput(acct.ID, "order.paid")
				in.Data = tt.data
				res := accept(t, s, in)
				if res.Event.Data != tt.data {
					t.Errorf("AcceptEvent Data = %q, want %q", res.Event.Data, tt.data)
				}
				got, _, err := s.GetEvent(ctx, acct.ID, res.Event.ID)
				if err != nil {
					t.Fatalf("get event: %v", err)
				}
				if got.Data != tt.data {
					t.Errorf("GetEvent Data = %q, want %q", got.Data, tt.data)
				}
				loaded, err := s.LoadEvent(ctx, res.Event.ID)
				if err != nil {
					t.Fatalf("load event: %v", err)
				}
				if loaded.Data != tt.data {
					t.Errorf("LoadEvent Data = %q, want %q", loaded.Data, tt.data)
				}
			})
		}
	})
}

func TestAcceptEventFansOutToMatchingEndpoints(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		s := storetest.Open(t, kind)
		acct, _ := storetest.Account(t, s, "acme")
		other, _ := storetest.Account(t, s, "other")

		ep := map[string]models.Endpoint{
			"live all":       newEndpoint(t, s, acct.ID, nil),
			"live orders":    newEndpoint(t, s, acct.ID, func(e *models.Endpoint) { e.EventTypes = models.StringList{"order.*"} }),
			"live users":     newEndpoint(t, s, acct.ID, func(e *models.Endpoint) { e.EventTypes = models.StringList{"user.created"} }),
			"live disabled":  newEndpoint(t, s, acct.ID, func(e *models.Endpoint) { e.Enabled = false }),
			"live deleted":   newEndpoint(t, s, acct.ID, nil),
			"sandbox all":    newEndpoint(t, s, acct.ID, func(e *models.Endpoint) { e.Sandbox = true }),
			"sandbox users":  newEndpoint(t, s, acct.ID, func(e *models.Endpoint) { e.Sandbox = true; e.EventTypes = models.StringList{"user.*"} }),
			"sandbox off":    newEndpoint(t, s, acct.ID, func(e *models.Endpoint) { e.Sandbox = true; e.Enabled = false }),
			"other live":     newEndpoint(t, s, other.ID, nil),
			"other sandbox":  newEndpoint(t, s, other.ID, func(e *models.Endpoint) { e.Sandbox = true }),
			"live wrong sub": newEndpoint(t, s, acct.ID, func(e *models.Endpoint) { e.EventTypes = models.StringList{"dex.*"} }),
		}
		if err := s.DeleteEndpoint(ctx, acct.ID, ep["live deleted"].ID); err != nil {
			t.Fatalf("delete endpoint: %v", err)
		}

		tests := []struct {
			name      string
			eventType string
			sandbox   bool
			pending   []string
			skipped   []string
		}{
			{"a live order goes to live endpoints that take orders", "order.paid", false,
				[]string{"live all", "live orders"}, []string{"live disabled"}},
			{"a live user event goes to live endpoints that take it", "user.created", false,
				[]string{"live all", "live users"}, []string{"live disabled"}},
			{"a live event nobody subscribes to goes to catch-all endpoints", "invoice.sent", false,
				[]string{"live all"}, []string{"live disabled"}},
			{"a sandbox order goes to sandbox endpoints that take orders", "order.paid", true,
				[]string{"sandbox all"}, []string{"sandbox off"}},
			{"a sandbox user event goes to sandbox endpoints that take it", "user.deleted", true,
				[]string{"sandbox all", "sandbox users"}, []string{"sandbox off"}},
		}
		names := map[string]string{}
		for name, e := range ep {
			names[e.ID] = name
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				in := eventInput(acct.ID, tt.eventType)
				in.Sandbox = tt.sandbox
				res := accept(t, s, in)
				if res.Replayed {
					t.Error("a new event was reported as replayed")
				}
				if res.Event.Sandbox != tt.sandbox || res.Event.Type != tt.eventType || res.Event.AccountID != acct.ID {
					t.Errorf("event = %+v, want type %s, sandbox %v, account %s", res.Event, tt.eventType, tt.sandbox, acct.ID)
				}
				if want := testEventWorkflowID(res.Event.ID); res.Event.WorkflowID != want {
					t.Errorf("event WorkflowID = %q, want %q", res.Event.WorkflowID, want)
				}

				_, stored, err := s.GetEvent(ctx, acct.ID, res.Event.ID)
				if err != nil {
					t.Fatalf("get event: %v", err)
				}
				if !slices.Equal(deliveryIDs(stored), deliveryIDs(res.Deliveries)) {
					t.Errorf("GetEvent deliveries %v, AcceptEvent returned %v", deliveryIDs(stored), deliveryIDs(res.Deliveries))
				}
				pending, skipped := map[string]bool{}, map[string]bool{}
				for _, d := range stored {
					name := names[d.EndpointID]
					if d.EventID != res.Event.ID || d.AccountID != acct.ID {
						t.Errorf("delivery to %s: event %s, account %s", name, d.EventID, d.AccountID)
					}
					if want := testDeliveryWorkflowID(d.ID); d.WorkflowID != want {
						t.Errorf("delivery to %s: WorkflowID = %q, want %q", name, d.WorkflowID, want)
					}
					switch d.Status {
					case models.StatusPending:
						pending[name] = true
						if d.Reason != "" || d.NextAttemptAt == nil || !d.NextAttemptAt.Equal(res.Event.CreatedAt) {
							t.Errorf("pending delivery to %s: reason %q, next attempt %v; want none, now", name, d.Reason, d.NextAttemptAt)
						}
					case models.StatusSkipped:
						skipped[name] = true
						if d.Reason != models.ReasonEndpointDisabled || d.NextAttemptAt != nil {
							t.Errorf("skipped delivery to %s: reason %q, next attempt %v; want %s, nil", name, d.Reason, d.NextAttemptAt, models.ReasonEndpointDisabled)
						}
					default:
						t.Errorf("delivery to %s has status %q", name, d.Status)
					}
				}
				if got := slices.Sorted(maps.Keys(pending)); !slices.Equal(got, tt.pending) {
					t.Errorf("pending deliveries to %q, want %q", got, tt.pending)
				}
				if got := slices.Sorted(maps.Keys(skipped)); !slices.Equal(got, tt.skipped) {
					t.Errorf("skipped deliveries to %q, want %q", got, tt.skipped)
				}
			})
		}
	})
}

func TestAcceptEventWithAnIdempotencyKey(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		s := storetest.Open(t, kind)
		acct, _ := storetest.Account(t, s, "acme")
		other, _ := storetest.Account(t, s, "other")
		newEndpoint(t, s, acct.ID, nil)
		newEndpoint(t, s, acct.ID, func(e *models.Endpoint) { e.Enabled = false })
		newEndpoint(t, s, other.ID, nil)

		keyed := func(accountID, key, hash string) models.AcceptEventInput {
			in := eventInput(accountID, "order.paid")
			in.IdempotencyKey, in.RequestHash = key, hash
			return in
		}
		first := accept(t, s, keyed(acct.ID, "k1", "h1"))
		if first.Replayed || len(first.Deliveries) != 2 {
			t.Fatalf("first request: replayed %v, %d deliveries; want new, 2", first.Replayed, len(first.Deliveries))
		}

		t.Run("the same key and request replay the event", func(t *testing.T) {
			before := count(t, s, "events")
			again := accept(t, s, keyed(acct.ID, "k1", "h1"))
			if !again.Replayed || again.Event.ID != first.Event.ID {
				t.Fatalf("replay = event %s, replayed %v; want %s, replayed", again.Event.ID, again.Replayed, first.Event.ID)
			}
			if !again.Event.CreatedAt.Equal(first.Event.CreatedAt) || again.Event.WorkflowID != first.Event.WorkflowID {
				t.Errorf("replayed event = %+v, want %+v", again.Event, first.Event)
			}
			if !slices.Equal(deliveryIDs(again.Deliveries), deliveryIDs(first.Deliveries)) {
				t.Errorf("replayed deliveries %v, want %v", deliveryIDs(again.Deliveries), deliveryIDs(first.Deliveries))
			}
			if after := count(t, s, "events"); after != before {
				t.Errorf("a replay wrote %d events", after-before)
			}
		})

		t.Run("the same key with another request conflicts and writes nothing", func(t *testing.T) {
			tables := []string{"events", "deliveries", "idempotency_keys"}
			before := map[string]int64{}
			for _, table := range tables {
				before[table] = count(t, s, table)
			}
			_, err := s.AcceptEvent(ctx, keyed(acct.ID, "k1", "h2"))
			if !errors.Is(err, models.ErrIdempotencyConflict) {
				t.Fatalf("AcceptEvent error = %v, want ErrIdempotencyConflict", err)
			}
			for _, table := range tables {
				if after := count(t, s, table); after != before[table] {
					t.Errorf("a conflict changed %s from %d rows to %d", table, before[table], after)
				}
			}
			again := accept(t, s, keyed(acct.ID, "k1", "h1"))
			if !again.Replayed || again.Event.ID != first.Event.ID {
				t.Errorf("after a conflict the key names %s (replayed %v), want %s", again.Event.ID, again.Replayed, first.Event.ID)
			}
		})

		t.Run("the same key on another account is its own", func(t *testing.T) {
			res := accept(t, s, keyed(other.ID, "k1", "h2"))
			if res.Replayed || res.Event.ID == first.Event.ID || res.Event.AccountID != other.ID {
				t.Fatalf("other account's request = event %s of %s, replayed %v; want a new event of %s", res.Event.ID, res.Event.AccountID, res.Replayed, other.ID)
			}
			again := accept(t, s, keyed(other.ID, "k1", "h2"))
			if !again.Replayed || again.Event.ID != res.Event.ID {
				t.Errorf("other account's replay = %s (replayed %v), want %s", again.Event.ID, again.Replayed, res.Event.ID)
			}
		})

		t.Run("another key makes another event", func(t *testing.T) {
			res := accept(t, s, keyed(acct.ID, "k2", "h1"))
			if res.Replayed || res.Event.ID == first.Event.ID {
				t.Errorf("key k2 = event %s, replayed %v; want a new event", res.Event.ID, res.Replayed)
			}
		})

		t.Run("an expired key makes a new event", func(t *testing.T) {
			expired := models.Now().Add(-models.IdempotencyTTL - time.Hour)
			res := s.DB().Exec("UPDATE idempotency_keys SET created_at = ? WHERE account_id = ? AND key = ?", expired, acct.ID, "k1")
			if res.Error != nil || res.RowsAffected != 1 {
				t.Fatalf("age key: %d rows, %v", res.RowsAffected, res.Error)
			}
			// An expired key is free, whatever request it named.
			fresh := accept(t, s, keyed(acct.ID, "k1", "h3"))
			if fresh.Replayed || fresh.Event.ID == first.Event.ID {
				t.Fatalf("expired key = event %s, replayed %v; want a new event", fresh.Event.ID, fresh.Replayed)
			}
			again := accept(t, s, keyed(acct.ID, "k1", "h3"))
			if !again.Replayed || again.Event.ID != fresh.Event.ID {
				t.Errorf("reused key after expiry = %s (replayed %v), want %s", again.Event.ID, again.Replayed, fresh.Event.ID)
			}
			if _, _, err := s.GetEvent(ctx, acct.ID, first.Event.ID); err != nil {
				t.Errorf("the first event is gone after its key expired: %v", err)
			}
		})
	})
}

func TestConcurrentAcceptEventWithOneKeyMakesOneEvent(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		s := storetest.Open(t, kind)
		acct, _ := storetest.Account(t, s, "acme")
		newEndpoint(t, s, acct.ID, nil)
		newEndpoint(t, s, acct.ID, nil)

		for round := range 3 {
			in := eventInput(acct.ID, "order.paid")
			in.IdempotencyKey = "key-" + string(rune('a'+round))
			in.RequestHash = "hash"
			const n = 8
			var (
				start, done sync.WaitGroup
				results     [n]models.AcceptEventResult
				errs        [n]error
			)
			start.Add(1)
			for i := range n {
				done.Go(func() {
					start.Wait()
					results[i], errs[i] = s.AcceptEvent(ctx, in)
				})
			}
			start.Done()
			done.Wait()

			replayed := 0
			for i := range n {
				if errs[i] != nil {
					t.Errorf("round %d: request %d: %v", round, i, errs[i])
					continue
				}
				if results[i].Event.ID != results[0].Event.ID {
					t.Errorf("round %d: request %d got event %s, request 0 got %s", round, i, results[i].Event.ID, results[0].Event.ID)
				}
				if !slices.Equal(deliveryIDs(results[i].Deliveries), deliveryIDs(results[0].Deliveries)) || len(results[i].Deliveries) != 2 {
					t.Errorf("round %d: request %d got deliveries %v, request 0 got %v", round, i, deliveryIDs(results[i].Deliveries), deliveryIDs(results[0].Deliveries))
				}
				if results[i].Replayed {
					replayed++
				}
			}
			if replayed != n-1 {
				t.Errorf("round %d: %d of %d requests replayed, want %d", round, replayed, n, n-1)
			}
			var events, deliveries int64
			s.DB().Table("events").Where("account_id = ?", acct.ID).Count(&events)
			s.DB().Table("deliveries").Where("account_id = ?", acct.ID).Count(&deliveries)
			if events != int64(round+1) || deliveries != 2*int64(round+1) {
				t.Errorf("round %d: %d events and %d deliveries stored, want %d and %d", round, events, deliveries, round+1, 2*(round+1))
			}
		}
	})
}

func TestListEventsWalksPagesNewestFirst(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		s := storetest.Open(t, kind)
		acct, _ := storetest.Account(t, s, "acme")
		other, _ := storetest.Account(t, s, "other")
		var events []models.Event
		for range 25 {
			events = append(events, accept(t, s, eventInput(acct.ID, "order.paid")).Event)
		}
		accept(t, s, eventInput(other.ID, "order.paid"))

		got, sizes := walkEvents(t, s, acct.ID, models.EventFilter{}, 10)
		if !slices.Equal(sizes, []int{10, 10, 5}) {
			t.Errorf("page sizes %v, want [10 10 5]", sizes)
		}
		if want := newestFirst(events); !slices.Equal(got, want) {
			t.Errorf("pages listed\n%v\nwant\n%v", got, want)
		}
		if got[0] != events[24].ID || got[24] != events[0].ID {
			t.Errorf("pages start with %s and end with %s, want the newest %s and the oldest %s", got[0], got[24], events[24].ID, events[0].ID)
		}
	})
}

func TestListEventsPagesThroughEventsMadeAtTheSameInstant(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		s := storetest.Open(t, kind)
		acct, _ := storetest.Account(t, s, "acme")
		var events []models.Event
		for range 12 {
			events = append(events, accept(t, s, eventInput(acct.ID, "order.paid")).Event)
		}
		// Seven events share one instant, across page boundaries of 3; two
		// more share another, whole-second one.
		same := models.Now().Add(-time.Minute)
		whole := same.Truncate(time.Second).Add(-time.Second)
		for i := 2; i < 9; i++ {
			events[i].CreatedAt = same
		}
		events[10].CreatedAt, events[11].CreatedAt = whole, whole
		setCreatedAt(t, s, "events", same, eventIDs(events[2:9])...)
		setCreatedAt(t, s, "events", whole, events[10].ID, events[11].ID)

		for _, limit := range []int{1, 2, 3, 4, 7, 12, 13} {
			got, sizes := walkEvents(t, s, acct.ID, models.EventFilter{}, limit)
			if want := newestFirst(events); !slices.Equal(got, want) {
				t.Errorf("limit %d: pages %v listed\n%v\nwant\n%v", limit, sizes, got, want)
			}
		}
	})
}

func TestListEventsFilters(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		s := storetest.Open(t, kind)
		acct, _ := storetest.Account(t, s, "acme")
		other, _ := storetest.Account(t, s, "other")
		byName := map[string]models.Event{}
		for _, e := range []struct {
			name, eventType string
			sandbox         bool
		}{
			{"live paid 1", "order.paid", false},
			{"live paid 2", "order.paid", false},
			{"live refund", "order.refunded", false},
			{"sandbox paid", "order.paid", true},
			{"sandbox user", "user.created", true},
		} {
			in := eventInput(acct.ID, e.eventType)
			in.Sandbox = e.sandbox
			byName[e.name] = accept(t, s, in).Event
		}
		accept(t, s, eventInput(other.ID, "order.paid"))

		tests := []struct {
			name   string
			filter models.EventFilter
			want   []string
		}{
			{"no filter lists all of the account's events", models.EventFilter{},
				[]string{"live paid 1", "live paid 2", "live refund", "sandbox paid", "sandbox user"}},
			{"a type lists events of that type", models.EventFilter{Type: "order.paid"},
				[]string{"live paid 1", "live paid 2", "sandbox paid"}},
			{"live lists live events", models.EventFilter{Sandbox: ptr(false)},
				[]string{"live paid 1", "live paid 2", "live refund"}},
			{"sandbox lists sandbox events", models.EventFilter{Sandbox: ptr(true)},
				[]string{"sandbox paid", "sandbox user"}},
			{"type and sandbox together", models.EventFilter{Type: "order.paid", Sandbox: ptr(true)},
				[]string{"sandbox paid"}},
			{"a type without events lists nothing", models.EventFilter{Type: "order"}, nil},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var want []models.Event
				for _, name := range tt.want {
					want = append(want, byName[name])
				}
				got, _ := walkEvents(t, s, acct.ID, tt.filter, 2)
				if w := newestFirst(want); !slices.Equal(got, w) {
					t.Errorf("listed %v, want %v", got, w)
				}
			})
		}
	})
}

// walkEvents follows ListEvents cursors to the end and returns the ids in
// the order listed and the size of each page.
func walkEvents(t *testing.T, s *models.Store, accountID string, f models.EventFilter, limit int) ([]string, []int) {
	t.Helper()
	var (
		ids    []string
		sizes  []int
		cursor string
	)
	for page := 0; ; page++ {
		if page > 100 {
			t.Fatal("more than 100 pages: the cursor does not advance")
		}
		rows, next, err := s.ListEvents(context.Background(), accountID, f, models.Page{Limit: limit, Cursor: cursor})
		if err != nil {
			t.Fatalf("list events page %d: %v", page, err)
		}
		if len(rows) > limit {
			t.Fatalf("page %d has %d events, limit %d", page, len(rows), limit)
		}
		ids = append(ids, eventIDs(rows)...)
		sizes = append(sizes, len(rows))
		if next == "" {
			return ids, sizes
		}
		cursor = next
	}
}

func TestUnstartedEvents(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		ctx := context.Background()
		s := storetest.Open(t, kind)
		acct, _ := storetest.Account(t, s, "acme")
		base := models.Now().Add(-time.Hour)
		var evs []models.Event
		for i := range 6 {
			ev := accept(t, s, eventInput(acct.ID, "order.paid")).Event
			// Make creation order the reverse of id order, so oldest first
			// is checked by created_at and not by id.
			ev.CreatedAt = base.Add(time.Duration(-i) * time.Minute)
			setCreatedAt(t, s, "events", ev.CreatedAt, ev.ID)
			evs = append(evs, ev)
		}
		// evs[5] is the oldest, evs[0] the newest at base.
		for _, i := range []int{1, 4} {
			if err := s.MarkWorkflowStarted(ctx, evs[i].ID); err != nil {
				t.Fatalf("mark started: %v", err)
			}
		}
		ev, err := s.LoadEvent(ctx, evs[1].ID)
		if err != nil || ev.WorkflowStartedAt == nil {
			t.Fatalf("after MarkWorkflowStarted the event is %+v, %v; want a start time", ev, err)
		}
		// Marking again keeps the first time.
		startedAt := *ev.WorkflowStartedAt
		time.Sleep(2 * time.Millisecond)
		if err := s.MarkWorkflowStarted(ctx, evs[1].ID); err != nil {
			t.Fatalf("mark started again: %v", err)
		}
		if ev, _ := s.LoadEvent(ctx, evs[1].ID); ev.WorkflowStartedAt == nil || !ev.WorkflowStartedAt.Equal(startedAt) {
			t.Errorf("marking again moved the start time from %v to %v", startedAt, ev.WorkflowStartedAt)
		}
		recent := accept(t, s, eventInput(acct.ID, "order.paid")).Event

		tests := []struct {
			name   string
			before time.Time
			limit  int
			want   []models.Event
		}{
			{"all unstarted events older than before, oldest first", base.Add(time.Second), 10, []models.Event{evs[5], evs[3], evs[2], evs[0]}},
			{"the limit keeps the oldest", base.Add(time.Second), 2, []models.Event{evs[5], evs[3]}},
			{"an event made at before is left out", base, 10, []models.Event{evs[5], evs[3], evs[2]}},
			{"nothing is older than the oldest", evs[5].CreatedAt, 10, nil},
			{"a later before includes new events", models.Now().Add(time.Minute), 10, []models.Event{evs[5], evs[3], evs[2], evs[0], recent}},
			{"before in another time zone is the same instant", base.Add(time.Second).In(time.FixedZone("UTC-10", -10*3600)), 10, []models.Event{evs[5], evs[3], evs[2], evs[0]}},
			{"before east of UTC is the same instant", base.Add(-150 * time.Second).In(time.FixedZone("UTC+14", 14*3600)), 10, []models.Event{evs[5], evs[3]}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.UnstartedEvents(ctx, tt.before, tt.limit)
				if err != nil {
					t.Fatalf("UnstartedEvents: %v", err)
				}
				if !slices.Equal(eventIDs(got), eventIDs(tt.want)) {
					t.Errorf("UnstartedEvents = %v, want %v", eventIDs(got), eventIDs(tt.want))
				}
			})
		}
	})
}
