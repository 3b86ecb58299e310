package request

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

const jsonSpace = " \t\r\n"

// DecodeStrict decodes body into v, a pointer to a struct: one JSON object,
// no unknown fields, no wrong types, nothing after it.
func DecodeStrict(body []byte, v any) error {
	trimmed := bytes.TrimLeft(body, jsonSpace)
	if len(trimmed) == 0 {
		return badJSON("", "request body is empty; send a JSON object")
	}
	if trimmed[0] != '{' {
		return badJSON("", "request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return describeJSONError(err, v)
	}
	if rest := bytes.TrimLeft(body[dec.InputOffset():], jsonSpace); len(rest) > 0 {
		return badJSON("", "unexpected data after the JSON object at byte offset %d; send exactly one object", len(body)-len(rest))
	}
	return nil
}

// RequireUTF8 refuses a body that is not UTF-8, which the decoder would
// otherwise quietly repair with U+FFFD.
func RequireUTF8(body []byte) error {
	if !utf8.Valid(body) {
		return badJSON("", "request body is not valid UTF-8")
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
		return badJSON("", "malformed JSON at byte offset %d: %v", syntax.Offset, syntax)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badJSON("", "malformed JSON: the body ends before the object does")
	case errors.As(err, &mismatch):
		return badJSON(mismatch.Field, "field %q has a %s where %s was expected", mismatch.Field, mismatch.Value, describeType(mismatch.Type))
	}
	// encoding/json has no typed error for an unknown field, only this text.
	if quoted, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name, uerr := strconv.Unquote(quoted)
		if uerr != nil {
			name = quoted
		}
		return badJSON(name, "unknown field %q; allowed fields are %s", name, strings.Join(jsonFields(v), ", "))
	}
	return badJSON("", "invalid JSON: %v", err)
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
