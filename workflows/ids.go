package workflows

// EventWorkflowID is the workflow id of an event's delivery workflow: derived
// from the event id, so starting it twice is harmless.
func EventWorkflowID(eventID string) string { return "event-" + eventID }

// DeliveryWorkflowID is the workflow id of one delivery's child workflow.
func DeliveryWorkflowID(deliveryID string) string { return "delivery-" + deliveryID }
