package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/securo/webhooks/egress"
)

// Seeds are in testdata/fuzz/<target>; `make fuzz` runs each target briefly.

// FuzzDecodeStrict: whatever the body, decoding into any request type
// answers 400 invalid_json or accepts exactly one valid JSON object.
func FuzzDecodeStrict(f *testing.F) {
	f.Add([]byte(`{"url":"https://a.example.com","event_types":["dex.*"],"enabled":true}`), uint8(0))
	f.Add([]byte(`{"type":"dex.swap","data":{"n":1e400}}`), uint8(2))
	f.Add([]byte(`{"url":null} {}`), uint8(1))
	f.Fuzz(func(t *testing.T, body []byte, kind uint8) {
		targets := []func() any{
			func() any { return &createEndpointRequest{} },
			func() any { return &updateEndpointRequest{} },
			func() any { return &createEventRequest{} },
			func() any { return &createAPIKeyRequest{} },
		}
		v := targets[int(kind)%len(targets)]()
		err := decodeStrict(body, v)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.status != http.StatusBadRequest || ae.code != "invalid_json" || ae.message == "" {
				t.Fatalf("decodeStrict(%q) = %#v, want a 400 invalid_json with a message", body, err)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("decodeStrict accepted %q, which is not valid JSON", body)
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(body, &fields); err != nil {
			t.Fatalf("decodeStrict accepted %q, which is not an object: %v", body, err)
		}
		known := strings.Join(jsonFields(v), ",")
		for name := range fields {
			if !fieldIn(name, jsonFields(v)) {
				t.Fatalf("decodeStrict accepted unknown field %q (known: %s) in %q", name, known, body)
			}
		}
	})
}

// fieldIn matches as encoding/json does: case-insensitively.
func fieldIn(name string, fields []string) bool {
	for _, f := range fields {
		if strings.EqualFold(f, name) {
			return true
		}
	}
	return false
}

// FuzzValidateURL: an accepted URL is one the delivery client can POST to,
// over https (http only on sandbox), to a host that is no blocked literal.
func FuzzValidateURL(f *testing.F) {
	f.Add("https://hooks.example.com/in?x=1", false, false)
	f.Add("http://127.0.0.1:9000/hook", true, true)
	f.Add("https://[::ffff:169.254.169.254]/", false, false)
	f.Fuzz(func(t *testing.T, raw string, sandbox, private bool) {
		guard := &egress.Guard{AllowPrivate: private}
		err := validateURL(raw, sandbox, guard)
		if err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.status != http.StatusUnprocessableEntity || ae.field != "url" || ae.message == "" {
				t.Fatalf("validateURL(%q) = %#v, want a 422 on field url with a message", raw, err)
			}
			return
		}
		u, perr := url.Parse(raw)
		switch {
		case perr != nil:
			t.Fatalf("accepted %q, which does not parse: %v", raw, perr)
		case len(raw) > maxURLLength:
			t.Fatalf("accepted a url of %d characters", len(raw))
		case u.Scheme != "https" && !(u.Scheme == "http" && sandbox):
			t.Fatalf("accepted scheme %q (sandbox %v)", u.Scheme, sandbox)
		case u.Hostname() == "" || u.User != nil:
			t.Fatalf("accepted %q without a host or with userinfo", raw)
		}
		if ip, err := netip.ParseAddr(u.Hostname()); err == nil && guard.Check(ip) != nil {
			t.Fatalf("accepted %q, a blocked address", raw)
		}
		if _, err := http.NewRequest(http.MethodPost, raw, nil); err != nil {
			t.Fatalf("accepted %q, which the delivery client cannot request: %v", raw, err)
		}
	})
}
