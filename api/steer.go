package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/securo/webhooks/launcher"
	"github.com/securo/webhooks/models"
	"github.com/securo/webhooks/workflows"
)

type steeringStore interface {
	GetDelivery(ctx context.Context, accountID, id string) (models.Delivery, error)
}

// steering serves the routes that steer a delivery under way through its
// workflow: attempt now, or cancel. Both are signals, so they show in the
// workflow's history.
type steering struct {
	store    steeringStore
	launcher Launcher
}

func (h *steering) retry(c *gin.Context) error  { return h.signal(c, workflows.SignalRetryNow) }
func (h *steering) cancel(c *gin.Context) error { return h.signal(c, workflows.SignalCancel) }

func (h *steering) signal(c *gin.Context, signal string) error {
	ctx, id := c.Request.Context(), c.Param("id")
	d, err := h.store.GetDelivery(ctx, accountID(ctx), id)
	if err != nil {
		return storeFailed(err, "delivery", id)
	}
	if d.Status != models.StatusPending {
		return &apiError{status: http.StatusConflict, code: "delivery_finished",
			message: "delivery " + id + " has ended (" + d.Status + "); resend its event to deliver it again"}
	}
	err = h.launcher.Signal(ctx, d.WorkflowID, signal)
	switch {
	case errors.Is(err, launcher.ErrNotRunning):
		return &apiError{status: http.StatusConflict, code: "not_running",
			message: "delivery " + id + " is in its first attempt or just ending; try again in a moment"}
	case err != nil:
		return &apiError{status: http.StatusServiceUnavailable, code: "unavailable",
			message: "Temporal is not answering; nothing was changed, try again shortly"}
	}
	writeJSON(c, http.StatusAccepted, deliveryWire(d))
	return nil
}
