package retry

import (
	"net/http"
	"testing"
	"time"
)

func TestJitterStaysWithinTwentyPercentAndRepeats(t *testing.T) {
	d := 5 * time.Minute
	lo, hi := d, d
	for i := range 2000 {
		j := Jitter("dlv_"+string(rune('a'+i%26))+time.Duration(i).String(), i%8, d)
		if j != Jitter("dlv_"+string(rune('a'+i%26))+time.Duration(i).String(), i%8, d) {
			t.Fatal("jitter is not deterministic")
		}
		lo, hi = min(lo, j), max(hi, j)
	}
	if lo < time.Duration(0.8*float64(d)) || hi > time.Duration(1.2*float64(d)) {
		t.Fatalf("jitter range %s..%s for %s", lo, hi, d)
	}
	// Spread, not constant: the range covers most of ±20 %.
	if hi-lo < time.Duration(0.35*float64(d)) {
		t.Fatalf("jitter range %s..%s is too narrow", lo, hi)
	}
	if Jitter("dlv_x", 1, 0) != 0 {
		t.Fatal("a zero delay moved")
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		status int
		header string
		want   time.Duration
	}{
		{"seconds on 429", 429, "120", 2 * time.Minute},
		{"seconds on 503", 503, " 30 ", 30 * time.Second},
		{"an HTTP date", 503, now.Add(time.Hour).Format(http.TimeFormat), time.Hour},
		{"a date in the past", 503, now.Add(-time.Hour).Format(http.TimeFormat), 0},
		{"capped at a day", 429, "999999999", 24 * time.Hour},
		{"ignored on 500", 500, "120", 0},
		{"garbage", 429, "soon", 0},
		{"negative", 429, "-5", 0},
		{"absent", 429, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ParseRetryAfter(tt.status, tt.header, now); got != tt.want {
				t.Fatalf("ParseRetryAfter(%d, %q) = %s, want %s", tt.status, tt.header, got, tt.want)
			}
		})
	}
}

func TestNextHonoursRetryAfterBetweenTheScheduleAndADay(t *testing.T) {
	tests := []struct{ scheduled, retryAfter, want time.Duration }{
		{5 * time.Minute, 0, 5 * time.Minute},
		{5 * time.Minute, time.Minute, 5 * time.Minute},
		{5 * time.Minute, time.Hour, time.Hour},
		{5 * time.Minute, 48 * time.Hour, 24 * time.Hour},
		{30 * time.Hour, 48 * time.Hour, 30 * time.Hour},
	}
	for _, tt := range tests {
		if got := Next(tt.scheduled, tt.retryAfter); got != tt.want {
			t.Errorf("Next(%s, %s) = %s, want %s", tt.scheduled, tt.retryAfter, got, tt.want)
		}
	}
}
