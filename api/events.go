package api

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/securo/webhooks/models"
	"github.com/securo/webhooks/workflows"
)

type eventStore interface {
	AcceptEvent(ctx context.Context, in models.AcceptEventInput) (models.AcceptEventResult, error)
	ListEvents(ctx context.Context, accountID string, f models.EventFilter, p models.Page) ([]models.Event, string, error)
	GetEvent(ctx context.Context, accountID, id string) (models.Event, []models.Delivery, error)
}

// events serves /v1/events.
type events struct {
	store    eventStore
	launcher Launcher
	log      *slog.Logger
	metrics  EventCounter // nil counts nothing
	// background bounds the launches under way after their answers; nil
	// launches in the request.
	background chan struct{}
	launches   *sync.WaitGroup // Deps.BackgroundLaunches; nil = not counted
}

type createEventRequest struct {
	Type    string          `json:"type"`
	Data    json.RawMessage `json:"data"`
	Sandbox bool            `json:"sandbox"`
}

func (r createEventRequest) validate() error {
	if err := validateEventType(r.Type); err != nil {
		return err
	}
	if models.IsOperational(r.Type) {
		return invalid("type", "%s is reserved for the events Securo emits about your endpoints; subscribe an endpoint to it to receive them", r.Type)
	}
	if r.Type == models.EventWebhookTest {
		return invalid("type", "%s is reserved for test events; send one with POST /v1/endpoints/{id}/test", r.Type)
	}
	switch {
	case r.Data == nil:
		return invalid("data", "data is required: a JSON object with the event's payload")
	case !utf8.Valid(r.Data):
		return invalid("data", "data is not valid UTF-8")
	case r.Data[0] != '{':
		return invalid("data", "data must be a JSON object, not %s", jsonKind(r.Data[0]))
	}
	return nil
}

func jsonKind(first byte) string {
	switch first {
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean"
	default:
		return "a number"
	}
}

func (h *events) create(c *gin.Context) error {
	ctx := c.Request.Context()
	key := c.GetHeader("Idempotency-Key")
	if len(key) > maxIdempotencyKey {
		return invalid("Idempotency-Key", "Idempotency-Key must be at most %d characters, not %d", maxIdempotencyKey, len(key))
	}
	var req createEventRequest
	body, err := readJSON(c, &req)
	if err != nil {
		return err
	}
	if err := req.validate(); err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	res, err := h.store.AcceptEvent(ctx, models.AcceptEventInput{
		AccountID:          accountID(ctx),
		Type:               req.Type,
		Data:               string(req.Data),
		Sandbox:            req.Sandbox,
		IdempotencyKey:     key,
		RequestHash:        hex.EncodeToString(sum[:]),
		WorkflowID:         workflows.EventWorkflowID,
		DeliveryWorkflowID: workflows.DeliveryWorkflowID,
	})
	if err != nil {
		return storeFailed(err, "", "") // nothing committed: 503, or 409 for a reused key
	}
	if res.Event.WorkflowStartedAt == nil {
		h.startLaunch(ctx, res.Event)
	}
	if res.Replayed {
		c.Header("Idempotent-Replayed", "true")
	} else if h.metrics != nil {
		h.metrics.EventAccepted(req.Type)
	}
	return writeEvent(c, http.StatusAccepted, eventWire(res.Event))
}

// launchTimeout bounds how long a request waits for its workflow to start.
const launchTimeout = 10 * time.Second

// launch starts the event's workflow. The event is committed already, so a
// failure is logged and left to the sweeper, and the start does not stop
// when the client hangs up.
// startLaunch launches the event's workflow after the answer when the API
// launches in the background (the event is committed: the sweeper starts
// it if this process dies first), so the client waits for our database
// alone. When as many launches as allowed are under way it launches in the
// request instead, which slows clients down rather than piling work up.
func (h *events) startLaunch(ctx context.Context, ev models.Event) {
	if h.background == nil {
		h.launch(ctx, ev)
		return
	}
	select {
	case h.background <- struct{}{}:
		if h.launches != nil {
			h.launches.Add(1)
		}
		go func() {
			defer func() {
				<-h.background
				if h.launches != nil {
					h.launches.Done()
				}
			}()
			h.launch(ctx, ev)
		}()
	default:
		h.launch(ctx, ev)
	}
}

func (h *events) launch(ctx context.Context, ev models.Event) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), launchTimeout)
	defer cancel()
	if err := h.launcher.Launch(ctx, ev); err != nil {
		h.log.WarnContext(ctx, "starting the event's workflow failed; the sweeper will start it",
			"event_id", ev.ID, "workflow_id", ev.WorkflowID, "error", err)
	}
}

func (h *events) list(c *gin.Context) error {
	ctx := c.Request.Context()
	var f models.EventFilter
	if t := c.Query("type"); t != "" {
		if err := validateEventType(t); err != nil {
			return err
		}
		f.Type = t
	}
	if s, ok := c.GetQuery("sandbox"); ok {
		if s != "true" && s != "false" {
			return invalid("sandbox", "sandbox must be true or false, not %q", s)
		}
		sandbox := s == "true"
		f.Sandbox = &sandbox
	}
	page, err := pageFrom(c)
	if err != nil {
		return err
	}
	rows, next, err := h.store.ListEvents(ctx, accountID(ctx), f, page)
	if err != nil {
		return storeFailed(err, "", "")
	}
	return writeEventList(c, rows, next)
}

func (h *events) get(c *gin.Context) error {
	ctx, id := c.Request.Context(), c.Param("id")
	ev, ds, err := h.store.GetEvent(ctx, accountID(ctx), id)
	if err != nil {
		return storeFailed(err, "event", id)
	}
	out := eventWire(ev)
	wire := deliveriesWire(ds)
	out.Deliveries = &wire
	return writeEvent(c, http.StatusOK, out)
}
