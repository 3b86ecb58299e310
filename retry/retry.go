// Package retry holds the pure rules of the retry schedule, shared by the
// workflows (which must stay deterministic) and the activities: jitter, and
// how a receiver's Retry-After moves the next attempt.
package retry

import (
	"hash/fnv"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// JitterFraction is how far a delay may move either way: ±20 %.
const JitterFraction = 0.2

// MaxRetryAfter caps how far a receiver's Retry-After may push an attempt.
const MaxRetryAfter = 24 * time.Hour

// Jitter spreads d by ±20 %, deterministically: the same delivery and
// attempt always get the same delay, so a workflow replays, and deliveries
// that failed together do not all come back at the same instant.
func Jitter(deliveryID string, attempt int, d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	h := fnv.New64a()
	h.Write([]byte(deliveryID))
	h.Write([]byte{':'})
	h.Write([]byte(strconv.Itoa(attempt)))
	u := float64(h.Sum64()>>11) / float64(1<<53) // uniform in [0, 1)
	return time.Duration(float64(d) * (1 - JitterFraction + 2*JitterFraction*u))
}

// ParseRetryAfter reads a Retry-After header (seconds or an HTTP date) on
// an answer that may carry one (429 or 503); 0 when there is none.
func ParseRetryAfter(status int, header string, now time.Time) time.Duration {
	if status != http.StatusTooManyRequests && status != http.StatusServiceUnavailable {
		return 0
	}
	header = strings.TrimSpace(header)
	if header == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(header, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(MaxRetryAfter/time.Second) {
			return MaxRetryAfter
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(header); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// Next is the delay before the next attempt: the scheduled one, moved later
// by a Retry-After, but never beyond 24 h (nor earlier than scheduled).
func Next(scheduled, retryAfter time.Duration) time.Duration {
	if retryAfter <= scheduled {
		return scheduled
	}
	return min(retryAfter, max(MaxRetryAfter, scheduled))
}
