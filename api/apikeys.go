package api

import (
	"context"
	"errors"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/securo/webhooks/api/request"
	"github.com/securo/webhooks/models"
)

const maxAPIKeyName = 100

type apiKeyStore interface {
	ListAPIKeys(ctx context.Context, accountID string, p models.Page) ([]models.APIKey, string, error)
	CreateAPIKey(ctx context.Context, accountID, name string) (models.APIKey, string, error)
	RevokeAPIKey(ctx context.Context, accountID, id string) (models.APIKey, error)
}

// apiKeys serves /v1/api-keys: an account manages its own keys.
type apiKeys struct {
	store apiKeyStore
}

type createAPIKeyRequest struct {
	Name string `json:"name"`
}

// apiKeyJSON shows a key by its prefix; Key is set once, when it is made.
type apiKeyJSON struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Prefix    string     `json:"prefix"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at"`
	Key       string     `json:"key,omitempty"`
}

func apiKeyWire(k models.APIKey) apiKeyJSON {
	out := apiKeyJSON{ID: k.ID, Name: k.Name, Prefix: k.Prefix, CreatedAt: k.CreatedAt.UTC()}
	if k.RevokedAt != nil {
		t := k.RevokedAt.UTC()
		out.RevokedAt = &t
	}
	return out
}

func (h *apiKeys) list(c *gin.Context) error {
	ctx := c.Request.Context()
	page, err := pageFrom(c)
	if err != nil {
		return err
	}
	rows, next, err := h.store.ListAPIKeys(ctx, accountID(ctx), page)
	if err != nil {
		return storeFailed(err, "", "")
	}
	out := listJSON[apiKeyJSON]{Data: make([]apiKeyJSON, 0, len(rows)), NextCursor: next}
	for _, k := range rows {
		out.Data = append(out.Data, apiKeyWire(k))
	}
	writeJSON(c, http.StatusOK, out)
	return nil
}

func (h *apiKeys) create(c *gin.Context) error {
	ctx := c.Request.Context()
	var req createAPIKeyRequest
	body, err := readJSON(c, &req)
	if err != nil {
		return err
	}
	if err := request.RequireUTF8(body); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(req.Name); n > maxAPIKeyName {
		return invalid("name", "name must be at most %d characters, not %d", maxAPIKeyName, n)
	}
	row, key, err := h.store.CreateAPIKey(ctx, accountID(ctx), req.Name)
	if errors.Is(err, models.ErrTooManyAPIKeys) {
		return invalid("", "this account already has %d live API keys, the most it may have; revoke one first", models.MaxLiveAPIKeys)
	}
	if err != nil {
		return storeFailed(err, "", "")
	}
	out := apiKeyWire(row)
	out.Key = key
	writeJSON(c, http.StatusCreated, out)
	return nil
}

func (h *apiKeys) revoke(c *gin.Context) error {
	ctx, id := c.Request.Context(), c.Param("id")
	row, err := h.store.RevokeAPIKey(ctx, accountID(ctx), id)
	if errors.Is(err, models.ErrLastAPIKey) {
		return &apiError{status: http.StatusConflict, code: "last_api_key",
			message: "this is the account's last live API key; create another before revoking it"}
	}
	if err != nil {
		return storeFailed(err, "api key", id)
	}
	writeJSON(c, http.StatusOK, apiKeyWire(row))
	return nil
}
