package request

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"github.com/securo/webhooks/egress"
)

// MaxURLLength is the longest endpoint URL accepted.
const MaxURLLength = 2048

// ValidateURL refuses a URL that can never receive a delivery. Names are
// not resolved here: the dialer judges the address each delivery reaches.
func ValidateURL(raw string, sandbox bool, guard *egress.Guard) error {
	if raw == "" {
		return invalid("url", "url is required")
	}
	if len(raw) > MaxURLLength {
		return invalid("url", "url must be at most %d characters, not %d", MaxURLLength, len(raw))
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
	if (name == "localhost" || strings.HasSuffix(name, ".localhost")) && guard.Check(netip.AddrFrom4([4]byte{127, 0, 0, 1})) != nil {
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
