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
	Register(w, acts)
	return w
}

// Register puts the workflows and activities on any registry: a worker, or
// a replayer or test environment.
func Register(r interface {
	RegisterWorkflow(any)
	RegisterActivity(any)
}, acts *activities.Activities) {
	r.RegisterWorkflow(workflows.EventWorkflow)
	r.RegisterWorkflow(workflows.DeliveryWorkflow)
	if acts != nil {
		r.RegisterActivity(acts)
	}
}
