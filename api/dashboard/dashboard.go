// Package dashboard serves the Dashboard: a page in the browser over the
// /v1 API (plain HTML, CSS and JavaScript modules embedded in the binary,
// no build step) and the webhook guide rendered from Markdown.
package dashboard

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
)

//go:embed static
var static embed.FS

// Config is what the page needs to know beyond the API.
type Config struct {
	// TemporalUIURL is the Temporal Web UI the page links each delivery's
	// workflow to, such as http://127.0.0.1:8233; empty: no links.
	TemporalUIURL     string
	TemporalNamespace string
	// Guide holds webhooks.md and its images/; nil: no guide.
	Guide fs.FS
}

// Prefix is where the Dashboard lives.
const Prefix = "/dashboard"

// csp lets the page run its own scripts and styles and talk to its own
// origin, nothing else: no inline script, no third party.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// New builds the handler of everything under /dashboard.
func New(cfg Config) (http.Handler, error) {
	assets, err := fs.Sub(static, "static")
	if err != nil {
		return nil, fmt.Errorf("dashboard assets: %w", err)
	}
	index, err := fs.ReadFile(assets, "index.html")
	if err != nil {
		return nil, fmt.Errorf("dashboard index: %w", err)
	}
	conf, err := json.Marshal(struct {
		TemporalUIURL     string `json:"temporal_ui_url"`
		TemporalNamespace string `json:"temporal_namespace"`
		Guide             bool   `json:"guide"`
	}{strings.TrimSuffix(cfg.TemporalUIURL, "/"), cfg.TemporalNamespace, cfg.Guide != nil})
	if err != nil {
		return nil, fmt.Errorf("dashboard config: %w", err)
	}

	mux := http.NewServeMux()
	page := func(w http.ResponseWriter, r *http.Request) {
		serveBytes(w, "text/html; charset=utf-8", index)
	}
	mux.HandleFunc("GET "+Prefix, page)
	mux.HandleFunc("GET "+Prefix+"/{$}", page)
	mux.HandleFunc("GET "+Prefix+"/config.json", func(w http.ResponseWriter, r *http.Request) {
		serveBytes(w, "application/json; charset=utf-8", conf)
	})
	mux.Handle("GET "+Prefix+"/assets/", files(Prefix+"/assets/", assets))
	if cfg.Guide != nil {
		guide, err := renderGuide(cfg.Guide)
		if err != nil {
			return nil, err
		}
		images, err := fs.Sub(cfg.Guide, "images")
		if err != nil {
			return nil, fmt.Errorf("guide images: %w", err)
		}
		mux.HandleFunc("GET "+Prefix+"/guide", func(w http.ResponseWriter, r *http.Request) {
			serveBytes(w, "text/html; charset=utf-8", guide)
		})
		// The guide's Markdown links images/...; from /dashboard/guide
		// that is /dashboard/images/....
		mux.Handle("GET "+Prefix+"/images/", files(Prefix+"/images/", images))
	}
	return withHeaders(mux), nil
}

// withHeaders replaces the API's Content-Security-Policy, which allows
// nothing at all, with the page's own, and answers unknown paths with a
// plain 404.
func withHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// files serves the files of fsys under prefix, and no directory listings.
func files(prefix string, fsys fs.FS) http.Handler {
	fileServer := http.StripPrefix(prefix, http.FileServerFS(fsys))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		fileServer.ServeHTTP(w, r)
	})
}

func serveBytes(w http.ResponseWriter, contentType string, b []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Write(b)
}

var guidePage = template.Must(template.New("guide").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} · Securo Webhooks</title>
<link rel="stylesheet" href="/dashboard/assets/style.css">
</head>
<body>
<a class="skip" href="#guide">Skip to the guide</a>
<header class="topbar">
  <a class="brand" href="/dashboard">Securo <span>Webhooks</span></a>
  <nav aria-label="Main"><a href="/dashboard#/webhooks">Dashboard</a></nav>
</header>
<main id="guide" class="guide" tabindex="-1">
{{.Body}}
</main>
</body>
</html>
`))

// renderGuide turns webhooks.md into an HTML page once, at start. Raw HTML
// in the Markdown is dropped (goldmark's default), so the page holds only
// what Markdown describes.
func renderGuide(guide fs.FS) ([]byte, error) {
	src, err := fs.ReadFile(guide, "webhooks.md")
	if err != nil {
		return nil, fmt.Errorf("guide: %w", err)
	}
	md := goldmark.New(goldmark.WithExtensions(extension.GFM), goldmark.WithParserOptions(parser.WithAutoHeadingID()))
	var body bytes.Buffer
	if err := md.Convert(src, &body); err != nil {
		return nil, fmt.Errorf("render guide: %w", err)
	}
	title := "Webhooks guide"
	if line, _, _ := strings.Cut(string(src), "\n"); strings.HasPrefix(line, "# ") {
		title = strings.TrimSpace(strings.TrimPrefix(line, "# "))
	}
	var out bytes.Buffer
	if err := guidePage.Execute(&out, struct {
		Title string
		Body  template.HTML
	}{title, template.HTML(body.String())}); err != nil {
		return nil, fmt.Errorf("guide page: %w", err)
	}
	return out.Bytes(), nil
}
