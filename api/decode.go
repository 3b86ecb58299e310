package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
)

// maxBodyBytes caps every request body (413 beyond it).
const maxBodyBytes = 256 << 10

const jsonSpace = " \t\r\n"

// readJSON reads the request body and decodes it strictly into v, a pointer
// to a struct: one JSON object, no unknown fields, nothing after it. It
// returns the body as read.
func readJSON(c *gin.Context, v any) ([]byte, error) {
	var body []byte
	if c.Request.Body != nil {
		var err error
		body, err = io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxBodyBytes))
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, fmt.Errorf("read request body: %w", err)
		}
		if err != nil {
			return nil, invalidJSON("", "could not read the request body: %v", err)
		}
	}
	return body, decodeStrict(body, v)
}

func decodeStrict(body []byte, v any) error {
	trimmed := bytes.TrimLeft(body, jsonSpace)
	if len(trimmed) == 0 {
		return invalidJSON("", "request body is empty; send a JSON object")
	}
	if trimmed[0] != '{' {
		return invalidJSON("", "request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return describeJSONError(err, v)
	}
	if rest := bytes.TrimLeft(body[dec.InputOffset():], jsonSpace); len(rest) > 0 {
		return invalidJSON("", "unexpected data after the JSON object at byte offset %d; send exactly one object", len(body)-len(rest))
	}
	return nil
}

// requireUTF8 refuses a body that is not UTF-8, which the decoder would
// otherwise quietly repair with U+FFFD.
func requireUTF8(body []byte) error {
	if !utf8.Valid(body) {
		return invalidJSON("", "request body is not valid UTF-8")
	}
	return nil
}

func describeJSONError(err error, v any) error {
	var (
		syntax   *json.SyntaxError
		mismatch *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &syntax):
		return invalidJSON("", "malformed JSON at byte offset %d: %v", syntax.Offset, syntax)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalidJSON("", "malformed JSON: the body ends before the object does")
	case errors.As(err, &mismatch):
		return invalidJSON(mismatch.Field, "field %q has a %s where %s was expected", mismatch.Field, mismatch.Value, describeType(mismatch.Type))
	}
	// encoding/json has no typed error for an unknown field, only this text.
	if quoted, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name, uerr := strconv.Unquote(quoted)
		if uerr != nil {
			name = quoted
		}
		return invalidJSON(name, "unknown field %q; allowed fields are %s", name, strings.Join(jsonFields(v), ", "))
	}
	return invalidJSON("", "invalid JSON: %v", err)
}

func describeType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	default:
		return "a number"
	}
}

// jsonFields lists the JSON names of the fields of the struct v points to.
func jsonFields(v any) []string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var names []string
	for f := range t.Fields() {
		if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
			names = append(names, name)
		}
	}
	return names
}
