package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/securo/webhooks/models"
	"github.com/securo/webhooks/workflows"
)

type testEventStore interface {
	SendTestEvent(ctx context.Context, in models.TestEventInput) (models.AcceptEventResult, error)
}

// testEvents serves POST /v1/endpoints/:id/test: a webhook.test event to
// that endpoint alone, so a customer sees their receiver answer.
type testEvents struct {
	store  testEventStore
	events *events
}

func (h *testEvents) send(c *gin.Context) error {
	ctx, id := c.Request.Context(), c.Param("id")
	if err := readOptionalJSON(c, &struct{}{}); err != nil {
		return err
	}
	res, err := h.store.SendTestEvent(ctx, models.TestEventInput{
		AccountID:          accountID(ctx),
		EndpointID:         id,
		WorkflowID:         workflows.EventWorkflowID,
		DeliveryWorkflowID: workflows.DeliveryWorkflowID,
	})
	if errors.Is(err, models.ErrEndpointDisabled) {
		return &apiError{status: http.StatusConflict, code: "endpoint_disabled",
			message: "endpoint " + id + " is disabled, so it receives no events, test events included; enable it first (PATCH {\"enabled\": true})"}
	}
	if err != nil {
		return storeFailed(err, "endpoint", id)
	}
	h.events.startLaunch(ctx, res.Event)
	out := eventWire(res.Event)
	wire := deliveriesWire(res.Deliveries)
	out.Deliveries = &wire
	return writeEvent(c, http.StatusAccepted, out)
}
