// Package docs embeds the webhook guide and its screenshots, so the
// Dashboard serves the same guide the repository shows.
package docs

import "embed"

// Guide holds webhooks.md and images/ (the Dashboard's screenshots, made
// by the browser tests in cmd/securo).
//
//go:embed webhooks.md images
var Guide embed.FS
