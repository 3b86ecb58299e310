package api

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"
)

const (
	// maxRequestURI caps the path and query of a request (414 beyond it);
	// every URL the API uses is far shorter.
	maxRequestURI = 4 << 10
	// MaxHeaderBytes caps a request's header block; net/http answers 431
	// Request Header Fields Too Large beyond it.
	MaxHeaderBytes = 16 << 10
)

// NewServer is the http.Server the API runs in, with its limits and
// timeouts: headers (size and time to arrive), whole requests, idle
// connections.
func NewServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    MaxHeaderBytes,
	}
}

// securityHeaders are on every answer. The API serves JSON only: no
// browser may sniff it into HTML, frame it, run anything in it or keep it
// (answers carry secrets and other accounts' business).
func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Cache-Control", "no-store")
	if c.Request.TLS != nil {
		h.Set("Strict-Transport-Security", "max-age=63072000")
	}
	c.Next()
}

func limitURI(c *gin.Context) error {
	if n := len(c.Request.RequestURI); n > maxRequestURI {
		return &apiError{status: http.StatusRequestURITooLong, code: "uri_too_long",
			message: "the request's path and query are " + strconv.Itoa(n) + " bytes, more than the " + strconv.Itoa(maxRequestURI) + " allowed; send long values in a JSON body"}
	}
	return nil
}

// RateLimit is how many API requests an account may make per period, in
// bursts of up to Requests; the zero value means no limit.
type RateLimit struct {
	Requests int
	Per      time.Duration
}

func (l RateLimit) String() string {
	return strconv.Itoa(l.Requests) + " per " + l.Per.String()
}

// accountLimiter is a token bucket per account, in this process: each API
// process counts on its own.
type accountLimiter struct {
	limit   RateLimit
	now     func() time.Time
	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// maxIdleBuckets bounds the map: past it, full buckets (accounts idle for
// a whole period) are dropped, which forgets nothing that matters.
const maxIdleBuckets = 10000

func newAccountLimiter(l RateLimit) *accountLimiter {
	return &accountLimiter{limit: l, now: time.Now, buckets: map[string]*rate.Limiter{}}
}

func (a *accountLimiter) bucket(account string, now time.Time) *rate.Limiter {
	a.mu.Lock()
	defer a.mu.Unlock()
	b, ok := a.buckets[account]
	if ok {
		return b
	}
	if len(a.buckets) >= maxIdleBuckets {
		for id, b := range a.buckets {
			if b.TokensAt(now) >= float64(b.Burst()) {
				delete(a.buckets, id)
			}
		}
	}
	b = rate.NewLimiter(rate.Limit(float64(a.limit.Requests)/a.limit.Per.Seconds()), a.limit.Requests)
	a.buckets[account] = b
	return b
}

// allow answers 429 rate_limited, with Retry-After, once the account has
// used its bucket.
func (a *accountLimiter) allow(c *gin.Context) error {
	now := a.now()
	b := a.bucket(accountID(c.Request.Context()), now)
	if b.AllowN(now, 1) {
		return nil
	}
	wait := (1 - b.TokensAt(now)) / float64(b.Limit())
	retry := int(math.Ceil(wait))
	if retry < 1 {
		retry = 1
	}
	c.Header("Retry-After", strconv.Itoa(retry))
	return &apiError{status: http.StatusTooManyRequests, code: "rate_limited",
		message: "this account made more than " + a.limit.String() + " requests; retry after " + strconv.Itoa(retry) + " s"}
}
