package activities

import "sync"

// endpointLimiter counts the attempts in flight per endpoint in this worker
// process. A full endpoint is not waited for: the attempt comes back
// throttled and its workflow tries again shortly, so waiting never holds a
// worker slot that another customer's delivery could use.
type endpointLimiter struct {
	max      int
	mu       sync.Mutex
	inFlight map[string]int
}

func newEndpointLimiter(max int) *endpointLimiter {
	return &endpointLimiter{max: max, inFlight: map[string]int{}}
}

// acquire takes a place for endpointID, if there is one; release gives it back.
func (l *endpointLimiter) acquire(endpointID string) (release func(), ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.inFlight[endpointID] >= l.max {
		return nil, false
	}
	l.inFlight[endpointID]++
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.inFlight[endpointID]--; l.inFlight[endpointID] <= 0 {
			delete(l.inFlight, endpointID)
		}
	}, true
}
