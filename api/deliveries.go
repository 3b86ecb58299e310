package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/securo/webhooks/models"
)

type deliveryStore interface {
	ListEndpointDeliveries(ctx context.Context, accountID, endpointID, status string, p models.Page) ([]models.Delivery, string, error)
	GetDelivery(ctx context.Context, accountID, id string) (models.Delivery, error)
}

func (h *deliveries) get(c *gin.Context) error {
	ctx, id := c.Request.Context(), c.Param("id")
	d, err := h.store.GetDelivery(ctx, accountID(ctx), id)
	if err != nil {
		return storeFailed(err, "delivery", id)
	}
	writeJSON(c, http.StatusOK, deliveryWire(d))
	return nil
}

// deliveries serves /v1/endpoints/:id/deliveries.
type deliveries struct {
	store deliveryStore
}

func (h *deliveries) listForEndpoint(c *gin.Context) error {
	ctx, id := c.Request.Context(), c.Param("id")
	status := c.Query("status")
	switch status {
	case "", models.StatusPending, models.StatusSucceeded, models.StatusFailed, models.StatusSkipped:
	default:
		return invalid("status", "status must be pending, succeeded, failed or skipped, not %q", status)
	}
	page, err := pageFrom(c)
	if err != nil {
		return err
	}
	rows, next, err := h.store.ListEndpointDeliveries(ctx, accountID(ctx), id, status, page)
	if err != nil {
		return storeFailed(err, "endpoint", id)
	}
	writeJSON(c, http.StatusOK, listJSON[deliveryJSON]{Data: deliveriesWire(rows), NextCursor: next})
	return nil
}
