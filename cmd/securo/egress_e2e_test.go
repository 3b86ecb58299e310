package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/securo/webhooks/egress"
	"github.com/securo/webhooks/internal/receivertest"
	"github.com/securo/webhooks/models"
)

func TestDeliveriesGoThroughTheEgressProxyWhenOneIsSet(t *testing.T) {
	rc := receivertest.New(t)
	proxy := receivertest.NewConnectProxy(t, rc.Listener.Addr().String())
	proxyURL, err := egress.ParseProxy(proxy.URL)
	if err != nil {
		t.Fatal(err)
	}
	s := startService(t, "sqlite", []*receivertest.Receiver{rc}, serviceOptions{configure: func(c *config) {
		// Production settings: private networks closed, and the proxy on
		// loopback reachable all the same.
		c.AllowPrivate = false
		c.EgressProxy = proxyURL
	}})
	port := rc.URL[strings.LastIndex(rc.URL, ":")+1:]
	// The receiver's certificate names example.com; the proxy sends every
	// tunnel to the receiver, as a real one would after its own checks.
	s.createEndpoint(`{"url": "https://example.com:` + port + `/hook"}`)
	if code := s.call("POST", "/v1/endpoints", `{"url": "https://127.0.0.1:`+port+`/hook"}`, nil); code != http.StatusUnprocessableEntity {
		t.Errorf("a loopback endpoint: %d, want 422", code)
	}

	ev := s.emit(`{"type": "dex.swap", "data": {}}`)
	got := s.waitEvent(ev.ID)
	if len(got.Deliveries) != 1 || got.Deliveries[0].Status != models.StatusSucceeded {
		t.Fatalf("deliveries %+v", got.Deliveries)
	}
	rc.WaitFor(t, 1, 10*time.Second)
	if d := proxy.Destinations(); len(d) == 0 || d[0] != "example.com:"+port {
		t.Errorf("the proxy was asked for %v, want example.com:%s", d, port)
	}
}
