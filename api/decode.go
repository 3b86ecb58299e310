package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/securo/webhooks/api/request"
)

// maxBodyBytes caps every request body (413 beyond it).
const maxBodyBytes = 256 << 10

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
	return body, request.DecodeStrict(body, v)
}

// readOptionalJSON is readJSON for a body the client may leave out, in
// which case v keeps its defaults.
func readOptionalJSON(c *gin.Context, v any) error {
	if c.Request.ContentLength == 0 {
		return nil
	}
	_, err := readJSON(c, v)
	return err
}
