package workflows

import (
	"path/filepath"
	"testing"

	"go.temporal.io/sdk/worker"
)

// Histories recorded from real runs (see recordHistory in cmd/securo): a
// workflow change that would break executions already under way fails here.
// Record new ones with
//
//	SECURO_RECORD_HISTORIES=$PWD/workflows/testdata make test
//
// and keep the old files: running workflows started on old code.
func TestRecordedHistoriesReplay(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 2 {
		t.Fatalf("want recorded histories in testdata/, found %v", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			r := worker.NewWorkflowReplayer()
			r.RegisterWorkflow(EventWorkflow)
			r.RegisterWorkflow(DeliveryWorkflow)
			r.RegisterWorkflow(RetentionWorkflow)
			if err := r.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
				t.Fatalf("replay %s: %v", f, err)
			}
		})
	}
}
