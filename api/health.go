package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

type pinger interface {
	Ping(ctx context.Context) error
}

// health serves /healthz (the process answers) and /readyz (its database
// and Temporal answer too).
type health struct {
	db       pinger
	temporal func(ctx context.Context) error
	log      *slog.Logger
}

// readyTimeout bounds each readiness check.
const readyTimeout = 2 * time.Second

type statusJSON struct {
	Status string `json:"status"`
}

func (h *health) live(c *gin.Context) error {
	writeJSON(c, http.StatusOK, statusJSON{Status: "ok"})
	return nil
}

// ready checks one dependency after the other, each with its own timeout,
// in the request's goroutine so a panicking check is still recovered.
func (h *health) ready(c *gin.Context) error {
	checks := []struct {
		name  string
		check func(context.Context) error
	}{{"database", h.db.Ping}, {"temporal", h.temporal}}
	var down []string
	for _, ch := range checks {
		if ch.check == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(c.Request.Context(), readyTimeout)
		err := ch.check(ctx)
		cancel()
		if err != nil {
			h.log.WarnContext(c.Request.Context(), "not ready", "check", ch.name, "error", err)
			down = append(down, ch.name)
		}
	}
	if len(down) > 0 {
		return &apiError{status: http.StatusServiceUnavailable, code: "unavailable",
			message: "not ready: " + strings.Join(down, " and ") + " not answering"}
	}
	writeJSON(c, http.StatusOK, statusJSON{Status: "ready"})
	return nil
}
