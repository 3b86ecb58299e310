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
	// migrations reports whether the database's schema is this binary's.
	migrations func(ctx context.Context) error
	log        *slog.Logger
}

// Ops are the routes every process serves beside its work: /healthz,
// /readyz and, when Metrics is set, /metrics.
type Ops struct {
	DB             pinger
	TemporalHealth func(ctx context.Context) error // nil = not checked
	Migrations     func(ctx context.Context) error // nil = not checked
	Metrics        http.Handler                    // nil = no /metrics
	Logger         *slog.Logger                    // nil = discard
}

// routes adds the ops routes to r.
func (o Ops) routes(r *gin.Engine, h func(handlerFunc) gin.HandlerFunc, log *slog.Logger) {
	hl := &health{db: o.DB, temporal: o.TemporalHealth, migrations: o.Migrations, log: log}
	r.GET("/healthz", h(hl.live))
	r.GET("/readyz", h(hl.ready))
	if o.Metrics != nil {
		r.GET("/metrics", gin.WrapH(o.Metrics))
	}
}

// NewOps is the HTTP handler of a process that serves only the ops routes
// (the worker).
func NewOps(o Ops) http.Handler {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := newEngine(log)
	o.routes(r, func(f handlerFunc) gin.HandlerFunc { return handle(log, f) }, log)
	r.NoRoute(handle(log, func(c *gin.Context) error {
		return notFound("no route %s %s", c.Request.Method, c.Request.URL.Path)
	}))
	return r
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
	}{{"database", h.db.Ping}, {"temporal", h.temporal}, {"migrations", h.migrations}}
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
			if ch.name == "migrations" {
				down = append(down, "migrations not current ("+err.Error()+")")
			} else {
				down = append(down, ch.name+" not answering")
			}
		}
	}
	if len(down) > 0 {
		return &apiError{status: http.StatusServiceUnavailable, code: "unavailable",
			message: "not ready: " + strings.Join(down, "; ")}
	}
	writeJSON(c, http.StatusOK, statusJSON{Status: "ready"})
	return nil
}
