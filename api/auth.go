package api

import (
	"context"
	"errors"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/securo/webhooks/models"
)

type accountFinder interface {
	AccountByAPIKey(ctx context.Context, key string) (models.Account, error)
}

// authenticator resolves "Authorization: Bearer <key>" to the key's account
// and puts it in the request's context for the handlers after it.
type authenticator struct {
	store accountFinder
}

func (a *authenticator) require(c *gin.Context) error {
	header := c.GetHeader("Authorization")
	if header == "" {
		return unauthorized("missing Authorization header; send Authorization: Bearer <api key>")
	}
	scheme, key, _ := strings.Cut(header, " ")
	key = strings.TrimSpace(key)
	if !strings.EqualFold(scheme, "Bearer") || key == "" || strings.ContainsAny(key, " \t") {
		return unauthorized("malformed Authorization header; send Authorization: Bearer <api key>")
	}
	ctx := c.Request.Context()
	acct, err := a.store.AccountByAPIKey(ctx, key)
	if errors.Is(err, models.ErrNotFound) {
		return unauthorized("API key not recognised: it is mistyped or has been revoked")
	}
	if err != nil {
		return storeFailed(err, "", "")
	}
	c.Request = c.Request.WithContext(context.WithValue(ctx, accountKey{}, acct))
	return nil
}

type accountKey struct{}

// accountID is the id of the account the request authenticated as.
func accountID(ctx context.Context) string {
	acct, _ := ctx.Value(accountKey{}).(models.Account)
	return acct.ID
}
