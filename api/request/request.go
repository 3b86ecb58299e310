// Package request checks what clients send the API: strict JSON decoding
// and endpoint URLs. It imports nothing heavy (no Gin, no database), so its
// fuzz targets run fast; package api maps its errors to HTTP answers.
package request

import "fmt"

// Kind is what is wrong with a request, as the API answers it.
type Kind int

const (
	// BadJSON is a body that is no acceptable JSON (400 invalid_json).
	BadJSON Kind = iota + 1
	// Invalid is well-formed JSON with a value that cannot be (422
	// validation_failed).
	Invalid
)

// Error says which field of a request is wrong and how to fix it.
type Error struct {
	Kind    Kind
	Field   string // "" when the whole request is at fault
	Message string
}

func (e *Error) Error() string { return e.Message }

func badJSON(field, format string, args ...any) *Error {
	return &Error{Kind: BadJSON, Field: field, Message: fmt.Sprintf(format, args...)}
}

func invalid(field, format string, args ...any) *Error {
	return &Error{Kind: Invalid, Field: field, Message: fmt.Sprintf(format, args...)}
}
