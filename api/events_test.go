package api_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/securo/webhooks/api"
	"github.com/securo/webhooks/internal/storetest"
	"github.com/securo/webhooks/models"
)

func TestPostEvent(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		h := newHarness(t, kind)
		ep := h.createEndpoint(h.keyA, `{"url":"https://a.example.com"}`)

		r := h.do("POST", "/v1/events", h.keyA, `{"type":"order.created","data":{"id":7}}`).want(t, http.StatusAccepted)
		if r.header.Get("Idempotent-Replayed") != "" {
			t.Errorf("a first request is marked as replayed")
		}
		var ev event
		r.decode(t, &ev)
		if !strings.HasPrefix(ev.ID, "evt_") || ev.Type != "order.created" || string(ev.Data) != `{"id":7}` || ev.Sandbox ||
			ev.WorkflowID != "event-"+ev.ID || !strings.HasSuffix(ev.CreatedAt, "Z") {
			t.Errorf("POST answered %s", r.body)
		}
		if n := h.launcher.count(ev.ID); n != 1 {
			t.Errorf("launched %d times, want 1", n)
		}

		got := h.getEvent(h.keyA, ev.ID)
		if got.ID != ev.ID || string(got.Data) != `{"id":7}` || got.CreatedAt != ev.CreatedAt || got.WorkflowID != ev.WorkflowID {
			t.Errorf("GET answered %+v, want %+v", got, ev)
		}
		if len(got.Deliveries) != 1 {
			t.Fatalf("event has %d deliveries, want 1", len(got.Deliveries))
		}
		d := got.Deliveries[0]
		if d.EventID != ev.ID || d.EndpointID != ep.ID || d.Status != "pending" || d.Reason != "" ||
			d.WorkflowID != "delivery-"+d.ID || d.NextAttemptAt == nil || d.Attempts == nil || len(d.Attempts) != 0 {
			t.Errorf("delivery %+v", d)
		}

		var l list[event]
		h.do("GET", "/v1/events", h.keyA, "").want(t, http.StatusOK).decode(t, &l)
		if len(l.Data) != 1 || l.Data[0].ID != ev.ID || l.Data[0].Deliveries != nil || l.NextCursor == nil || *l.NextCursor != "" {
			t.Errorf("list answered %+v", l)
		}
	})
}

func TestEventDataRoundTripsByteForByte(t *testing.T) {
	datas := []struct{ name, data string }{
		{"a 256-bit integer keeps every digit", `{"amount_in":115792089237316195423570985008687907853269984665640564039457584007913129639935,"nested":{"a":[1,2.50,"x"]}}`},
		{"whitespace, exponents and HTML characters stay as sent", "{ \"html\" : \"<b>&amp;</b>\",\n  \"e\": 1.0E+2, \"u\": \"\\u00e9\u00e9\" }"},
		{"an empty object stays empty", `{}`},
	}
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		h := newHarness(t, kind)
		for _, tt := range datas {
			t.Run(tt.name, func(t *testing.T) {
				ev := h.postEvent(h.keyA, `{"type":"swap.done","data":`+tt.data+`}`)
				if string(ev.Data) != tt.data {
					t.Errorf("POST answered data\n%s\nwant\n%s", ev.Data, tt.data)
				}
				if got := h.getEvent(h.keyA, ev.ID); string(got.Data) != tt.data {
					t.Errorf("GET answered data\n%s\nwant\n%s", got.Data, tt.data)
				}
				var l list[event]
				h.do("GET", "/v1/events?limit=1", h.keyA, "").want(t, http.StatusOK).decode(t, &l)
				if len(l.Data) != 1 || string(l.Data[0].Data) != tt.data {
					t.Errorf("list answered %+v", l.Data)
				}
				stored, err := h.store.LoadEvent(context.Background(), ev.ID)
				if err != nil || stored.Data != tt.data {
					t.Errorf("store holds %q (%v), want %q", stored.Data, err, tt.data)
				}
			})
		}
	})
}

func TestLaunchFailureStillAcceptsTheEvent(t *testing.T) {
	h := newHarness(t, "sqlite")
	h.launcher.err = errors.New("temporal is down")
	ev := h.postEvent(h.keyA, `{"type":"a","data":{}}`)
	if h.getEvent(h.keyA, ev.ID).ID != ev.ID {
		t.Fatal("the event was not stored")
	}
	if logs := h.logs.String(); !strings.Contains(logs, ev.ID) || !strings.Contains(logs, "temporal is down") {
		t.Errorf("the failed launch was not logged with the event id: %s", logs)
	}
}

func TestStoreFailureAnswers503AndLaunchesNothing(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		h := newHarness(t, kind)
		h.createEndpoint(h.keyA, `{"url":"https://a.example.com"}`)
		// Authentication still works; accepting the event cannot.
		if err := h.store.DB().Exec("ALTER TABLE events RENAME TO events_gone").Error; err != nil {
			t.Fatal(err)
		}
		h.do("POST", "/v1/events", h.keyA, `{"type":"a","data":{}}`).wantError(t, http.StatusServiceUnavailable, "unavailable", "")
		if n := h.launcher.total(); n != 0 {
			t.Errorf("launched %d times after a failed store", n)
		}
		var deliveries int64
		h.store.DB().Table("deliveries").Count(&deliveries)
		if deliveries != 0 {
			t.Errorf("%d deliveries written", deliveries)
		}
		if !strings.Contains(h.logs.String(), "events") {
			t.Errorf("the store error was not logged: %s", h.logs.String())
		}
	})
}

func TestIdempotencyKey(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		h := newHarness(t, kind)
		body := `{"type":"order.created","data":{"n":1}}`

		t.Run("a replay answers the same event, marked, and launches it again while unstarted", func(t *testing.T) {
			first := h.postEvent(h.keyA, body, "Idempotency-Key", "k1")
			r := h.do("POST", "/v1/events", h.keyA, body, "Idempotency-Key", "k1").want(t, http.StatusAccepted)
			if r.header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("Idempotent-Replayed %q, want true", r.header.Get("Idempotent-Replayed"))
			}
			var again event
			r.decode(t, &again)
			if again.ID != first.ID || again.CreatedAt != first.CreatedAt || string(again.Data) != string(first.Data) {
				t.Errorf("replay answered %+v, want %+v", again, first)
			}
			if n := h.launcher.count(first.ID); n != 2 {
				t.Errorf("launched %d times, want 2 (the workflow never started)", n)
			}
		})

		t.Run("a replay does not launch an event whose workflow started", func(t *testing.T) {
			first := h.postEvent(h.keyA, body, "Idempotency-Key", "k2")
			if err := h.store.MarkWorkflowStarted(context.Background(), first.ID); err != nil {
				t.Fatal(err)
			}
			again := h.postEvent(h.keyA, body, "Idempotency-Key", "k2")
			if again.ID != first.ID {
				t.Errorf("replay made event %s, want %s", again.ID, first.ID)
			}
			if n := h.launcher.count(first.ID); n != 1 {
				t.Errorf("launched %d times, want 1", n)
			}
		})

		t.Run("a key reused with another body is a conflict", func(t *testing.T) {
			h.postEvent(h.keyA, body, "Idempotency-Key", "k3")
			before := h.snapshot()
			e := h.do("POST", "/v1/events", h.keyA, `{"type":"order.created","data":{"n":2}}`, "Idempotency-Key", "k3").
				wantError(t, http.StatusConflict, "idempotency_conflict", "")
			if !strings.Contains(e.Message, "Idempotency-Key") {
				t.Errorf("message %q does not name the header", e.Message)
			}
			if h.snapshot() != before {
				t.Errorf("the conflict changed the store")
			}
		})

		t.Run("the same key in two accounts makes two events", func(t *testing.T) {
			a := h.postEvent(h.keyA, body, "Idempotency-Key", "shared")
			b := h.postEvent(h.keyB, `{"type":"other","data":{}}`, "Idempotency-Key", "shared")
			if a.ID == b.ID {
				t.Errorf("accounts share an event through a key")
			}
		})

		t.Run("requests without a key are never replays", func(t *testing.T) {
			if h.postEvent(h.keyA, body).ID == h.postEvent(h.keyA, body).ID {
				t.Errorf("two keyless posts made one event")
			}
		})

		t.Run("concurrent requests with one key make one event", func(t *testing.T) {
			const n = 8
			var (
				wg       sync.WaitGroup
				mu       sync.Mutex
				ids      = map[string]int{}
				replayed int
			)
			for range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					r := h.do("POST", "/v1/events", h.keyA, body, "Idempotency-Key", "race")
					var ev event
					if r.status != http.StatusAccepted {
						t.Errorf("status %d: %s", r.status, r.body)
						return
					}
					r.decode(t, &ev)
					mu.Lock()
					defer mu.Unlock()
					ids[ev.ID]++
					if r.header.Get("Idempotent-Replayed") == "true" {
						replayed++
					}
				}()
			}
			wg.Wait()
			if len(ids) != 1 || replayed != n-1 {
				t.Errorf("%d requests made events %v with %d replays; want one event and %d replays", n, ids, replayed, n-1)
			}
			var count int64
			h.store.DB().Model(&models.IdempotencyKey{}).Where("key = ?", "race").Count(&count)
			if count != 1 {
				t.Errorf("%d idempotency keys stored", count)
			}
		})
	})
}

func TestListEventsFilters(t *testing.T) {
	h := newHarness(t, "sqlite")
	h.postEvent(h.keyA, `{"type":"order.created","data":{}}`)
	h.postEvent(h.keyA, `{"type":"order.created","data":{},"sandbox":true}`)
	h.postEvent(h.keyA, `{"type":"invoice.paid","data":{}}`)
	tests := []struct {
		name  string
		query string
		want  []string // type/sandbox, newest first
	}{
		{"no filter lists every event", "", []string{"invoice.paid/false", "order.created/true", "order.created/false"}},
		{"a type filter lists that type", "?type=order.created", []string{"order.created/true", "order.created/false"}},
		{"sandbox=true lists sandbox events", "?sandbox=true", []string{"order.created/true"}},
		{"sandbox=false lists live events", "?sandbox=false", []string{"invoice.paid/false", "order.created/false"}},
		{"both filters combine", "?type=order.created&sandbox=false", []string{"order.created/false"}},
		{"a type nobody sent lists nothing", "?type=nope", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l list[event]
			h.do("GET", "/v1/events"+tt.query, h.keyA, "").want(t, http.StatusOK).decode(t, &l)
			var got []string
			for _, ev := range l.Data {
				got = append(got, fmt.Sprintf("%s/%t", ev.Type, ev.Sandbox))
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("listed %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFanOut(t *testing.T) {
	storetest.ForEachKind(t, func(t *testing.T, kind string) {
		h := newHarness(t, kind)
		all := h.createEndpoint(h.keyA, `{"url":"https://all.example.com"}`)
		star := h.createEndpoint(h.keyA, `{"url":"https://star.example.com","event_types":["*"]}`)
		orders := h.createEndpoint(h.keyA, `{"url":"https://orders.example.com","event_types":["order.*"]}`)
		invoices := h.createEndpoint(h.keyA, `{"url":"https://invoices.example.com","event_types":["invoice.paid"]}`)
		disabled := h.createEndpoint(h.keyA, `{"url":"https://off.example.com","enabled":false}`)
		sandbox := h.createEndpoint(h.keyA, `{"url":"http://sandbox.example.com","sandbox":true}`)
		sandboxOrders := h.createEndpoint(h.keyA, `{"url":"http://sandbox-orders.example.com","sandbox":true,"event_types":["order.*"]}`)
		deleted := h.createEndpoint(h.keyA, `{"url":"https://gone.example.com"}`)
		h.do("DELETE", "/v1/endpoints/"+deleted.ID, h.keyA, "").want(t, http.StatusNoContent)
		h.createEndpoint(h.keyB, `{"url":"https://other-account.example.com"}`)

		name := map[string]string{all.ID: "all", star.ID: "star", orders.ID: "orders", invoices.ID: "invoices",
			disabled.ID: "disabled", sandbox.ID: "sandbox", sandboxOrders.ID: "sandbox-orders"}
		tests := []struct {
			name string
			body string
			want map[string]string // endpoint name -> status/reason
		}{
			{"a live event goes to matching live endpoints and skips the disabled one",
				`{"type":"order.created","data":{}}`,
				map[string]string{"all": "pending/", "star": "pending/", "orders": "pending/", "disabled": "skipped/endpoint_disabled"}},
			{"an exact type reaches the endpoint that lists it",
				`{"type":"invoice.paid","data":{}}`,
				map[string]string{"all": "pending/", "star": "pending/", "invoices": "pending/", "disabled": "skipped/endpoint_disabled"}},
			{"a prefix filter does not match the bare prefix",
				`{"type":"order","data":{}}`,
				map[string]string{"all": "pending/", "star": "pending/", "disabled": "skipped/endpoint_disabled"}},
			{"a sandbox event goes only to sandbox endpoints",
				`{"type":"order.created","data":{},"sandbox":true}`,
				map[string]string{"sandbox": "pending/", "sandbox-orders": "pending/"}},
			{"a sandbox event of another type skips filtered sandbox endpoints",
				`{"type":"invoice.paid","data":{},"sandbox":true}`,
				map[string]string{"sandbox": "pending/"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ev := h.postEvent(h.keyA, tt.body)
				got := map[string]string{}
				for _, d := range h.getEvent(h.keyA, ev.ID).Deliveries {
					got[name[d.EndpointID]] = d.Status + "/" + d.Reason
					if (d.Status == "skipped") != (d.NextAttemptAt == nil) {
						t.Errorf("delivery %s/%s has next_attempt_at %v", d.Status, d.Reason, d.NextAttemptAt)
					}
				}
				if fmt.Sprint(got) != fmt.Sprint(tt.want) {
					t.Errorf("deliveries %v, want %v", got, tt.want)
				}
			})
		}
	})
}

func TestResponsesAreNotHTMLEscaped(t *testing.T) {
	h := newHarness(t, "sqlite")
	r := h.do("POST", "/v1/endpoints", h.keyA, `{"url":"https://a.example.com/?a=1&b=<2>"}`).want(t, http.StatusCreated)
	if !bytes.Contains(r.body, []byte(`"https://a.example.com/?a=1&b=<2>"`)) {
		t.Errorf("url came back escaped: %s", r.body)
	}
}

func TestInTheBackgroundTheAnswerComesFirstAndTheWorkflowStartsAfter(t *testing.T) {
	h := newHarness(t, "sqlite", func(d *api.Deps) { d.LaunchInBackground = true })
	h.createEndpoint(h.keyA, `{"url":"https://a.example.com"}`)
	ev := h.postEvent(h.keyA, `{"type":"dex.swap","data":{}}`)
	deadline := time.Now().Add(5 * time.Second)
	for h.launcher.count(ev.ID) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the event's workflow was never launched")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestAServerShuttingDownCanWaitForTheLaunchesItsAnswersLeft(t *testing.T) {
	var launches sync.WaitGroup
	h := newHarness(t, "sqlite", func(d *api.Deps) { d.LaunchInBackground, d.BackgroundLaunches = true, &launches })
	h.createEndpoint(h.keyA, `{"url":"https://a.example.com"}`)
	ev := h.postEvent(h.keyA, `{"type":"dex.swap","data":{}}`)
	launches.Wait() // what serveAPI does after http.Server.Shutdown
	if n := h.launcher.count(ev.ID); n != 1 {
		t.Fatalf("after the wait the event's workflow was launched %d times, want 1", n)
	}
}

func TestClientsCannotEmitOperationalEvents(t *testing.T) {
	h := newHarness(t, "sqlite")
	for _, typ := range []string{"endpoint.disabled", "delivery.failed", "webhook.test"} {
		h.do("POST", "/v1/events", h.keyA, `{"type":"`+typ+`","data":{}}`).wantError(t, http.StatusUnprocessableEntity, "validation_failed", "type")
	}
	var l list[event]
	h.do("GET", "/v1/events", h.keyA, "").want(t, http.StatusOK).decode(t, &l)
	if len(l.Data) != 0 {
		t.Fatalf("a refused event was stored: %+v", l.Data)
	}
}
