package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/securo/webhooks/models"
)

// Wire types: what the API reads and writes, kept apart from the models so
// a column rename never changes the API. Times are written in UTC.

type endpointJSON struct {
	ID          string   `json:"id"`
	URL         string   `json:"url"`
	Description string   `json:"description"`
	EventTypes  []string `json:"event_types"`
	Sandbox     bool     `json:"sandbox"`
	Enabled     bool     `json:"enabled"`
	Secret      string   `json:"secret,omitempty"`
	// DisabledReason is "manual", "gone" or "failing" while disabled, ""
	// otherwise.
	DisabledReason string     `json:"disabled_reason"`
	DisabledAt     *time.Time `json:"disabled_at"`
	// FailingSince is when its attempts started failing without a success
	// since; LastError the latest failure.
	FailingSince *time.Time `json:"failing_since"`
	LastError    string     `json:"last_error"`
	// PreviousSecretExpiresAt is when the secret the last rotation replaced
	// stops signing deliveries; null when none is kept. The old secret
	// itself is never shown.
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at"`
	CreatedAt               time.Time  `json:"created_at"`
	UpdatedAt               time.Time  `json:"updated_at"`
}

func endpointWire(ep models.Endpoint, withSecret bool) endpointJSON {
	out := endpointJSON{
		ID:          ep.ID,
		URL:         ep.URL,
		Description: ep.Description,
		EventTypes:  append([]string{}, ep.EventTypes...),
		Sandbox:     ep.Sandbox,
		Enabled:     ep.Enabled,
		CreatedAt:   ep.CreatedAt.UTC(),
		UpdatedAt:   ep.UpdatedAt.UTC(),

		DisabledReason:          ep.DisabledReason,
		DisabledAt:              utc(ep.DisabledAt),
		FailingSince:            utc(ep.FailingSince),
		LastError:               ep.LastError,
		PreviousSecretExpiresAt: utc(ep.PreviousSecretExpiresAt),
	}
	if withSecret {
		out.Secret = ep.Secret
	}
	return out
}

// utc is t in UTC, nil for nil.
func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

type deliveryJSON struct {
	ID            string        `json:"id"`
	EventID       string        `json:"event_id"`
	EndpointID    string        `json:"endpoint_id"`
	Status        string        `json:"status"`
	Reason        string        `json:"reason"`
	WorkflowID    string        `json:"workflow_id"`
	NextAttemptAt *time.Time    `json:"next_attempt_at"`
	CreatedAt     time.Time     `json:"created_at"`
	UpdatedAt     time.Time     `json:"updated_at"`
	Attempts      []attemptJSON `json:"attempts"`
}

type attemptJSON struct {
	Number       int       `json:"number"`
	StartedAt    time.Time `json:"started_at"`
	DurationMS   *int64    `json:"duration_ms"`
	StatusCode   *int      `json:"status_code"`
	Error        string    `json:"error"`
	ErrorDetail  string    `json:"error_detail"`
	ResponseBody string    `json:"response_body"`
}

func deliveryWire(d models.Delivery) deliveryJSON {
	out := deliveryJSON{
		ID:         d.ID,
		EventID:    d.EventID,
		EndpointID: d.EndpointID,
		Status:     d.Status,
		Reason:     d.Reason,
		WorkflowID: d.WorkflowID,
		CreatedAt:  d.CreatedAt.UTC(),
		UpdatedAt:  d.UpdatedAt.UTC(),
		Attempts:   make([]attemptJSON, 0, len(d.Attempts)),

		NextAttemptAt: utc(d.NextAttemptAt),
	}
	for _, a := range d.Attempts {
		out.Attempts = append(out.Attempts, attemptJSON{
			Number:       a.Number,
			StartedAt:    a.StartedAt.UTC(),
			DurationMS:   a.DurationMS,
			StatusCode:   a.StatusCode,
			Error:        a.Error,
			ErrorDetail:  a.ErrorDetail,
			ResponseBody: a.ResponseBody,
		})
	}
	return out
}

func deliveriesWire(ds []models.Delivery) []deliveryJSON {
	out := make([]deliveryJSON, 0, len(ds))
	for _, d := range ds {
		out = append(out, deliveryWire(d))
	}
	return out
}

// eventJSON is an event on the wire. Its data goes out exactly as it came
// in: encoding/json would compact a json.RawMessage, so appendJSON splices
// the stored bytes in between the marshalled fields.
type eventJSON struct {
	ID         string
	Type       string
	Data       string
	Sandbox    bool
	CreatedAt  time.Time
	WorkflowID string
	Deliveries *[]deliveryJSON // set only for GET /v1/events/:id
}

func eventWire(ev models.Event) eventJSON {
	return eventJSON{ID: ev.ID, Type: ev.Type, Data: ev.Data, Sandbox: ev.Sandbox, CreatedAt: ev.CreatedAt.UTC(), WorkflowID: ev.WorkflowID}
}

func (e eventJSON) appendJSON(b []byte) ([]byte, error) {
	head, err := marshal(struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	}{e.ID, e.Type})
	if err != nil {
		return nil, err
	}
	tail, err := marshal(struct {
		Sandbox    bool            `json:"sandbox"`
		CreatedAt  time.Time       `json:"created_at"`
		WorkflowID string          `json:"workflow_id"`
		Deliveries *[]deliveryJSON `json:"deliveries,omitempty"`
	}{e.Sandbox, e.CreatedAt, e.WorkflowID, e.Deliveries})
	if err != nil {
		return nil, err
	}
	b = append(b, head[:len(head)-1]...) // drop '}'
	b = append(b, `,"data":`...)
	b = append(b, e.Data...)
	b = append(b, ',')
	return append(b, tail[1:]...), nil // drop '{'
}

type listJSON[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"next_cursor"`
}

func writeEvent(c *gin.Context, status int, e eventJSON) error {
	b, err := e.appendJSON(nil)
	if err != nil {
		return err
	}
	c.Data(status, jsonContentType, b)
	return nil
}

func writeEventList(c *gin.Context, evs []models.Event, next string) error {
	b := []byte(`{"data":[`)
	for i, ev := range evs {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = eventWire(ev).appendJSON(b); err != nil {
			return err
		}
	}
	cursor, err := marshal(next)
	if err != nil {
		return err
	}
	b = append(b, `],"next_cursor":`...)
	b = append(append(b, cursor...), '}')
	c.Data(http.StatusOK, jsonContentType, b)
	return nil
}

const jsonContentType = "application/json; charset=utf-8"

// writeJSON answers with v as JSON, leaving <, > and & as they are.
func writeJSON(c *gin.Context, status int, v any) {
	b, err := marshal(v)
	if err != nil {
		// Only a wire type that cannot marshal gets here: a bug.
		c.Data(http.StatusInternalServerError, jsonContentType, []byte(`{"error":{"code":"internal","message":"could not encode the response"}}`))
		return
	}
	c.Data(status, jsonContentType, b)
}

func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode response: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
