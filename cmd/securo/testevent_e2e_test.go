package main

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/securo/webhooks/internal/receivertest"
	"github.com/securo/webhooks/signing"
)

func TestATestEventReachesOnlyItsEndpoint(t *testing.T) {
	target, other := receivertest.New(t), receivertest.New(t)
	s := startService(t, "sqlite", []*receivertest.Receiver{target, other}, serviceOptions{})
	// The target subscribes to dex.swap only; its neighbours to everything,
	// one sandbox and one live.
	ep := s.createEndpoint(`{"url": "` + target.URL + `/hook", "sandbox": true, "event_types": ["dex.swap"]}`)
	s.createEndpoint(`{"url": "` + other.URL + `/sandbox", "sandbox": true}`)
	s.createEndpoint(`{"url": "` + other.URL + `/live"}`)

	var ev eventJSON
	if code := s.call("POST", "/v1/endpoints/"+ep.ID+"/test", "", &ev); code != http.StatusAccepted {
		t.Fatalf("send test event: %d", code)
	}
	got := target.WaitFor(t, 1, 30*time.Second)[0]
	v, err := signing.NewVerifier(ep.Secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Verify(got.Header, got.Body); err != nil {
		t.Fatalf("signature: %v", err)
	}
	var body struct {
		ID      string `json:"id"`
		Type    string `json:"type"`
		Sandbox bool   `json:"sandbox"`
		Data    struct {
			EndpointID string `json:"endpoint_id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(got.Body, &body); err != nil {
		t.Fatal(err)
	}
	if body.ID != ev.ID || body.Type != "webhook.test" || !body.Sandbox || body.Data.EndpointID != ep.ID {
		t.Fatalf("test event as received: %s", got.Body)
	}
	final := s.waitEvent(ev.ID)
	if len(final.Deliveries) != 1 || final.Deliveries[0].Status != "succeeded" || final.Deliveries[0].EndpointID != ep.ID {
		t.Fatalf("deliveries %+v", final.Deliveries)
	}
	// Every delivery an event gets is written when it is accepted, so once
	// its workflow has closed nothing more can go anywhere.
	s.waitWorkflowClosed(ev.WorkflowID)
	if n := len(other.Got()); n != 0 {
		t.Fatalf("the other endpoints got %d requests", n)
	}
}
