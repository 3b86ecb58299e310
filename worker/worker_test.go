package worker_test

import (
	"testing"

	"github.com/securo/webhooks/egress"
	"github.com/securo/webhooks/worker"
)

// A worker told to stop lets its running attempts finish: its stop timeout
// must outlast the longest POST, or a rolling restart cuts deliveries short.
func TestTheStopTimeoutOutlastsAPost(t *testing.T) {
	post := egress.NewClient(egress.Options{}).Timeout
	if post == 0 || worker.StopTimeout <= post {
		t.Fatalf("worker.StopTimeout %s, POST timeout %s: want the stop timeout longer", worker.StopTimeout, post)
	}
}
