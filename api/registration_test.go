package api_test

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/securo/webhooks/api"
	"github.com/securo/webhooks/egress"
)

func allowPrivate(d *api.Deps) { d.Guard = &egress.Guard{AllowPrivate: true} }

func TestRegistrationRefusesURLsThatCanNeverBeDelivered(t *testing.T) {
	h := newHarness(t, "sqlite")
	refused := []struct{ name, url, says string }{
		{"IPv4 loopback", "https://127.0.0.1/hook", "127.0.0.1"},
		{"IPv4 private", "https://10.0.0.8/hook", "10.0.0.8"},
		{"cloud metadata", "https://169.254.169.254/latest/meta-data", "169.254.169.254"},
		{"carrier-grade NAT", "https://100.64.1.1/", "100.64.1.1"},
		{"IPv4 unspecified", "https://0.0.0.0:8443/", "0.0.0.0"},
		{"IPv6 loopback", "https://[::1]/hook", "::1"},
		{"IPv6 unique local", "https://[fd00::1]/hook", "fd00::1"},
		{"IPv6 link-local with a zone", "https://[fe80::1%25eth0]/hook", "fe80::1%eth0"},
		{"IPv4-mapped loopback", "https://[::ffff:127.0.0.1]/hook", "::ffff:127.0.0.1"},
		{"NAT64 of metadata", "https://[64:ff9b::a9fe:a9fe]/", "64:ff9b::a9fe:a9fe"},
		{"localhost", "https://localhost:8443/hook", "always this machine"},
		{"a name under localhost", "https://api.localhost/hook", "always this machine"},
		{"a decimal IPv4 address", "https://2130706433/hook", "numeric form"},
		{"a hex IPv4 address", "https://0x7f000001/hook", "numeric form"},
		{"a short IPv4 address", "https://127.1/hook", "numeric form"},
		{"an octal IPv4 address", "https://0177.0.0.1/hook", "numeric form"},
		{"a sandbox url to loopback", "http://127.0.0.1:9000/hook", "127.0.0.1"},
		{"a host with a quote", `https://ex'ample.com/hook`, "not allowed"},
		{"a host with angle brackets", "https://ex<b>ample.com/hook", "not allowed"},
		{"a host with two dots in a row", "https://hooks..example.com/hook", "empty label"},
		{"a unicode host", "https://bücher.example/hook", "punycode"},
		{"an invisible character in the host", "https://%e2%80%8b.example/hook", "punycode"},
	}
	for _, tt := range refused {
		t.Run("refuses "+tt.name, func(t *testing.T) {
			before := h.snapshot()
			body := `{"url":"` + tt.url + `","sandbox":` + boolJSON(strings.HasPrefix(tt.url, "http:")) + `}`
			e := h.do("POST", "/v1/endpoints", h.keyA, body).wantError(t, http.StatusUnprocessableEntity, "validation_failed", "url")
			if !strings.Contains(e.Message, tt.says) {
				t.Errorf("message %q does not say %q", e.Message, tt.says)
			}
			if h.snapshot() != before {
				t.Error("the refused request changed the store")
			}
		})
	}
	for _, u := range []string{
		"https://hooks.example.com/in",
		"https://93.184.215.14/in",
		"https://[2606:4700::1111]:8443/in",
		"https://localhost.example.com/in",
		"https://10x.example.com/in",
		"https://hooks.example.com./in",
		"https://xn--bcher-kva.example/in",
		"https://_internal.example.com/in",
		"https://HOOKS.Example.COM/in",
	} {
		t.Run("accepts "+u, func(t *testing.T) {
			h.createEndpoint(h.keyA, `{"url":"`+u+`"}`)
		})
	}
}

func boolJSON(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func TestRegistrationFollowsTheGuardSettings(t *testing.T) {
	t.Run("private networks allowed (securo dev)", func(t *testing.T) {
		h := newHarness(t, "sqlite", allowPrivate)
		for _, u := range []string{"https://127.0.0.1:8443/hook", "https://[::1]/hook", "https://localhost/hook", "https://10.1.2.3/hook"} {
			h.createEndpoint(h.keyA, `{"url":"`+u+`"}`)
		}
	})
	t.Run("one range opened by SECURO_ALLOW_NETWORKS", func(t *testing.T) {
		h := newHarness(t, "sqlite", func(d *api.Deps) {
			d.Guard = &egress.Guard{Allow: []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16")}}
		})
		h.createEndpoint(h.keyA, `{"url":"https://10.20.0.5/hook"}`)
		h.do("POST", "/v1/endpoints", h.keyA, `{"url":"https://10.21.0.5/hook"}`).wantError(t, http.StatusUnprocessableEntity, "validation_failed", "url")
		h.do("POST", "/v1/endpoints", h.keyA, `{"url":"https://localhost/hook"}`).wantError(t, http.StatusUnprocessableEntity, "validation_failed", "url")
	})
}
