package api

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"
)

// openAPIDocument describes every route of the API; the tests check real
// answers against it and that no route is missing from it.
//
//go:embed openapi.json
var openAPIDocument []byte

// openAPI serves GET /v1/openapi.json, without authentication: it is the
// public description of the API, and tools fetch it before they hold a key.
func openAPI(c *gin.Context) error {
	c.Data(http.StatusOK, jsonContentType, openAPIDocument)
	return nil
}
