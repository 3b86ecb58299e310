package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/securo/webhooks/api/request"
	"github.com/securo/webhooks/egress"
	"github.com/securo/webhooks/models"
	"github.com/securo/webhooks/signing"
)

type endpointStore interface {
	CreateEndpoint(ctx context.Context, ep *models.Endpoint, max int) error
	GetEndpoint(ctx context.Context, accountID, id string) (models.Endpoint, error)
	ListEndpoints(ctx context.Context, accountID string, p models.Page) ([]models.Endpoint, string, error)
	UpdateEndpoint(ctx context.Context, accountID, id string, change func(*models.Endpoint) error) (models.Endpoint, error)
	DeleteEndpoint(ctx context.Context, accountID, id string) error
	RotateSecret(ctx context.Context, accountID, id, secret string, grace time.Duration) (models.Endpoint, error)
}

// endpoints serves /v1/endpoints.
type endpoints struct {
	store endpointStore
	max   int
	guard *egress.Guard
}

type createEndpointRequest struct {
	URL         string   `json:"url"`
	Description string   `json:"description"`
	EventTypes  []string `json:"event_types"`
	Sandbox     bool     `json:"sandbox"`
	Enabled     *bool    `json:"enabled"` // absent = true
}

// updateEndpointRequest is a PATCH: an absent (or null) field stays as it is.
type updateEndpointRequest struct {
	URL         *string   `json:"url"`
	Description *string   `json:"description"`
	EventTypes  *[]string `json:"event_types"`
	Sandbox     *bool     `json:"sandbox"`
	Enabled     *bool     `json:"enabled"`
}

func (r updateEndpointRequest) apply(ep *models.Endpoint) {
	if r.URL != nil {
		ep.URL = *r.URL
	}
	if r.Description != nil {
		ep.Description = *r.Description
	}
	if r.EventTypes != nil {
		ep.EventTypes = models.StringList(*r.EventTypes)
	}
	if r.Sandbox != nil {
		ep.Sandbox = *r.Sandbox
	}
	if r.Enabled != nil {
		ep.Enabled = *r.Enabled
	}
}

func (h *endpoints) create(c *gin.Context) error {
	ctx := c.Request.Context()
	var req createEndpointRequest
	body, err := readJSON(c, &req)
	if err != nil {
		return err
	}
	if err := request.RequireUTF8(body); err != nil {
		return err
	}
	ep := models.Endpoint{
		AccountID:   accountID(ctx),
		URL:         req.URL,
		Description: req.Description,
		EventTypes:  models.StringList(req.EventTypes),
		Sandbox:     req.Sandbox,
		Enabled:     req.Enabled == nil || *req.Enabled,
	}
	if err := validateEndpoint(&ep, h.guard); err != nil {
		return err
	}
	if ep.Secret, err = signing.NewSecret(); err != nil {
		return err
	}
	if err := h.store.CreateEndpoint(ctx, &ep, h.max); err != nil {
		if errors.Is(err, models.ErrTooManyEndpoints) {
			return invalid("", "this account already has %d endpoints, the most it may have; delete one before creating another", h.max)
		}
		return storeFailed(err, "", "")
	}
	writeJSON(c, http.StatusCreated, endpointWire(ep, true))
	return nil
}

func (h *endpoints) list(c *gin.Context) error {
	ctx := c.Request.Context()
	page, err := pageFrom(c)
	if err != nil {
		return err
	}
	rows, next, err := h.store.ListEndpoints(ctx, accountID(ctx), page)
	if err != nil {
		return storeFailed(err, "", "")
	}
	out := listJSON[endpointJSON]{Data: make([]endpointJSON, 0, len(rows)), NextCursor: next}
	for _, ep := range rows {
		out.Data = append(out.Data, endpointWire(ep, false))
	}
	writeJSON(c, http.StatusOK, out)
	return nil
}

func (h *endpoints) get(c *gin.Context) error {
	ctx, id := c.Request.Context(), c.Param("id")
	ep, err := h.store.GetEndpoint(ctx, accountID(ctx), id)
	if err != nil {
		return storeFailed(err, "endpoint", id)
	}
	writeJSON(c, http.StatusOK, endpointWire(ep, true))
	return nil
}

func (h *endpoints) secret(c *gin.Context) error {
	ctx, id := c.Request.Context(), c.Param("id")
	ep, err := h.store.GetEndpoint(ctx, accountID(ctx), id)
	if err != nil {
		return storeFailed(err, "endpoint", id)
	}
	writeJSON(c, http.StatusOK, struct {
		Secret string `json:"secret"`
	}{ep.Secret})
	return nil
}

func (h *endpoints) update(c *gin.Context) error {
	ctx, id := c.Request.Context(), c.Param("id")
	var req updateEndpointRequest
	body, err := readJSON(c, &req)
	if err != nil {
		return err
	}
	if err := request.RequireUTF8(body); err != nil {
		return err
	}
	// Validating inside the store's transaction checks the endpoint as it
	// will be, and an error there leaves it untouched.
	ep, err := h.store.UpdateEndpoint(ctx, accountID(ctx), id, func(ep *models.Endpoint) error {
		req.apply(ep)
		return validateEndpoint(ep, h.guard)
	})
	if err != nil {
		return storeFailed(err, "endpoint", id)
	}
	writeJSON(c, http.StatusOK, endpointWire(ep, true))
	return nil
}

func (h *endpoints) delete(c *gin.Context) error {
	ctx, id := c.Request.Context(), c.Param("id")
	if err := h.store.DeleteEndpoint(ctx, accountID(ctx), id); err != nil {
		return storeFailed(err, "endpoint", id)
	}
	c.Status(http.StatusNoContent)
	return nil
}

// A rotated secret's predecessor keeps signing for a day unless the
// request says otherwise, and never for more than a week.
const (
	defaultSecretGrace = 24 * time.Hour
	maxSecretGrace     = 7 * 24 * time.Hour
)

type rotateSecretRequest struct {
	GracePeriodSeconds *int64 `json:"grace_period_seconds"` // absent or null = a day
}

type rotatedSecretJSON struct {
	Secret                  string     `json:"secret"`
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at"`
}

// rotateSecret gives the endpoint a new secret. Until the grace period ends
// every delivery is signed with the old one too, so receivers switch
// without a moment when neither verifies.
func (h *endpoints) rotateSecret(c *gin.Context) error {
	ctx, id := c.Request.Context(), c.Param("id")
	var req rotateSecretRequest
	if err := readOptionalJSON(c, &req); err != nil {
		return err
	}
	grace := defaultSecretGrace
	if g := req.GracePeriodSeconds; g != nil {
		if *g < 0 || *g > int64(maxSecretGrace/time.Second) {
			return invalid("grace_period_seconds", "grace_period_seconds must be from 0 (the old secret stops at once) to %d (7 days), not %d",
				int64(maxSecretGrace/time.Second), *g)
		}
		grace = time.Duration(*g) * time.Second
	}
	secret, err := signing.NewSecret()
	if err != nil {
		return err
	}
	ep, err := h.store.RotateSecret(ctx, accountID(ctx), id, secret, grace)
	if err != nil {
		return storeFailed(err, "endpoint", id)
	}
	writeJSON(c, http.StatusOK, rotatedSecretJSON{Secret: ep.Secret, PreviousSecretExpiresAt: utc(ep.PreviousSecretExpiresAt)})
	return nil
}
