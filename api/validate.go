package api

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/securo/webhooks/api/request"
	"github.com/securo/webhooks/egress"
	"github.com/securo/webhooks/models"
)

const (
	maxDescriptionLength = 512
	maxEventTypes        = 100
	maxEventTypeLength   = 100
	maxIdempotencyKey    = 255
)

var eventTypePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]*$`)

// validateEndpoint checks a whole endpoint, as created or as a PATCH would
// leave it; guard says which literal addresses deliveries may reach.
func validateEndpoint(ep *models.Endpoint, guard *egress.Guard) error {
	if err := request.ValidateURL(ep.URL, ep.Sandbox, guard); err != nil {
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
