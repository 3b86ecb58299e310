package api

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

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
// leave it.
func validateEndpoint(ep *models.Endpoint) error {
	if err := validateURL(ep.URL, ep.Sandbox); err != nil {
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

func validateURL(raw string, sandbox bool) error {
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
	if u.Hostname() == "" {
		return invalid("url", "url must name a host, as in https://example.com/webhooks")
	}
	if u.User != nil {
		return invalid("url", "url must not contain a user name or password; Securo signs each request instead")
	}
	if u.Scheme == "http" && !sandbox {
		return invalid("url", "url must use https://; http:// is allowed only on sandbox endpoints")
	}
	return nil
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
