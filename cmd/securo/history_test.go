package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/securo/webhooks/internal/temporaltest"
)

// recordHistory writes a finished workflow's history as JSON into
// $SECURO_RECORD_HISTORIES (normally workflows/testdata), for the replay
// tests that keep workflow changes compatible with running executions.
// Without that variable it does nothing.
func recordHistory(t *testing.T, workflowID, name string) {
	t.Helper()
	dir := os.Getenv("SECURO_RECORD_HISTORIES")
	if dir == "" {
		return
	}
	c := temporaltest.Shared(t).Client
	iter := c.GetWorkflowHistory(context.Background(), workflowID, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var h historypb.History
	for iter.HasNext() {
		ev, err := iter.Next()
		if err != nil {
			t.Fatalf("history of %s: %v", workflowID, err)
		}
		h.Events = append(h.Events, ev)
	}
	b, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&h)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}
