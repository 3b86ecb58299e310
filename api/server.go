// Package api is the HTTP API of Securo Webhooks: Gin routes, handlers, wire
// types and the one mapping from errors to HTTP answers.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/securo/webhooks/egress"
	"github.com/securo/webhooks/models"
)

// Launcher starts the Temporal workflow of an accepted event.
type Launcher interface {
	Launch(ctx context.Context, ev models.Event) error
	// LaunchDelivery starts one delivery's own workflow (a resend).
	LaunchDelivery(ctx context.Context, d models.Delivery, sandbox bool) error
	// Signal steers a running delivery workflow; an error wrapping
	// launcher.ErrNotRunning means there is none to steer.
	Signal(ctx context.Context, workflowID, signal string) error
}

// maxBackgroundLaunches bounds the workflow starts under way after their
// requests were answered.
const maxBackgroundLaunches = 256

// Deps is what the API is built from.
type Deps struct {
	// LaunchInBackground answers POST /v1/events as soon as the event is
	// committed and starts its workflow after; otherwise the answer waits
	// for the start.
	LaunchInBackground bool
	// BackgroundLaunches, when set, counts the background launches under
	// way; each is added before its request is answered, so a server that
	// waits on it after http.Server.Shutdown lets them finish.
	BackgroundLaunches *sync.WaitGroup
	Store              *models.Store
	Launcher           Launcher
	TemporalHealth     func(ctx context.Context) error // readiness of Temporal; nil = not checked
	Logger             *slog.Logger                    // nil = discard
	MaxEndpoints       int                             // per account; 0 = 100
	// Guard refuses endpoint URLs whose literal address deliveries could
	// never reach; nil refuses every private and reserved range.
	Guard *egress.Guard
	// RateLimit caps each account's requests; zero: no limit.
	RateLimit RateLimit
	// Migrations reports whether the database's schema is this binary's
	// (readiness); nil = not checked.
	Migrations func(ctx context.Context) error
	// Metrics counts accepted events; nil counts nothing.
	Metrics EventCounter
	// MetricsHandler serves /metrics; nil = no /metrics.
	MetricsHandler http.Handler
	// Dashboard serves /dashboard (package api/dashboard); nil: none.
	Dashboard http.Handler
}

// EventCounter counts the events the API accepts.
type EventCounter interface {
	EventAccepted(eventType string)
}

// DefaultMaxEndpoints is how many endpoints an account may have when
// Deps.MaxEndpoints is 0.
const DefaultMaxEndpoints = 100

// New builds the API's HTTP handler.
func New(d Deps) http.Handler {
	if d.Store == nil || d.Launcher == nil {
		panic("api.New: Deps.Store and Deps.Launcher are required")
	}
	log := d.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	maxEndpoints := d.MaxEndpoints
	if maxEndpoints == 0 {
		maxEndpoints = DefaultMaxEndpoints
	}

	r := newEngine(log)
	h := func(f handlerFunc) gin.HandlerFunc { return handle(log, f) }
	auth := &authenticator{store: d.Store}
	guard := d.Guard
	if guard == nil {
		guard = &egress.Guard{}
	}
	eps := &endpoints{store: d.Store, max: maxEndpoints, guard: guard}
	evs := &events{store: d.Store, launcher: d.Launcher, log: log, metrics: d.Metrics, launches: d.BackgroundLaunches}
	if d.LaunchInBackground {
		evs.background = make(chan struct{}, maxBackgroundLaunches)
	}
	dls := &deliveries{store: d.Store}
	tests := &testEvents{store: d.Store, events: evs}
	rs := &resends{store: d.Store, launcher: d.Launcher, log: log}
	st := &steering{store: d.Store, launcher: d.Launcher}
	keys := &apiKeys{store: d.Store}
	Ops{DB: d.Store, TemporalHealth: d.TemporalHealth, Migrations: d.Migrations, Metrics: d.MetricsHandler}.routes(r, h, log)
	// Registered on the root, so the /v1 group's authentication does not
	// apply to it.
	r.GET("/v1/openapi.json", h(openAPI))

	v1 := r.Group("/v1", h(auth.require))
	if d.RateLimit.Requests > 0 {
		v1.Use(h(newAccountLimiter(d.RateLimit).allow))
	}
	v1.POST("/endpoints", h(eps.create))
	v1.GET("/endpoints", h(eps.list))
	v1.GET("/endpoints/:id", h(eps.get))
	v1.PATCH("/endpoints/:id", h(eps.update))
	v1.DELETE("/endpoints/:id", h(eps.delete))
	v1.GET("/endpoints/:id/secret", h(eps.secret))
	v1.POST("/endpoints/:id/secret/rotate", h(eps.rotateSecret))
	v1.GET("/endpoints/:id/deliveries", h(dls.listForEndpoint))
	v1.POST("/endpoints/:id/recover", h(rs.recover))
	v1.POST("/endpoints/:id/test", h(tests.send))
	v1.POST("/events", h(evs.create))
	v1.GET("/events", h(evs.list))
	v1.GET("/events/:id", h(evs.get))
	v1.POST("/events/:id/resend", h(rs.resend))
	v1.GET("/deliveries/:id", h(dls.get))
	v1.POST("/deliveries/:id/retry", h(st.retry))
	v1.POST("/deliveries/:id/cancel", h(st.cancel))
	v1.GET("/api-keys", h(keys.list))
	v1.POST("/api-keys", h(keys.create))
	v1.DELETE("/api-keys/:id", h(keys.revoke))

	if d.Dashboard != nil {
		// The page signs in with an API key and calls /v1 like any client;
		// its own routes need none.
		for _, path := range []string{"/dashboard", "/dashboard/*path"} {
			r.GET(path, gin.WrapH(d.Dashboard))
			r.HEAD(path, gin.WrapH(d.Dashboard))
		}
	}

	r.NoRoute(h(func(c *gin.Context) error {
		return notFound("no route %s %s", c.Request.Method, c.Request.URL.Path)
	}))
	r.NoMethod(h(func(c *gin.Context) error {
		return &apiError{status: http.StatusMethodNotAllowed, code: "method_not_allowed",
			message: c.Request.Method + " is not allowed on " + c.Request.URL.Path + "; allowed: " + c.Writer.Header().Get("Allow")}
	}))
	return r
}

// newEngine is a Gin engine with the middleware every route has.
func newEngine(log *slog.Logger) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	// A redirect would turn a POST to /v1/events/ into a second request the
	// client did not make; a 404 is plainer.
	r.RedirectTrailingSlash = false
	r.Use(securityHeaders, recoverer(log), requestLog(log), handle(log, limitURI))
	return r
}

// recoverer answers a panicking request with 500 internal instead of
// dropping the connection, and logs the stack.
func recoverer(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			log.ErrorContext(c.Request.Context(), "panic while serving request",
				"method", c.Request.Method, "path", c.Request.URL.Path, "panic", v, "stack", string(debug.Stack()))
			if !c.Writer.Written() {
				writeError(c, errInternal)
			}
			c.Abort()
		}()
		c.Next()
	}
}

func requestLog(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		// Every request at debug level; failures on our side are logged
		// where they happen.
		log.LogAttrs(c.Request.Context(), slog.LevelDebug, "request",
			slog.String("method", c.Request.Method),
			slog.String("path", c.Request.URL.Path),
			slog.Int("status", c.Writer.Status()),
			slog.Duration("duration", time.Since(start)))
	}
}
