package api_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestBadRequestsAreRefusedAndChangeNothing(t *testing.T) {
	h := newHarness(t, "sqlite")
	live := h.createEndpoint(h.keyA, `{"url":"https://live.example.com/hook"}`)
	sbx := h.createEndpoint(h.keyA, `{"url":"http://sandbox.example.com/hook","sandbox":true}`)
	ev := h.postEvent(h.keyA, `{"type":"order.created","data":{"n":1}}`, "Idempotency-Key", "used-key")
	ids := strings.NewReplacer("{live}", live.ID, "{sbx}", sbx.ID, "{evt}", ev.ID)

	long := func(n int) string { return strings.Repeat("a", n) }
	manyTypes := `"t0"` + strings.Repeat(`,"t"`, 100)
	huge := `{"url":"https://a.example.com","description":"` + long(300<<10) + `"}`
	hugeEvent := `{"type":"big","data":{"s":"` + long(300<<10) + `"}}`

	tests := []struct {
		name    string
		method  string
		path    string
		body    string
		headers []string
		status  int
		code    string
		field   string
	}{
		// Malformed JSON.
		{"a body that is not JSON is refused", "POST", "/v1/endpoints", `url=https://a.example.com`, nil, 400, "invalid_json", ""},
		{"an empty body is refused", "POST", "/v1/endpoints", ``, nil, 400, "invalid_json", ""},
		{"a body of only whitespace is refused", "POST", "/v1/endpoints", " \n\t", nil, 400, "invalid_json", ""},
		{"a JSON array instead of an object is refused", "POST", "/v1/endpoints", `[{"url":"https://a.example.com"}]`, nil, 400, "invalid_json", ""},
		{"a JSON null instead of an object is refused", "PATCH", "/v1/endpoints/{live}", `null`, nil, 400, "invalid_json", ""},
		{"JSON cut off in the middle is refused", "POST", "/v1/endpoints", `{"url":"https://a.example.com"`, nil, 400, "invalid_json", ""},
		{"JSON with a syntax error is refused", "POST", "/v1/events", `{"type":"a","data":{"x":}}`, nil, 400, "invalid_json", ""},
		{"an unknown endpoint field is refused and named", "POST", "/v1/endpoints", `{"url":"https://a.example.com","colour":"red"}`, nil, 400, "invalid_json", "colour"},
		{"an unknown PATCH field is refused and named", "PATCH", "/v1/endpoints/{live}", `{"secret":"whsec_x"}`, nil, 400, "invalid_json", "secret"},
		{"an unknown event field is refused and named", "POST", "/v1/events", `{"type":"a","data":{},"extra":1}`, nil, 400, "invalid_json", "extra"},
		{"a url that is a number is refused and named", "POST", "/v1/endpoints", `{"url":5}`, nil, 400, "invalid_json", "url"},
		{"enabled given as a string is refused and named", "POST", "/v1/endpoints", `{"url":"https://a.example.com","enabled":"yes"}`, nil, 400, "invalid_json", "enabled"},
		{"event_types holding a number is refused and named", "POST", "/v1/endpoints", `{"url":"https://a.example.com","event_types":[1]}`, nil, 400, "invalid_json", "event_types"},
		{"event_types given as a string is refused and named", "PATCH", "/v1/endpoints/{live}", `{"event_types":"order.*"}`, nil, 400, "invalid_json", "event_types"},
		{"sandbox given as a string in a PATCH is refused and named", "PATCH", "/v1/endpoints/{sbx}", `{"sandbox":"no"}`, nil, 400, "invalid_json", "sandbox"},
		{"sandbox given as a string on an event is refused and named", "POST", "/v1/events", `{"type":"a","data":{},"sandbox":"true"}`, nil, 400, "invalid_json", "sandbox"},
		{"an event type that is a number is refused and named", "POST", "/v1/events", `{"type":7,"data":{}}`, nil, 400, "invalid_json", "type"},
		{"a second object after the first is refused", "POST", "/v1/endpoints", `{"url":"https://a.example.com"} {}`, nil, 400, "invalid_json", ""},
		{"a stray closing brace after the object is refused", "POST", "/v1/events", `{"type":"a","data":{}}}`, nil, 400, "invalid_json", ""},
		{"text after the object is refused", "PATCH", "/v1/endpoints/{live}", `{"description":"x"} trailing`, nil, 400, "invalid_json", ""},
		{"an endpoint body that is not UTF-8 is refused", "POST", "/v1/endpoints", "{\"url\":\"https://a.example.com\",\"description\":\"\xff\"}", nil, 400, "invalid_json", ""},
		{"an endpoint body over 256 KiB is refused", "POST", "/v1/endpoints", huge, nil, 413, "payload_too_large", ""},
		{"an event body over 256 KiB is refused", "POST", "/v1/events", hugeEvent, nil, 413, "payload_too_large", ""},

		// Endpoint validation.
		{"an endpoint without a url is refused", "POST", "/v1/endpoints", `{"description":"x"}`, nil, 422, "validation_failed", "url"},
		{"a url without a scheme is refused", "POST", "/v1/endpoints", `{"url":"hooks.example.com/in"}`, nil, 422, "validation_failed", "url"},
		{"an ftp url is refused", "POST", "/v1/endpoints", `{"url":"ftp://hooks.example.com/in"}`, nil, 422, "validation_failed", "url"},
		{"a url without a host is refused", "POST", "/v1/endpoints", `{"url":"https:///in"}`, nil, 422, "validation_failed", "url"},
		{"a url with a port but no host is refused", "POST", "/v1/endpoints", `{"url":"https://:443/in"}`, nil, 422, "validation_failed", "url"},
		{"a url with a user and password is refused", "POST", "/v1/endpoints", `{"url":"https://me:pw@hooks.example.com/in"}`, nil, 422, "validation_failed", "url"},
		{"a url that does not parse is refused", "POST", "/v1/endpoints", `{"url":"https://hooks example.com/in"}`, nil, 422, "validation_failed", "url"},
		{"a url over 2048 characters is refused", "POST", "/v1/endpoints", `{"url":"https://a.example.com/` + long(2030) + `"}`, nil, 422, "validation_failed", "url"},
		{"an http url on a live endpoint is refused", "POST", "/v1/endpoints", `{"url":"http://hooks.example.com/in"}`, nil, 422, "validation_failed", "url"},
		{"a url with port 0 is refused", "POST", "/v1/endpoints", `{"url":"https://hooks.example.com:0/in"}`, nil, 422, "validation_failed", "url"},
		{"a url with port 65536 is refused", "POST", "/v1/endpoints", `{"url":"https://hooks.example.com:65536/in"}`, nil, 422, "validation_failed", "url"},
		{"a javascript url is refused", "POST", "/v1/endpoints", `{"url":"javascript:alert(1)"}`, nil, 422, "validation_failed", "url"},
		{"a file url is refused", "POST", "/v1/endpoints", `{"url":"file:///etc/passwd"}`, nil, 422, "validation_failed", "url"},
		{"a gopher url is refused", "POST", "/v1/endpoints", `{"url":"gopher://hooks.example.com:70/_x"}`, nil, 422, "validation_failed", "url"},
		{"a url with only a user name is refused", "POST", "/v1/endpoints", `{"url":"https://me@hooks.example.com/in"}`, nil, 422, "validation_failed", "url"},
		{"a PATCH adding a user name to the url is refused", "PATCH", "/v1/endpoints/{live}", `{"url":"https://me:pw@live.example.com/hook"}`, nil, 422, "validation_failed", "url"},
		{"a PATCH to a loopback url is refused", "PATCH", "/v1/endpoints/{live}", `{"url":"https://127.0.0.1/hook"}`, nil, 422, "validation_failed", "url"},
		{"a description over 512 characters is refused", "POST", "/v1/endpoints", `{"url":"https://a.example.com","description":"` + long(513) + `"}`, nil, 422, "validation_failed", "description"},
		{"an empty event type filter is refused", "POST", "/v1/endpoints", `{"url":"https://a.example.com","event_types":[""]}`, nil, 422, "validation_failed", "event_types"},
		{"an event type filter over 100 characters is refused", "POST", "/v1/endpoints", `{"url":"https://a.example.com","event_types":["` + long(101) + `"]}`, nil, 422, "validation_failed", "event_types"},
		{"an event type filter with a space is refused", "POST", "/v1/endpoints", `{"url":"https://a.example.com","event_types":["order created"]}`, nil, 422, "validation_failed", "event_types"},
		{"an event type filter with a wildcard inside is refused", "POST", "/v1/endpoints", `{"url":"https://a.example.com","event_types":["order.*.created"]}`, nil, 422, "validation_failed", "event_types"},
		{"more than 100 event type filters are refused", "POST", "/v1/endpoints", `{"url":"https://a.example.com","event_types":[` + manyTypes + `]}`, nil, 422, "validation_failed", "event_types"},
		{"a PATCH turning sandbox off on an http endpoint is refused", "PATCH", "/v1/endpoints/{sbx}", `{"sandbox":false}`, nil, 422, "validation_failed", "url"},
		{"a PATCH to an ftp url is refused", "PATCH", "/v1/endpoints/{live}", `{"url":"ftp://a.example.com","description":"changed"}`, nil, 422, "validation_failed", "url"},
		{"a PATCH to an empty url is refused", "PATCH", "/v1/endpoints/{live}", `{"url":""}`, nil, 422, "validation_failed", "url"},
		{"a PATCH with a long description is refused", "PATCH", "/v1/endpoints/{live}", `{"enabled":false,"description":"` + long(513) + `"}`, nil, 422, "validation_failed", "description"},
		{"a PATCH with a bad event type filter is refused", "PATCH", "/v1/endpoints/{live}", `{"event_types":["ok","no way"]}`, nil, 422, "validation_failed", "event_types"},

		// Event validation.
		{"an event without a type is refused", "POST", "/v1/events", `{"data":{}}`, nil, 422, "validation_failed", "type"},
		{"an event with an empty type is refused", "POST", "/v1/events", `{"type":"","data":{}}`, nil, 422, "validation_failed", "type"},
		{"an event type over 100 characters is refused", "POST", "/v1/events", `{"type":"` + long(101) + `","data":{}}`, nil, 422, "validation_failed", "type"},
		{"an event type with a space is refused", "POST", "/v1/events", `{"type":"order created","data":{}}`, nil, 422, "validation_failed", "type"},
		{"an event type starting with a dot is refused", "POST", "/v1/events", `{"type":".order","data":{}}`, nil, 422, "validation_failed", "type"},
		{"an event type with a wildcard is refused", "POST", "/v1/events", `{"type":"order.*","data":{}}`, nil, 422, "validation_failed", "type"},
		{"an event without data is refused", "POST", "/v1/events", `{"type":"a"}`, nil, 422, "validation_failed", "data"},
		{"an event with null data is refused", "POST", "/v1/events", `{"type":"a","data":null}`, nil, 422, "validation_failed", "data"},
		{"an event with array data is refused", "POST", "/v1/events", `{"type":"a","data":[1]}`, nil, 422, "validation_failed", "data"},
		{"an event with string data is refused", "POST", "/v1/events", `{"type":"a","data":"x"}`, nil, 422, "validation_failed", "data"},
		{"an event with number data is refused", "POST", "/v1/events", `{"type":"a","data":42}`, nil, 422, "validation_failed", "data"},
		{"an event whose data is not UTF-8 is refused", "POST", "/v1/events", "{\"type\":\"a\",\"data\":{\"s\":\"\xc3\x28\"}}", nil, 422, "validation_failed", "data"},
		{"an Idempotency-Key over 255 characters is refused", "POST", "/v1/events", `{"type":"a","data":{}}`, []string{"Idempotency-Key", long(256)}, 422, "validation_failed", "Idempotency-Key"},

		// Query parameters.
		{"a limit of 0 is refused", "GET", "/v1/endpoints?limit=0", ``, nil, 422, "validation_failed", "limit"},
		{"a limit over 100 is refused", "GET", "/v1/events?limit=101", ``, nil, 422, "validation_failed", "limit"},
		{"a limit that is not a number is refused", "GET", "/v1/endpoints/{live}/deliveries?limit=ten", ``, nil, 422, "validation_failed", "limit"},
		{"an endpoints cursor that is not one is refused", "GET", "/v1/endpoints?cursor=garbage!", ``, nil, 422, "validation_failed", "cursor"},
		{"an events cursor that is not one is refused", "GET", "/v1/events?cursor=eHl6", ``, nil, 422, "validation_failed", "cursor"},
		{"a deliveries cursor that is not one is refused", "GET", "/v1/endpoints/{live}/deliveries?cursor=%25%25", ``, nil, 422, "validation_failed", "cursor"},
		{"a sandbox filter that is not true or false is refused", "GET", "/v1/events?sandbox=yes", ``, nil, 422, "validation_failed", "sandbox"},
		{"a type filter that is not an event type is refused", "GET", "/v1/events?type=no%20way", ``, nil, 422, "validation_failed", "type"},
		{"an unknown delivery status is refused", "GET", "/v1/endpoints/{live}/deliveries?status=done", ``, nil, 422, "validation_failed", "status"},

		// Missing objects.
		{"getting a missing endpoint answers 404", "GET", "/v1/endpoints/ep_missing", ``, nil, 404, "not_found", ""},
		{"patching a missing endpoint answers 404", "PATCH", "/v1/endpoints/ep_missing", `{"enabled":false}`, nil, 404, "not_found", ""},
		{"deleting a missing endpoint answers 404", "DELETE", "/v1/endpoints/ep_missing", ``, nil, 404, "not_found", ""},
		{"the secret of a missing endpoint answers 404", "GET", "/v1/endpoints/ep_missing/secret", ``, nil, 404, "not_found", ""},
		{"the deliveries of a missing endpoint answer 404", "GET", "/v1/endpoints/ep_missing/deliveries", ``, nil, 404, "not_found", ""},
		{"getting a missing event answers 404", "GET", "/v1/events/evt_missing", ``, nil, 404, "not_found", ""},

		// Idempotency, methods and routes.
		{"a used Idempotency-Key with another body answers 409", "POST", "/v1/events", `{"type":"order.created","data":{"n":2}}`, []string{"Idempotency-Key", "used-key"}, 409, "idempotency_conflict", ""},
		{"PUT on an endpoint answers 405", "PUT", "/v1/endpoints/{live}", `{"url":"https://a.example.com"}`, nil, 405, "method_not_allowed", ""},
		{"DELETE on the event list answers 405", "DELETE", "/v1/events", ``, nil, 405, "method_not_allowed", ""},
		{"POST on an event answers 405", "POST", "/v1/events/{evt}", `{}`, nil, 405, "method_not_allowed", ""},
		{"an unknown route under /v1 answers 404", "GET", "/v1/webhooks", ``, nil, 404, "not_found", ""},
		{"an unknown route answers 404", "POST", "/nothing/here", `{}`, nil, 404, "not_found", ""},
		{"a trailing slash is not redirected", "POST", "/v1/events/", `{"type":"a","data":{}}`, nil, 404, "not_found", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.snapshot()
			r := h.do(tt.method, ids.Replace(tt.path), h.keyA, tt.body, tt.headers...)
			r.wantError(t, tt.status, tt.code, tt.field)
			if after := h.snapshot(); after != before {
				t.Errorf("the refused request changed the store:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
	if n := h.launcher.total(); n != 1 {
		t.Errorf("launcher called %d times, want once (for the setup event)", n)
	}
}

func TestMethodNotAllowedListsTheAllowedMethods(t *testing.T) {
	h := newHarness(t, "sqlite")
	r := h.do("PUT", "/v1/events", h.keyA, `{}`)
	r.wantError(t, http.StatusMethodNotAllowed, "method_not_allowed", "")
	for _, m := range []string{"GET", "POST"} {
		if !strings.Contains(r.header.Get("Allow"), m) {
			t.Errorf("Allow %q lacks %s", r.header.Get("Allow"), m)
		}
	}
}

func TestErrorMessagesNameWhatToFix(t *testing.T) {
	h := newHarness(t, "sqlite")
	tests := []struct {
		name, method, path, body string
		wantInMessage            []string
	}{
		{"an unknown field lists the allowed ones", "POST", "/v1/endpoints", `{"uri":"https://a.example.com"}`, []string{`"uri"`, "url", "event_types"}},
		{"a wrong type says what was expected", "POST", "/v1/endpoints", `{"url":true}`, []string{`"url"`, "string"}},
		{"a syntax error gives its offset", "POST", "/v1/endpoints", `{"url" "x"}`, []string{"offset 8"}},
		{"a too long Idempotency-Key gives the limit", "POST", "/v1/events", `{"type":"a","data":{}}`, []string{"255"}},
		{"a bad limit gives the range", "GET", "/v1/events?limit=500", ``, []string{"1", "100"}},
		{"a missing endpoint is named", "GET", "/v1/endpoints/ep_nope", ``, []string{"ep_nope"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.do(tt.method, tt.path, h.keyA, tt.body, "Idempotency-Key", strings.Repeat("k", 300))
			msg := r.apiError(t).Message
			for _, want := range tt.wantInMessage {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q does not contain %q", msg, want)
				}
			}
		})
	}
}

func TestBodyOfExactly256KiBIsAccepted(t *testing.T) {
	h := newHarness(t, "sqlite")
	prefix, suffix := `{"type":"big","data":{"s":"`, `"}}`
	body := prefix + strings.Repeat("x", 256<<10-len(prefix)-len(suffix)) + suffix
	if len(body) != 256<<10 {
		t.Fatalf("body is %d bytes", len(body))
	}
	ev := h.postEvent(h.keyA, body)
	if got := h.getEvent(h.keyA, ev.ID); len(got.Data) != len(body)-len(prefix)-len(suffix)+len(`{"s":""}`) {
		t.Errorf("stored data is %d bytes", len(got.Data))
	}
	h.do("POST", "/v1/events", h.keyA, body+" ").wantError(t, http.StatusRequestEntityTooLarge, "payload_too_large", "")
}
