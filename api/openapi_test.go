package api_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/gin-gonic/gin"

	"github.com/securo/webhooks/api"
	"github.com/securo/webhooks/internal/storetest"
	"github.com/securo/webhooks/models"
)

// describedAhead are operations the document describes before the API
// serves them. TestAnswersMatchTheOpenAPIDocument has their cases already,
// run once the route is served (and fails if one is served without a
// case); an operation leaves this list once it is served everywhere.
var describedAhead = map[string]bool{}

// loadDocument fetches the document the API serves, without a key, and
// checks it is a valid OpenAPI 3 description.
func loadDocument(t *testing.T, h *harness) *openapi3.T {
	t.Helper()
	r := h.do("GET", "/v1/openapi.json", "", "").want(t, http.StatusOK)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want JSON", ct)
	}
	doc, err := openapi3.NewLoader().LoadFromData(r.body)
	if err != nil {
		t.Fatalf("load the OpenAPI document: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the OpenAPI document is not valid: %v", err)
	}
	return doc
}

func TestTheOpenAPIDocumentIsServedWithoutAKeyAndIsValid(t *testing.T) {
	h := newHarness(t, "sqlite")
	doc := loadDocument(t, h)
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi %q, want 3.x", doc.OpenAPI)
	}
	scheme := doc.Components.SecuritySchemes["bearerAuth"]
	if scheme == nil || scheme.Value.Type != "http" || scheme.Value.Scheme != "bearer" {
		t.Fatalf("security scheme bearerAuth is %+v, want http bearer", scheme)
	}
	// The /v1 routes need the key; the service's own routes do not.
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			public := op.Security != nil && len(*op.Security) == 0
			if wantPublic := !strings.HasPrefix(path, "/v1/") || path == "/v1/openapi.json"; public != wantPublic {
				t.Errorf("%s %s: public %v, want %v", method, path, public, wantPublic)
			}
		}
	}
}

// ginPath turns a Gin route (/v1/endpoints/:id) into a document path
// (/v1/endpoints/{id}).
var ginParam = regexp.MustCompile(`[:*]([A-Za-z_]+)`)

// servedRoutes is every route the API registers, as "METHOD /path/{param}".
func servedRoutes(t *testing.T) map[string]bool {
	t.Helper()
	engine, ok := api.New(api.Deps{Store: storetest.Open(t, "sqlite"), Launcher: &fakeLauncher{}}).(*gin.Engine)
	if !ok {
		t.Fatal("api.New no longer returns the *gin.Engine: list its routes another way")
	}
	out := map[string]bool{}
	for _, r := range engine.Routes() {
		out[r.Method+" "+ginParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	return out
}

// documented is every operation of the document as "METHOD /path".
func documented(doc *openapi3.T) map[string]bool {
	out := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			out[method+" "+path] = true
		}
	}
	return out
}

func TestEveryRouteIsInTheOpenAPIDocumentAndNoMore(t *testing.T) {
	doc := loadDocument(t, newHarness(t, "sqlite"))
	served, described := servedRoutes(t), documented(doc)
	for _, r := range sorted(served) {
		// The Dashboard's pages are HTML for browsers, not the JSON API.
		if strings.HasPrefix(strings.Fields(r)[1], "/dashboard") {
			continue
		}
		if !described[r] {
			t.Errorf("%s is served but not in api/openapi.json: describe it", r)
		}
	}
	for _, r := range sorted(described) {
		if !served[r] && !describedAhead[r] {
			t.Errorf("%s is in api/openapi.json but not served: remove it, or serve it", r)
		}
	}
}

func sorted(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// specChecker sends requests to the API and checks each answer (status,
// headers, body) against the document, recording which operations it saw.
type specChecker struct {
	t       *testing.T
	router  routers.Router
	covered map[string]bool
}

func newSpecChecker(t *testing.T, doc *openapi3.T) *specChecker {
	t.Helper()
	doc.Servers = nil // match paths on whatever port the test server has
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &specChecker{t: t, router: router, covered: map[string]bool{}}
}

// specCall is one request; offSpec marks a request that breaks the document
// on purpose (a bad body, a limit out of range), so only its answer is
// checked against it.
type specCall struct {
	method, path, key, body string
	headers                 []string
	status                  int
	offSpec                 bool
}

func (sc *specChecker) call(h *harness, c specCall) reply {
	t := sc.t
	t.Helper()
	req, err := http.NewRequest(c.method, h.url+c.path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	if c.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	for i := 0; i+1 < len(c.headers); i += 2 {
		req.Header.Set(c.headers[i], c.headers[i+1])
	}
	route, params, err := sc.router.FindRoute(req)
	if err != nil {
		t.Fatalf("%s %s is in no path of the document: %v", c.method, c.path, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if !c.offSpec {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			t.Fatalf("%s %s: the request breaks the document: %v", c.method, c.path, err)
		}
		req.Body = io.NopCloser(strings.NewReader(c.body))
	}
	headers := append([]string{"Content-Type", req.Header.Get("Content-Type")}, c.headers...)
	r := h.do(c.method, c.path, c.key, c.body, headers...)
	if r.status != c.status {
		t.Fatalf("%s %s: status %d, want %d; body %s", c.method, c.path, r.status, c.status, r.body)
	}
	err = openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 r.status,
		Header:                 r.header,
		Body:                   io.NopCloser(bytes.NewReader(r.body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true},
	})
	if err != nil {
		t.Fatalf("%s %s answered %d off the document: %v\nbody: %s", c.method, c.path, r.status, err, r.body)
	}
	sc.covered[route.Method+" "+route.Path] = true
	return r
}

func TestAnswersMatchTheOpenAPIDocument(t *testing.T) {
	h := newHarness(t, "sqlite")
	doc := loadDocument(t, h)
	sc := newSpecChecker(t, doc)
	A, B := h.keyA, h.keyB
	do := func(c specCall) reply { t.Helper(); return sc.call(h, c) }

	// The service's own routes.
	do(specCall{method: "GET", path: "/healthz", status: 200})
	do(specCall{method: "GET", path: "/readyz", status: 200})
	do(specCall{method: "GET", path: "/v1/openapi.json", status: 200})

	// Endpoints.
	var live, sandbox endpoint
	do(specCall{method: "POST", path: "/v1/endpoints", key: A, status: 201,
		body: `{"url": "https://example.com/securo-webhooks", "description": "swaps", "event_types": ["dex.*"]}`}).decode(t, &live)
	do(specCall{method: "POST", path: "/v1/endpoints", key: A, status: 201,
		body: `{"url": "https://example.com/sandbox-hooks", "sandbox": true, "enabled": true}`}).decode(t, &sandbox)
	do(specCall{method: "POST", path: "/v1/endpoints", key: A, status: 422, body: `{"url": "http://example.com/hooks"}`})
	do(specCall{method: "POST", path: "/v1/endpoints", key: A, status: 400, body: `{"url": 1}`, offSpec: true})
	do(specCall{method: "POST", path: "/v1/endpoints", key: A, status: 413, offSpec: true,
		body: `{"url": "https://example.com/x", "description": "` + strings.Repeat("x", 300<<10) + `"}`})
	do(specCall{method: "POST", path: "/v1/endpoints", status: 401, body: `{"url": "https://example.com/x"}`})
	do(specCall{method: "GET", path: "/v1/endpoints", key: A, status: 200})
	var page list[endpoint]
	do(specCall{method: "GET", path: "/v1/endpoints?limit=1", key: A, status: 200}).decode(t, &page)
	if page.NextCursor == nil || *page.NextCursor == "" {
		t.Fatalf("a page of 1 of 2 endpoints has no next_cursor")
	}
	do(specCall{method: "GET", path: "/v1/endpoints?limit=1&cursor=" + *page.NextCursor, key: A, status: 200})
	do(specCall{method: "GET", path: "/v1/endpoints?limit=0", key: A, status: 422, offSpec: true})
	do(specCall{method: "GET", path: "/v1/endpoints?cursor=" + strings.Repeat("c", 5000), key: A, status: 414})
	do(specCall{method: "GET", path: "/v1/endpoints/" + live.ID, key: A, status: 200})
	do(specCall{method: "GET", path: "/v1/endpoints/" + live.ID, key: B, status: 404})
	do(specCall{method: "PATCH", path: "/v1/endpoints/" + live.ID, key: A, status: 200, body: `{"description": "dex swaps", "enabled": false}`})
	do(specCall{method: "PATCH", path: "/v1/endpoints/" + live.ID, key: A, status: 200, body: `{"enabled": true, "url": null}`})
	do(specCall{method: "PATCH", path: "/v1/endpoints/" + live.ID, key: A, status: 422, body: `{"url": "https://127.0.0.1/hooks"}`})
	do(specCall{method: "PATCH", path: "/v1/endpoints/ep_missing", key: A, status: 404, body: `{}`})
	do(specCall{method: "GET", path: "/v1/endpoints/" + live.ID + "/secret", key: A, status: 200})
	do(specCall{method: "POST", path: "/v1/endpoints/" + live.ID + "/secret/rotate", key: A, status: 200})
	do(specCall{method: "POST", path: "/v1/endpoints/" + live.ID + "/secret/rotate", key: A, status: 200, body: `{"grace_period_seconds": 0}`})
	do(specCall{method: "POST", path: "/v1/endpoints/" + live.ID + "/secret/rotate", key: A, status: 422, body: `{"grace_period_seconds": -1}`, offSpec: true})

	// Events.
	var ev event
	swap := `{"type": "dex.swap", "data": {"pair": "ETH/USDC", "amount_in": 115792089237316195423570985008687907853269984665640564039457584007913129639935}}`
	do(specCall{method: "POST", path: "/v1/events", key: A, body: swap, headers: []string{"Idempotency-Key", "swap-1"}, status: 202}).decode(t, &ev)
	if r := do(specCall{method: "POST", path: "/v1/events", key: A, body: swap, headers: []string{"Idempotency-Key", "swap-1"}, status: 202}); r.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("a replay answered without Idempotent-Replayed: true")
	}
	do(specCall{method: "POST", path: "/v1/events", key: A, body: `{"type": "dex.swap", "data": {}}`, headers: []string{"Idempotency-Key", "swap-1"}, status: 409})
	do(specCall{method: "POST", path: "/v1/events", key: A, body: `{"type": "delivery.failed", "data": {}}`, status: 422})
	do(specCall{method: "POST", path: "/v1/events", key: A, body: `{"type": "bank.payment.confirmed", "sandbox": true, "data": {"amount": "10.00"}}`, status: 202})
	do(specCall{method: "GET", path: "/v1/events", key: A, status: 200})
	do(specCall{method: "GET", path: "/v1/events?type=dex.swap&sandbox=false&limit=5", key: A, status: 200})
	do(specCall{method: "GET", path: "/v1/events?sandbox=maybe", key: A, status: 422, offSpec: true})
	do(specCall{method: "GET", path: "/v1/events/" + ev.ID, key: A, status: 200}).decode(t, &ev)
	do(specCall{method: "GET", path: "/v1/events/evt_missing", key: A, status: 404})
	if len(ev.Deliveries) != 1 {
		t.Fatalf("the swap has %d deliveries, want 1 (to %s)", len(ev.Deliveries), live.ID)
	}
	dlv := ev.Deliveries[0].ID

	// Deliveries. Nothing runs them here (the launcher is a fake), so they
	// stay pending until the test ends one.
	do(specCall{method: "GET", path: "/v1/endpoints/" + live.ID + "/deliveries", key: A, status: 200})
	do(specCall{method: "GET", path: "/v1/endpoints/" + live.ID + "/deliveries?status=pending&limit=10", key: A, status: 200})
	do(specCall{method: "GET", path: "/v1/endpoints/" + live.ID + "/deliveries?status=lost", key: A, status: 422, offSpec: true})
	do(specCall{method: "GET", path: "/v1/endpoints/ep_missing/deliveries", key: A, status: 404})
	do(specCall{method: "GET", path: "/v1/deliveries/" + dlv, key: A, status: 200})
	do(specCall{method: "GET", path: "/v1/deliveries/dlv_missing", key: A, status: 404})
	do(specCall{method: "POST", path: "/v1/deliveries/" + dlv + "/retry", key: A, status: 202})
	do(specCall{method: "POST", path: "/v1/deliveries/" + dlv + "/cancel", key: A, status: 202})
	failed := models.DeliveryState{Status: models.StatusFailed, Reason: models.ReasonAttemptsExhausted}
	if err := h.store.SetDeliveryState(context.Background(), dlv, failed); err != nil {
		t.Fatal(err)
	}
	do(specCall{method: "POST", path: "/v1/deliveries/" + dlv + "/retry", key: A, status: 409})
	do(specCall{method: "POST", path: "/v1/deliveries/" + dlv + "/cancel", key: B, status: 404})
	do(specCall{method: "POST", path: "/v1/events/" + ev.ID + "/resend", key: A, status: 202})
	do(specCall{method: "POST", path: "/v1/events/" + ev.ID + "/resend", key: A, status: 202, body: `{"endpoint_id": "` + live.ID + `"}`})
	do(specCall{method: "POST", path: "/v1/events/" + ev.ID + "/resend", key: A, status: 404, body: `{"endpoint_id": "` + sandbox.ID + `"}`})
	do(specCall{method: "PATCH", path: "/v1/endpoints/" + live.ID, key: A, status: 200, body: `{"enabled": false}`})
	do(specCall{method: "POST", path: "/v1/events/" + ev.ID + "/resend", key: A, status: 422, body: `{"endpoint_id": "` + live.ID + `"}`})
	do(specCall{method: "PATCH", path: "/v1/endpoints/" + live.ID, key: A, status: 200, body: `{"enabled": true}`})
	do(specCall{method: "POST", path: "/v1/events/evt_missing/resend", key: A, status: 404})
	since := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	do(specCall{method: "POST", path: "/v1/endpoints/" + live.ID + "/recover", key: A, status: 202, body: `{"since": "` + since + `"}`})
	do(specCall{method: "POST", path: "/v1/endpoints/" + live.ID + "/recover", key: A, status: 422, body: `{}`, offSpec: true})

	// The test event, once its route is served: to this endpoint alone.
	served := servedRoutes(t)
	if served["POST /v1/endpoints/{id}/test"] {
		var tested event
		do(specCall{method: "POST", path: "/v1/endpoints/" + live.ID + "/test", key: A, status: 202}).decode(t, &tested)
		if tested.Type != "webhook.test" || len(tested.Deliveries) != 1 || tested.Deliveries[0].EndpointID != live.ID {
			t.Fatalf("the test event is %s with deliveries %+v, want webhook.test to %s alone", tested.Type, tested.Deliveries, live.ID)
		}
		do(specCall{method: "POST", path: "/v1/endpoints/ep_missing/test", key: A, status: 404})
		do(specCall{method: "POST", path: "/v1/endpoints/" + live.ID + "/test", key: B, status: 404})
		do(specCall{method: "PATCH", path: "/v1/endpoints/" + live.ID, key: A, status: 200, body: `{"enabled": false}`})
		if e := do(specCall{method: "POST", path: "/v1/endpoints/" + live.ID + "/test", key: A, status: 409}).apiError(t); e.Code != "endpoint_disabled" {
			t.Fatalf("a disabled endpoint's test answered %q, want endpoint_disabled", e.Code)
		}
		do(specCall{method: "PATCH", path: "/v1/endpoints/" + live.ID, key: A, status: 200, body: `{"enabled": true}`})
	}

	// API keys.
	var keys list[struct {
		ID string `json:"id"`
	}]
	do(specCall{method: "GET", path: "/v1/api-keys", key: A, status: 200})
	var made struct {
		ID string `json:"id"`
	}
	do(specCall{method: "POST", path: "/v1/api-keys", key: A, status: 201, body: `{"name": "ci"}`}).decode(t, &made)
	do(specCall{method: "DELETE", path: "/v1/api-keys/" + made.ID, key: A, status: 200})
	do(specCall{method: "GET", path: "/v1/api-keys", key: B, status: 200}).decode(t, &keys)
	do(specCall{method: "DELETE", path: "/v1/api-keys/" + keys.Data[0].ID, key: B, status: 409})
	do(specCall{method: "DELETE", path: "/v1/api-keys/" + keys.Data[0].ID, key: A, status: 404})

	do(specCall{method: "DELETE", path: "/v1/endpoints/" + sandbox.ID, key: A, status: 204})
	do(specCall{method: "DELETE", path: "/v1/endpoints/" + sandbox.ID, key: A, status: 404})

	// What a rate-limited account and an API without its database get.
	limited := newHarness(t, "sqlite", func(d *api.Deps) { d.RateLimit = api.RateLimit{Requests: 1, Per: time.Hour} })
	sc.call(limited, specCall{method: "GET", path: "/v1/events", key: limited.keyA, status: 200})
	sc.call(limited, specCall{method: "GET", path: "/v1/events", key: limited.keyA, status: 429})
	down := newHarness(t, "sqlite", func(d *api.Deps) {
		d.TemporalHealth = func(context.Context) error { return errors.New("temporal is down") }
	})
	if err := models.Close(down.store.DB()); err != nil {
		t.Fatal(err)
	}
	sc.call(down, specCall{method: "GET", path: "/readyz", status: 503})
	sc.call(down, specCall{method: "GET", path: "/v1/endpoints", key: down.keyA, status: 503})

	for _, op := range sorted(documented(doc)) {
		switch {
		case sc.covered[op]:
		case describedAhead[op] && !served[op]:
			t.Logf("%s is described ahead of its route; its case runs once the route is served", op)
		default:
			t.Errorf("%s has no case here: add one that checks its answers", op)
		}
	}
}
