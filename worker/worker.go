// Package worker builds the Temporal worker that runs Securo's delivery
// workflows and activities.
package worker

import (
	"go.temporal.io/sdk/client"
	sdkworker "go.temporal.io/sdk/worker"

	"github.com/securo/webhooks/activities"
	"github.com/securo/webhooks/workflows"
)

// New registers the workflows and acts on taskQueue; the caller runs it
// (Run or Start/Stop).
func New(c client.Client, taskQueue string, acts *activities.Activities) sdkworker.Worker {
	w := sdkworker.New(c, taskQueue, sdkworker.Options{})
	w.RegisterWorkflow(workflows.EventWorkflow)
	w.RegisterWorkflow(workflows.DeliveryWorkflow)
	w.RegisterWorkflow(workflows.RetentionWorkflow)
	w.RegisterActivity(acts)
	return w
}
