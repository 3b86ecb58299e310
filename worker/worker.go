// Package worker builds the Temporal worker that runs Securo's delivery
// workflows and activities.
package worker

import (
	"time"

	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/securo/webhooks/activities"
	"github.com/securo/webhooks/workflows"
)

// StopTimeout is how long Stop lets running activities finish: longer than
// a POST may take (15 s), so a rolling restart cuts no delivery short.
const StopTimeout = 20 * time.Second

// New registers the workflows and acts on taskQueue; the caller runs it
// (Run or Start/Stop).
func New(c client.Client, taskQueue string, acts *activities.Activities) sdkworker.Worker {
	w := sdkworker.New(c, taskQueue, sdkworker.Options{WorkerStopTimeout: StopTimeout})
	w.RegisterWorkflow(workflows.EventWorkflow)
	w.RegisterWorkflow(workflows.DeliveryWorkflow)
	w.RegisterWorkflow(workflows.RetentionWorkflow)
	w.RegisterActivity(acts)
	return w
}
