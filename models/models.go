// Package models holds the storage types of Securo Webhooks and the Store,
// which runs every query the service makes, on PostgreSQL or SQLite alike.
package models

import (
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Account owns endpoints, events and API keys; nothing crosses accounts.
type Account struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

func (Account) TableName() string { return "accounts" }

// APIKey is stored as the SHA-256 of the key; the key itself is shown once.
type APIKey struct {
	ID        string
	AccountID string
	Name      string // for people: what the key is for
	Prefix    string
	Hash      string
	CreatedAt time.Time
	RevokedAt *time.Time
}

func (APIKey) TableName() string { return "api_keys" }

// Endpoint is a customer's URL that receives the account's events.
type Endpoint struct {
	ID          string
	AccountID   string
	URL         string `gorm:"column:url"`
	Description string
	EventTypes  StringList
	Sandbox     bool
	Enabled     bool
	Secret      string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	DeletedAt   gorm.DeletedAt
	// DisabledReason says why the endpoint is disabled: "manual" (the API),
	// "gone" (it answered 410); empty while enabled.
	DisabledReason string
	DisabledAt     *time.Time
	// FailingSince is when the endpoint's attempts started failing without
	// a success since (nil while healthy); LastError is the latest failure.
	FailingSince *time.Time
	LastError    string
	// PreviousSecret is the secret the last rotation replaced: deliveries
	// are signed with it too until PreviousSecretExpiresAt. Sealed at rest
	// like Secret; empty when the rotation kept no overlap.
	PreviousSecret          string
	PreviousSecretExpiresAt *time.Time
}

func (Endpoint) TableName() string { return "endpoints" }

// SigningSecrets lists the secrets that sign an attempt started at the given
// time: the endpoint's secret, then the one it replaced while that one's
// grace period lasts.
func (e *Endpoint) SigningSecrets(at time.Time) []string {
	if e.PreviousSecret != "" && e.PreviousSecretExpiresAt != nil && e.PreviousSecretExpiresAt.After(at) {
		return []string{e.Secret, e.PreviousSecret}
	}
	return []string{e.Secret}
}

// Matches reports whether the endpoint subscribes to eventType: an empty
// list or "*" means every type, "dex.*" every type under "dex.".
func (e *Endpoint) Matches(eventType string) bool {
	if len(e.EventTypes) == 0 {
		return true
	}
	for _, t := range e.EventTypes {
		switch {
		case t == "*", t == eventType:
			return true
		case len(t) > 2 && t[len(t)-2:] == ".*" && len(eventType) > len(t)-1 && eventType[:len(t)-1] == t[:len(t)-1]:
			return true
		}
	}
	return false
}

// Event is what a customer's backend emitted; Data is kept byte for byte.
type Event struct {
	ID                string
	AccountID         string
	Type              string
	Data              string
	Sandbox           bool
	WorkflowID        string
	WorkflowStartedAt *time.Time
	CreatedAt         time.Time
}

func (Event) TableName() string { return "events" }

// IdempotencyKey remembers which event a client's Idempotency-Key made.
type IdempotencyKey struct {
	AccountID   string
	Key         string
	EventID     string
	RequestHash string
	CreatedAt   time.Time
}

func (IdempotencyKey) TableName() string { return "idempotency_keys" }

// Operational events: Securo emits them as ordinary events of the account,
// about one of its endpoints; clients cannot emit them.
const (
	EventEndpointDisabled = "endpoint.disabled"
	EventDeliveryFailed   = "delivery.failed"
)

// IsOperational reports whether eventType is reserved for Securo.
func IsOperational(eventType string) bool {
	return eventType == EventEndpointDisabled || eventType == EventDeliveryFailed
}

// EventWebhookTest is the event POST /v1/endpoints/{id}/test sends to one
// endpoint alone; clients cannot emit it either.
const EventWebhookTest = "webhook.test"

// IsReserved reports whether only Securo may emit eventType.
func IsReserved(eventType string) bool {
	return IsOperational(eventType) || eventType == EventWebhookTest
}

// Delivery statuses and reasons.
const (
	StatusPending   = "pending"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusSkipped   = "skipped"

	ReasonAttemptsExhausted = "attempts_exhausted"
	ReasonEndpointDisabled  = "endpoint_disabled"
	ReasonEndpointDeleted   = "endpoint_deleted"
	ReasonSandboxMismatch   = "sandbox_mismatch"
	ReasonGone              = "gone"    // the endpoint answered 410 Gone
	ReasonManual            = "manual"  // disabled through the API
	ReasonFailing           = "failing" // every attempt failed for too long
)

// Delivery is one event on its way to one endpoint.
type Delivery struct {
	ID            string
	AccountID     string
	EventID       string
	EndpointID    string
	Status        string
	Reason        string
	WorkflowID    string
	NextAttemptAt *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
	Attempts      []Attempt `gorm:"-"`
}

func (Delivery) TableName() string { return "deliveries" }

// Attempt errors.
const (
	AttemptErrorTimeout        = "timeout"
	AttemptErrorConnection     = "connection"
	AttemptErrorTLS            = "tls"
	AttemptErrorHTTPStatus     = "http_status"
	AttemptErrorBlockedAddress = "blocked_address"
)

// Attempt is one POST of a delivery; it is written before the POST and
// completed after, so an attempt cut short by a crash still shows.
type Attempt struct {
	ID           string
	DeliveryID   string
	Number       int
	StartedAt    time.Time
	DurationMS   *int64 `gorm:"column:duration_ms"`
	StatusCode   *int
	Error        string
	ErrorDetail  string // what the HTTP client said, for people
	ResponseBody string
}

func (Attempt) TableName() string { return "attempts" }

// StringList is a list of strings kept as a JSON array in one column.
type StringList []string

func (l StringList) Value() (driver.Value, error) {
	if l == nil {
		l = StringList{}
	}
	b, err := json.Marshal([]string(l))
	return string(b), err
}

func (l *StringList) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case string:
		b = []byte(v)
	case []byte:
		b = v
	case nil:
		*l = nil
		return nil
	default:
		return fmt.Errorf("scan string list from %T", src)
	}
	return json.Unmarshal(b, (*[]string)(l))
}

// Errors the store returns; callers check them with errors.Is.
var (
	ErrNotFound            = errors.New("not found")
	ErrIdempotencyConflict = errors.New("idempotency key reused with a different request")
	ErrTooManyEndpoints    = errors.New("too many endpoints")
	ErrInvalidCursor       = errors.New("invalid cursor")
	ErrTooManyAPIKeys      = errors.New("too many live api keys")
	ErrLastAPIKey          = errors.New("the account's last live api key")
	ErrEndpointDisabled    = errors.New("endpoint is disabled")
)
