package activities

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/securo/webhooks/egress"
	"github.com/securo/webhooks/metrics"
	"github.com/securo/webhooks/models"
	"github.com/securo/webhooks/retry"
	"github.com/securo/webhooks/signing"
)

const (
	// readLimit is how much of a receiver's answer is read, keptLimit how
	// much of it is kept on the attempt.
	readLimit = 64 << 10
	keptLimit = 4 << 10
)

// AttemptInput asks for attempt Number of a delivery. NextDelay is when the
// next attempt follows if this one fails (shown as next_attempt_at).
type AttemptInput struct {
	DeliveryID string
	Number     int
	NextDelay  time.Duration
	Last       bool
	// Now is the workflow's time: how long an endpoint has been failing is
	// judged by it (zero, in inputs recorded before it: the clock).
	Now time.Time
}

// AttemptResult is how the attempt ended: Status is the delivery's status
// afterwards (pending when the attempt failed and the schedule goes on).
type AttemptResult struct {
	Status     string
	Reason     string
	StatusCode int
	Error      string
	// NextDelay is when the next attempt is due after a failed one: the
	// scheduled delay, moved later by the receiver's Retry-After (429, 503)
	// up to 24 h. Zero in results recorded before it existed.
	NextDelay time.Duration
}

// Attempt re-reads the delivery's endpoint and, if it may still receive the
// event, records an attempt, POSTs the signed event and records the outcome.
func (a *Activities) Attempt(ctx context.Context, in AttemptInput) (AttemptResult, error) {
	t, err := a.store.LoadAttemptTarget(ctx, in.DeliveryID)
	if err != nil {
		return AttemptResult{}, err
	}
	if t.Delivery.Status != models.StatusPending {
		// Finished elsewhere (a replayed workflow, an operator): leave it.
		return AttemptResult{Status: t.Delivery.Status, Reason: t.Delivery.Reason}, nil
	}
	if reason := skipReason(t); reason != "" {
		state := models.DeliveryState{Status: models.StatusSkipped, Reason: reason}
		if err := a.store.SetDeliveryState(ctx, in.DeliveryID, state); err != nil {
			return AttemptResult{}, err
		}
		a.metrics.DeliveryFinished(state.Status, reason)
		return AttemptResult{Status: state.Status, Reason: reason}, nil
	}
	release, ok := a.limiter.acquire(t.Endpoint.ID)
	if !ok {
		return AttemptResult{Status: StatusThrottled}, nil
	}
	defer release()
	att := models.NewAttempt(in.DeliveryID, in.Number, a.now())
	if err := a.store.StartAttempts(ctx, []models.Attempt{att}); err != nil {
		return AttemptResult{}, err
	}
	o, res := a.deliver(ctx, t, att, in.NextDelay, in.Last, a.at(in.Now))
	emitted, err := a.store.FinishAttempts(ctx, []models.AttemptOutcome{o})
	if err != nil {
		return AttemptResult{}, err
	}
	if res.Status != models.StatusPending {
		a.metrics.DeliveryFinished(res.Status, res.Reason)
	}
	a.launch(ctx, emitted)
	return res, nil
}

// StatusThrottled is an attempt not made because its endpoint already has as
// many attempts in flight as this worker allows; no attempt is used up.
const StatusThrottled = "throttled"

// deliver POSTs one attempt that was recorded as started and says how it
// ended; the caller records the outcome.
func (a *Activities) deliver(ctx context.Context, t models.AttemptTarget, att models.Attempt, nextDelay time.Duration, last bool, at time.Time) (models.AttemptOutcome, AttemptResult) {
	o := models.AttemptOutcome{DeliveryID: t.Delivery.ID, Attempt: &att, EndpointID: t.Endpoint.ID}
	sinceAccepted := time.Duration(-1)
	if att.Number == 1 {
		sinceAccepted = max(att.StartedAt.Sub(t.Delivery.CreatedAt), 0)
	}
	finished := a.metrics.AttemptStarted(sinceAccepted)
	var out postOutcome
	if signer, err := signing.NewSigner(t.Endpoint.SigningSecrets(att.StartedAt)...); err != nil {
		out = postOutcome{errKind: models.AttemptErrorConnection, detail: "the endpoint's signing secret is unusable: " + err.Error()}
	} else {
		out = a.post(ctx, t, signer, att.StartedAt)
	}
	took := a.now().Sub(att.StartedAt)
	class := attemptClass(out)
	finished(class, took)
	duration := took.Milliseconds()
	att.DurationMS = &duration
	defer func() { a.logAttempt(ctx, t, att, out, class, took, o.State) }()
	if out.statusCode != 0 {
		att.StatusCode = &out.statusCode
	}
	att.Error, att.ErrorDetail, att.ResponseBody = out.errKind, out.detail, out.kept
	res := AttemptResult{StatusCode: out.statusCode, Error: out.errKind}
	if out.errKind == "" {
		o.State, o.Recovered = models.DeliveryState{Status: models.StatusSucceeded}, true
		res.Status = o.State.Status
		return o, res
	}
	o.Failing, o.LastError = &at, out.detail
	switch {
	case out.statusCode == http.StatusGone:
		// Standard Webhooks: 410 means the receiver is gone for good. The
		// endpoint is disabled at once and this delivery fails; its other
		// pending deliveries end with it (in the same transaction).
		o.State = models.DeliveryState{Status: models.StatusFailed, Reason: models.ReasonGone}
		a.disable(&o, t, models.ReasonGone, at)
	case t.Endpoint.FailingSince != nil && at.Sub(*t.Endpoint.FailingSince) >= a.autoDisableAfter:
		// Every attempt has failed for as long as we wait: the endpoint is
		// disabled (failing), and this delivery ends with its others.
		o.State = models.DeliveryState{Status: models.StatusSkipped, Reason: models.ReasonEndpointDisabled}
		a.disable(&o, t, models.ReasonFailing, at)
	default:
		o.State.Status = models.StatusPending
		if !last {
			res.NextDelay = retry.Next(nextDelay, out.retryAfter)
			next := a.now().Add(res.NextDelay).UTC()
			o.State.NextAttemptAt = &next
		}
	}
	res.Status, res.Reason = o.State.Status, o.State.Reason
	return o, res
}

// disable makes the outcome disable the endpoint for reason and emit the
// operational event endpoint.disabled about it.
func (a *Activities) disable(o *models.AttemptOutcome, t models.AttemptTarget, reason string, at time.Time) {
	o.DisableEndpoint = reason
	data, _ := json.Marshal(map[string]any{
		"endpoint_id": t.Endpoint.ID, "url": t.Endpoint.URL, "reason": reason,
		"disabled_at": at.UTC().Format(time.RFC3339Nano), "last_error": o.LastError,
	})
	o.Emit = a.operational(t.Endpoint, models.EventEndpointDisabled, data)
}

// operational is an event of the endpoint's account about the endpoint,
// with its sandbox state, never sent to the endpoint itself.
func (a *Activities) operational(ep models.Endpoint, eventType string, data []byte) *models.AcceptEventInput {
	return &models.AcceptEventInput{AccountID: ep.AccountID, Type: eventType, Data: string(data), Sandbox: ep.Sandbox,
		ExcludeEndpointID: ep.ID, WorkflowID: a.ids.Event, DeliveryWorkflowID: a.ids.Delivery}
}

func skipReason(t models.AttemptTarget) string {
	switch {
	case t.Endpoint.DeletedAt.Valid:
		return models.ReasonEndpointDeleted
	case !t.Endpoint.Enabled:
		return models.ReasonEndpointDisabled
	case t.Endpoint.Sandbox != t.Event.Sandbox:
		return models.ReasonSandboxMismatch
	}
	return ""
}

type postOutcome struct {
	statusCode int
	errKind    string
	detail     string
	kept       string
	retryAfter time.Duration
	err        error // what the HTTP client said, when there was no answer
}

// attemptClass is the attempt's class in the metrics.
func attemptClass(out postOutcome) string {
	kind := ""
	switch out.errKind {
	case models.AttemptErrorTimeout:
		kind = metrics.ClassTimeout
	case models.AttemptErrorBlockedAddress:
		kind = metrics.ClassBlocked
	}
	return metrics.ClassOf(out.statusCode, kind, out.err)
}

// logAttempt writes the attempt's one log line: ids, number, answer,
// outcome and duration. Never the payload, a secret, a signature or the
// URL (customers put tokens in query strings).
func (a *Activities) logAttempt(ctx context.Context, t models.AttemptTarget, att models.Attempt, out postOutcome, class string, took time.Duration, state models.DeliveryState) {
	outcome := "succeeded"
	if out.errKind != "" {
		outcome = out.errKind
	}
	attrs := []slog.Attr{
		slog.String("event_id", t.Event.ID),
		slog.String("endpoint_id", t.Endpoint.ID),
		slog.String("delivery_id", t.Delivery.ID),
		slog.Int("attempt", att.Number),
		slog.Int("status_code", out.statusCode),
		slog.String("outcome", outcome),
		slog.String("class", class),
		slog.Int64("duration_ms", took.Milliseconds()),
		slog.String("delivery_status", state.Status),
	}
	if state.Reason != "" {
		attrs = append(attrs, slog.String("reason", state.Reason))
	}
	if out.detail != "" && out.statusCode == 0 {
		attrs = append(attrs, slog.String("error", out.detail))
	}
	a.log.LogAttrs(ctx, slog.LevelInfo, "delivery attempt", attrs...)
}

func (a *Activities) post(ctx context.Context, t models.AttemptTarget, signer *signing.Signer, at time.Time) postOutcome {
	body := Payload(t.Event)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.Endpoint.URL, bytes.NewReader(body))
	if err != nil {
		return postOutcome{errKind: models.AttemptErrorConnection, detail: keep([]byte(err.Error()))}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", a.userAgent)
	req.Header.Set(signing.HeaderID, t.Event.ID)
	req.Header.Set(signing.HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
	req.Header.Set(signing.HeaderSignature, signer.Sign(t.Event.ID, at, body))
	resp, err := a.client.Do(req)
	if err != nil {
		kind := classify(err)
		// The client's error quotes the whole URL, and customers put tokens
		// in query strings: keep what went wrong, not where.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return postOutcome{errKind: kind, detail: keep([]byte(err.Error())), err: err}
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, readLimit))
	out := postOutcome{statusCode: resp.StatusCode, kept: keep(answer)}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		out.errKind = models.AttemptErrorHTTPStatus
		out.detail = "the endpoint answered " + resp.Status
		out.retryAfter = retry.ParseRetryAfter(resp.StatusCode, resp.Header.Get("Retry-After"), a.now())
	}
	return out
}

// Payload is the body every attempt of an event POSTs: data goes in as the
// bytes the client sent, so no number loses precision.
func Payload(ev models.Event) []byte {
	head, _ := json.Marshal(struct {
		ID        string `json:"id"`
		Type      string `json:"type"`
		CreatedAt string `json:"created_at"`
		Sandbox   bool   `json:"sandbox"`
	}{ev.ID, ev.Type, ev.CreatedAt.UTC().Format(time.RFC3339Nano), ev.Sandbox})
	var b bytes.Buffer
	b.Grow(len(head) + len(ev.Data) + 10)
	b.Write(head[:len(head)-1])
	b.WriteString(`,"data":`)
	b.WriteString(ev.Data)
	b.WriteByte('}')
	return b.Bytes()
}

// classify names why a request failed, as the API reports it.
func classify(err error) string {
	var (
		netErr     net.Error
		certErr    *tls.CertificateVerificationError
		unknownCA  x509.UnknownAuthorityError
		hostErr    x509.HostnameError
		invalidErr x509.CertificateInvalidError
		recordErr  tls.RecordHeaderError
		alertErr   tls.AlertError
	)
	switch {
	case errors.Is(err, egress.ErrBlockedAddress):
		return models.AttemptErrorBlockedAddress
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return models.AttemptErrorTimeout
	case errors.As(err, &certErr), errors.As(err, &unknownCA), errors.As(err, &hostErr),
		errors.As(err, &invalidErr), errors.As(err, &recordErr), errors.As(err, &alertErr):
		return models.AttemptErrorTLS
	default:
		return models.AttemptErrorConnection
	}
}

// keep returns what is stored of an answer: at most 4 KiB of valid UTF-8
// without NUL bytes (PostgreSQL text refuses both).
func keep(b []byte) string {
	if len(b) > keptLimit {
		b = b[:keptLimit]
		for len(b) > 0 && !utf8.Valid(b) && len(b) > keptLimit-utf8.UTFMax {
			b = b[:len(b)-1]
		}
	}
	return strings.ReplaceAll(strings.ToValidUTF8(string(b), "\uFFFD"), "\x00", "")
}
