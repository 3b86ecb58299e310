package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/securo/webhooks/api/request"
	"github.com/securo/webhooks/models"
)

// apiError is an answer the client can act on: status, a stable code, a
// sentence for people, and the field at fault when there is one.
type apiError struct {
	status  int
	code    string
	message string
	field   string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

var errInternal = &apiError{status: http.StatusInternalServerError, code: "internal",
	message: "something went wrong on our side; try again later"}

func invalid(field, format string, args ...any) *apiError {
	return &apiError{status: http.StatusUnprocessableEntity, code: "validation_failed", field: field, message: fmt.Sprintf(format, args...)}
}

func invalidJSON(field, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "invalid_json", field: field, message: fmt.Sprintf(format, args...)}
}

func unauthorized(message string) *apiError {
	return &apiError{status: http.StatusUnauthorized, code: "unauthorized", message: message}
}

func notFound(format string, args ...any) *apiError {
	return &apiError{status: http.StatusNotFound, code: "not_found", message: fmt.Sprintf(format, args...)}
}

// storeError is a failed store call with the object it was about, so a
// not-found answer can name it.
type storeError struct {
	what, id string
	err      error
}

func (e *storeError) Error() string { return e.err.Error() }
func (e *storeError) Unwrap() error { return e.err }

func storeFailed(err error, what, id string) error {
	return &storeError{what: what, id: id, err: err}
}

// toAPIError is the one mapping from the errors handlers return to what the
// client sees. Anything it does not know is a 500.
func toAPIError(err error) *apiError {
	var (
		ae      *apiError
		bad     *request.Error
		tooBig  *http.MaxBytesError
		stored  *storeError
		isStore = errors.As(err, &stored)
	)
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &bad) && bad.Kind == request.BadJSON:
		return invalidJSON(bad.Field, "%s", bad.Message)
	case errors.As(err, &bad):
		return invalid(bad.Field, "%s", bad.Message)
	case errors.As(err, &tooBig):
		return &apiError{status: http.StatusRequestEntityTooLarge, code: "payload_too_large",
			message: fmt.Sprintf("request body is larger than %d bytes (%d KiB); send less", tooBig.Limit, tooBig.Limit>>10)}
	case errors.Is(err, models.ErrNotFound):
		if isStore && stored.what != "" {
			return notFound("%s %s not found", stored.what, stored.id)
		}
		return notFound("not found")
	case errors.Is(err, models.ErrIdempotencyConflict):
		return &apiError{status: http.StatusConflict, code: "idempotency_conflict",
			message: "this Idempotency-Key was used in the last 24 hours with a different request body; use a new key for a new event"}
	case errors.Is(err, models.ErrInvalidCursor):
		return invalid("cursor", "cursor is not valid; pass the next_cursor of the previous page, or none for the first page")
	case errors.Is(err, models.ErrTooManyEndpoints):
		return invalid("", "this account has as many endpoints as it may have; delete one first")
	case isStore:
		return &apiError{status: http.StatusServiceUnavailable, code: "unavailable",
			message: "the database is not answering; nothing was changed, try again shortly"}
	default:
		return errInternal
	}
}

type handlerFunc func(c *gin.Context) error

// handle adapts a handler that returns an error to Gin, answering the error
// through toAPIError and stopping the chain.
func handle(log *slog.Logger, h handlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		err := h(c)
		if err == nil {
			return
		}
		ae := toAPIError(err)
		if ae.status >= 500 {
			log.ErrorContext(c.Request.Context(), "request failed",
				"method", c.Request.Method, "path", c.Request.URL.Path, "status", ae.status, "error", err)
		}
		writeError(c, ae)
		c.Abort()
	}
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func writeError(c *gin.Context, e *apiError) {
	if e.status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", "Bearer")
	}
	writeJSON(c, e.status, errorBody{Error: errorDetail{Code: e.code, Message: e.message, Field: e.field}})
}
