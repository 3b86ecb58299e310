package api

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/securo/webhooks/egress"
	"github.com/securo/webhooks/models"
)

const (
	maxURLLength         = 2048
	maxDescriptionLength = 512
	maxEventTypes        = 100
	maxEventTypeLength   = 100
	maxIdempotencyKey    = 255
)

var eventTypePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]*$`)

// validateEndpoint checks a whole endpoint, as created or as a PATCH would
// leave it; guard says which literal addresses deliveries may reach.
func validateEndpoint(ep *models.Endpoint, guard *egress.Guard) error {
	if err := validateURL(ep.URL, ep.Sandbox, guard); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(ep.Description); n > maxDescriptionLength {
		return invalid("description", "description must be at most %d characters, not %d", maxDescriptionLength, n)
	}
	if len(ep.EventTypes) > maxEventTypes {
		return invalid("event_types", "event_types may list at most %d types, not %d; use \"prefix.*\" or \"*\" to cover many", maxEventTypes, len(ep.EventTypes))
	}
	for i, t := range ep.EventTypes {
		if err := validateEventTypeFilter(t); err != nil {
			return invalid("event_types", "event_types[%d]: %v", i, err)
		}
	}
	return nil
}

// validateURL refuses a URL that can never receive a delivery. Names are
// not resolved here: the dialer judges the address each delivery reaches.
func validateURL(raw string, sandbox bool, guard *egress.Guard) error {
	if raw == "" {
		return invalid("url", "url is required")
	}
	if len(raw) > maxURLLength {
		return invalid("url", "url must be at most %d characters, not %d", maxURLLength, len(raw))
	}
	u, err := url.Parse(raw)
	if err != nil {
		return invalid("url", "url is not a valid URL: %v", err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return invalid("url", "url must start with https:// (or http:// on a sandbox endpoint)")
	}
	host := u.Hostname()
	if host == "" {
		return invalid("url", "url must name a host, as in https://example.com/webhooks")
	}
	if u.User != nil {
		return invalid("url", "url must not contain a user name or password; Securo signs each request instead")
	}
	if u.Scheme == "http" && !sandbox {
		return invalid("url", "url must use https://; http:// is allowed only on sandbox endpoints")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return invalid("url", "url port must be a number from 1 to 65535, not %q", p)
		}
	}
	return validateHost(host, guard)
}

// validateHost refuses a literal address the guard blocks, and names that
// are one in disguise.
func validateHost(host string, guard *egress.Guard) error {
	if ip, err := netip.ParseAddr(host); err == nil {
		if err := guard.Check(ip); errors.Is(err, egress.ErrBlockedAddress) {
			return invalid("url", "url points at %s, a loopback, private, link-local or otherwise reserved address that deliveries may not reach; use a public address or host name", host)
		}
		return nil
	}
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if err := validateHostName(name); err != "" {
		return invalid("url", "url host %q is not a host name: %s", host, err)
	}
	if (name == "localhost" || strings.HasSuffix(name, ".localhost")) && guard.Check(netip.IPv6Loopback()) != nil {
		return invalid("url", "url names %s, which is always this machine; deliveries may not reach it", host)
	}
	// A top-level label is never numeric, so "2130706433" or "0x7f.1" is an
	// IPv4 address in a form some resolvers accept and we do not.
	if last := name[strings.LastIndex(name, ".")+1:]; isNumeric(last) {
		return invalid("url", "url host %q looks like an IP address in a short or numeric form; write an IPv4 address as four decimal numbers (a.b.c.d)", host)
	}
	return nil
}

// validateHostName says what is wrong with a DNS name, or "" if nothing.
func validateHostName(name string) string {
	if len(name) > 253 {
		return "it is longer than 253 characters"
	}
	for label := range strings.SplitSeq(name, ".") {
		switch {
		case label == "":
			return "it has an empty label (two dots in a row, or a leading dot)"
		case len(label) > 63:
			return "a label is longer than 63 characters"
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				if r > unicode.MaxASCII {
					return "write an internationalised name in its xn-- (punycode) form"
				}
				return fmt.Sprintf("%q is not allowed; use letters, digits, '-' and '.'", r)
			}
		}
	}
	return ""
}

// isNumeric reports whether label is a decimal, octal or hex number.
func isNumeric(label string) bool {
	digits := "0123456789"
	if rest, ok := strings.CutPrefix(label, "0x"); ok {
		label, digits = rest, "0123456789abcdef"
	}
	return label != "" && strings.Trim(label, digits) == ""
}

// validateEventTypeFilter accepts "*", an event type, or "prefix.*".
func validateEventTypeFilter(t string) error {
	switch {
	case t == "":
		return fmt.Errorf("an event type must not be empty")
	case len(t) > maxEventTypeLength:
		return fmt.Errorf("an event type must be at most %d characters", maxEventTypeLength)
	case t == "*":
		return nil
	}
	if !eventTypePattern.MatchString(strings.TrimSuffix(t, ".*")) {
		return fmt.Errorf("%q is not an event type: use letters, digits and _ . : - (not first), or \"prefix.*\" or \"*\"", t)
	}
	return nil
}

func validateEventType(t string) error {
	switch {
	case t == "":
		return invalid("type", "type is required")
	case len(t) > maxEventTypeLength:
		return invalid("type", "type must be at most %d characters, not %d", maxEventTypeLength, len(t))
	case !eventTypePattern.MatchString(t):
		return invalid("type", "type %q must start with a letter or digit and contain only letters, digits and _ . : -", t)
	}
	return nil
}
