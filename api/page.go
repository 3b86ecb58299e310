package api

import (
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/securo/webhooks/models"
)

const (
	defaultPageLimit = 20
	maxPageLimit     = 100
)

// pageFrom reads ?limit= and ?cursor= of a list request.
func pageFrom(c *gin.Context) (models.Page, error) {
	p := models.Page{Limit: defaultPageLimit, Cursor: c.Query("cursor")}
	if s, ok := c.GetQuery("limit"); ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxPageLimit {
			return p, invalid("limit", "limit must be a whole number from 1 to %d, not %q", maxPageLimit, s)
		}
		p.Limit = n
	}
	if err := models.ValidateCursor(p.Cursor); err != nil {
		return p, err // ErrInvalidCursor: 422 field cursor
	}
	return p, nil
}
