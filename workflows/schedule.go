package workflows

import (
	"fmt"
	"strings"
	"time"
)

// DefaultSchedule is when attempts happen while they fail: at once, then
// after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h (eight attempts over
// about 28 hours).
var DefaultSchedule = []time.Duration{
	0,
	5 * time.Second,
	5 * time.Minute,
	30 * time.Minute,
	2 * time.Hour,
	5 * time.Hour,
	10 * time.Hour,
	10 * time.Hour,
}

// DefaultSandboxSchedule is the short schedule of sandbox events, as test
// modes have: three attempts over about an hour.
var DefaultSandboxSchedule = []time.Duration{0, 10 * time.Minute, 50 * time.Minute}

// ParseSchedule reads a comma-separated list of Go durations, the delays
// before each attempt ("0s,5s,5m,..."). The first is usually 0.
func ParseSchedule(s string) ([]time.Duration, error) {
	var out []time.Duration
	for _, part := range strings.Split(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("retry schedule %q: %w", s, err)
		}
		if d < 0 {
			return nil, fmt.Errorf("retry schedule %q: negative delay %s", s, d)
		}
		out = append(out, d)
	}
	if len(out) == 0 || len(out) > 50 {
		return nil, fmt.Errorf("retry schedule %q: want 1 to 50 delays", s)
	}
	return out, nil
}
