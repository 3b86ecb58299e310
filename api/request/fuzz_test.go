package request

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

// Request shapes with every kind of field the API's requests have (package
// api's own types would pull Gin and the database into this test binary
// and slow fuzzing twentyfold).
type (
	createShape struct {
		URL        string   `json:"url"`
		EventTypes []string `json:"event_types"`
		Sandbox    bool     `json:"sandbox"`
		Enabled    *bool    `json:"enabled"`
	}
	patchShape struct {
		URL        *string   `json:"url"`
		EventTypes *[]string `json:"event_types"`
		Sandbox    *bool     `json:"sandbox"`
	}
	eventShape struct {
		Type    string          `json:"type"`
		Data    json.RawMessage `json:"data"`
		Sandbox bool            `json:"sandbox"`
	}
	nameShape struct {
		Name string `json:"name"`
	}
	rotateShape struct {
		GracePeriodSeconds *int64 `json:"grace_period_seconds"`
	}
)

// FuzzDecodeStrict: whatever the body, decoding into any request shape
// answers a BadJSON error with a message, or accepts exactly one valid JSON
// object whose fields all belong to the shape.
func FuzzDecodeStrict(f *testing.F) {
	f.Add([]byte(`{"url":"https://a.example.com","event_types":["dex.*"],"enabled":true}`), uint8(0))
	f.Add([]byte(`{"type":"dex.swap","data":{"n":1e400}}`), uint8(2))
	f.Add([]byte(`{"url":null} {}`), uint8(1))
	f.Fuzz(func(t *testing.T, body []byte, kind uint8) {
		shapes := []func() any{
			func() any { return &createShape{} },
			func() any { return &patchShape{} },
			func() any { return &eventShape{} },
			func() any { return &nameShape{} },
			func() any { return &rotateShape{} },
		}
		v := shapes[int(kind)%len(shapes)]()
		err := DecodeStrict(body, v)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Kind != BadJSON || e.Message == "" {
				t.Fatalf("DecodeStrict(%q) = %#v, want a BadJSON error with a message", body, err)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("DecodeStrict accepted %q, which is not valid JSON", body)
		}
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(body, &fields); err != nil {
			t.Fatalf("DecodeStrict accepted %q, which is not an object: %v", body, err)
		}
		for name := range fields {
			if !fieldIn(name, jsonFields(v)) {
				t.Fatalf("DecodeStrict accepted unknown field %q (known: %s) in %q", name, strings.Join(jsonFields(v), ","), body)
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
		err := ValidateURL(raw, sandbox, guard)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Kind != Invalid || e.Field != "url" || e.Message == "" {
				t.Fatalf("ValidateURL(%q) = %#v, want an Invalid error on field url with a message", raw, err)
			}
			return
		}
		u, perr := url.Parse(raw)
		switch {
		case perr != nil:
			t.Fatalf("accepted %q, which does not parse: %v", raw, perr)
		case len(raw) > MaxURLLength:
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
