package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/securo/webhooks/models"
	"github.com/securo/webhooks/workflows"
)

type resendStore interface {
	ResendEvent(ctx context.Context, in models.ResendInput) (models.Event, []models.Delivery, error)
	FailedEventsOf(ctx context.Context, accountID, endpointID string, since, until time.Time, limit int) ([]string, error)
	SetDeliveryState(ctx context.Context, deliveryID string, state models.DeliveryState) error
}

// resends serves the routes that deliver an event again: by hand
// (/v1/events/:id/resend) and for an endpoint back from an outage
// (/v1/endpoints/:id/recover).
type resends struct {
	store    resendStore
	launcher Launcher
	log      *slog.Logger
}

type resendRequest struct {
	EndpointID string `json:"endpoint_id"`
}

// resend delivers the event again, as new deliveries with fresh attempts
// and the same webhook-id, each in a workflow of its own.
func (h *resends) resend(c *gin.Context) error {
	ctx, id := c.Request.Context(), c.Param("id")
	var req resendRequest
	if err := readOptionalJSON(c, &req); err != nil {
		return err
	}
	ds, err := h.start(ctx, models.ResendInput{AccountID: accountID(ctx), EventID: id, EndpointID: req.EndpointID})
	switch {
	case errors.Is(err, models.ErrNotResendable):
		return invalid("endpoint_id", "endpoint %s cannot receive this event now: it is disabled, deleted, or no longer has the event's sandbox state", req.EndpointID)
	case errors.Is(err, models.ErrNotFound) && req.EndpointID != "":
		return storeFailed(err, "event or endpoint delivery", id+" / "+req.EndpointID)
	case err != nil:
		return storeFailed(err, "event", id)
	}
	writeJSON(c, http.StatusAccepted, struct {
		Deliveries []deliveryJSON `json:"deliveries"`
	}{deliveriesWire(ds)})
	return nil
}

// start writes the new deliveries and starts their workflows. A delivery
// whose workflow cannot start is ended (failed, not_started) so it is not
// left pending with nothing to run it, and the request answers 503.
func (h *resends) start(ctx context.Context, in models.ResendInput) ([]models.Delivery, error) {
	in.DeliveryWorkflowID = workflows.DeliveryWorkflowID
	ev, ds, err := h.store.ResendEvent(ctx, in)
	if err != nil {
		return nil, err
	}
	var startErr error
	for i, d := range ds {
		if err := h.launcher.LaunchDelivery(ctx, d, ev.Sandbox); err != nil {
			h.log.WarnContext(ctx, "starting a resend failed", "delivery_id", d.ID, "error", err)
			state := models.DeliveryState{Status: models.StatusFailed, Reason: models.ReasonNotStarted}
			if err := h.store.SetDeliveryState(context.WithoutCancel(ctx), d.ID, state); err != nil {
				h.log.ErrorContext(ctx, "ending an unstarted resend failed", "delivery_id", d.ID, "error", err)
			}
			ds[i].Status, ds[i].Reason, ds[i].NextAttemptAt = state.Status, state.Reason, nil
			startErr = errUnavailable
		}
	}
	return ds, startErr
}

var errUnavailable = &apiError{status: http.StatusServiceUnavailable, code: "unavailable",
	message: "Temporal is not answering, so the resend could not start; nothing will be sent, try again shortly"}

type recoverRequest struct {
	Since string `json:"since"`
	Until string `json:"until"`
}

// parseTime reads an RFC 3339 time of the request; zero when absent.
func parseTime(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, invalid(field, "%s must be an RFC 3339 time such as 2026-12-01T00:00:00Z, not %q", field, v)
	}
	return t, nil
}

// maxRecover bounds one recover call; a larger window is recovered in
// several calls.
const maxRecover = 1000

// recover resends every failed delivery of the endpoint in the window.
func (h *resends) recover(c *gin.Context) error {
	ctx, id := c.Request.Context(), c.Param("id")
	var req recoverRequest
	if _, err := readJSON(c, &req); err != nil {
		return err
	}
	since, err := parseTime("since", req.Since)
	if err != nil {
		return err
	}
	until, err := parseTime("until", req.Until)
	switch {
	case err != nil:
		return err
	case since.IsZero():
		return invalid("since", "since is required: the RFC 3339 time from which failed deliveries are sent again")
	case !until.IsZero() && !until.After(since):
		return invalid("until", "until must be after since")
	}
	events, err := h.store.FailedEventsOf(ctx, accountID(ctx), id, since, until, maxRecover)
	if err != nil {
		return storeFailed(err, "endpoint", id)
	}
	started := 0
	for _, ev := range events {
		ds, err := h.start(ctx, models.ResendInput{AccountID: accountID(ctx), EventID: ev, EndpointID: id})
		if errors.Is(err, models.ErrNotResendable) {
			return invalid("", "endpoint %s cannot receive events now: enable it first", id)
		}
		if err != nil {
			return storeFailed(err, "endpoint", id)
		}
		started += len(ds)
	}
	writeJSON(c, http.StatusAccepted, struct {
		Started int `json:"started"`
	}{started})
	return nil
}
