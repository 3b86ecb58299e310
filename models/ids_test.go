package models_test

import (
	"strings"
	"testing"
	"time"

	"github.com/securo/webhooks/models"
)

const idAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

func TestNewIDIsThePrefixAnUnderscoreAnd26Base32Digits(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
	}{
		{"event", "evt"},
		{"delivery", "dlv"},
		{"endpoint", "ep"},
		{"account", "acct"},
		{"empty prefix", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := models.NewID(tt.prefix)
			rest, ok := strings.CutPrefix(id, tt.prefix+"_")
			if !ok {
				t.Fatalf("NewID(%q) = %q, want prefix %q", tt.prefix, id, tt.prefix+"_")
			}
			if len(rest) != 26 {
				t.Errorf("NewID(%q) = %q: %d digits after the prefix, want 26", tt.prefix, id, len(rest))
			}
			for _, c := range rest {
				if !strings.ContainsRune(idAlphabet, c) {
					t.Errorf("NewID(%q) = %q has %q, not in %q", tt.prefix, id, c, idAlphabet)
				}
			}
			// 128 bits in 26 digits leave 3 bits for the first one.
			if rest[0] > '7' {
				t.Errorf("NewID(%q) = %q: first digit %q carries more than 3 bits", tt.prefix, id, rest[0])
			}
		})
	}
}

func TestNewIDIsUniqueOver10kIDs(t *testing.T) {
	seen := make(map[string]bool, 10_000)
	for range 10_000 {
		id := models.NewID("evt")
		if seen[id] {
			t.Fatalf("NewID made %q twice", id)
		}
		seen[id] = true
	}
}

func TestNewIDMadeAtLeast2msLaterSortsAfter(t *testing.T) {
	prev := models.NewID("evt")
	for range 20 {
		time.Sleep(2 * time.Millisecond)
		next := models.NewID("evt")
		if next <= prev {
			t.Fatalf("%q made 2 ms after %q sorts before it", next, prev)
		}
		prev = next
	}
}
