// Package docs_test checks the documentation against the repository: links
// and pictures that exist, the Dashboard's steps word for word, and API
// routes that the OpenAPI description has.
package docs_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/securo/webhooks/signing"
)

// root is the repository, seen from this package's directory.
const root = ".."

// dashboardSteps are the steps of the Dashboard, exactly as the page shows
// them; the guide must say them word for word (the Dashboard's browser
// tests take the screenshots the guide shows beside them).
var dashboardSteps = []string{
	"1. Open the **Webhooks** page.",
	"2. Click the **Webhook** tab.",
	"3. Click **Add Endpoint**.",
	"4. Enter the endpoint's HTTPS URL in **Endpoint URL**.",
	"5. Tick **Sandbox** to receive sandbox events instead of live ones.",
	"6. Click **Save** to create the endpoint.",
}

// stepScreenshots are the pictures of the six steps, in order.
var stepScreenshots = []string{
	"images/step-1-webhooks-page.png",
	"images/step-2-webhook-tab.png",
	"images/step-3-add-endpoint.png",
	"images/step-4-endpoint-url.png",
	"images/step-5-sandbox.png",
	"images/step-6-save.png",
}

// markdownFiles are the documents checked: the README, docs/ and the
// examples' READMEs.
func markdownFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, pattern := range []string{"README.md", "docs/*.md", "examples/*/README.md"} {
		m, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m...)
	}
	if len(out) < 3 {
		t.Fatalf("found only %v", out)
	}
	return out
}

// prose is a Markdown file without its fenced code blocks, whose brackets
// are code, not links.
func prose(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b strings.Builder
	fenced := false
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if !fenced {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

var (
	link    = regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)
	heading = regexp.MustCompile(`(?m)^#{1,6}\s+(.+)$`)
)

// anchors are the ids GitHub gives a file's headings.
func anchors(t *testing.T, path string) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, m := range heading.FindAllStringSubmatch(prose(t, path), -1) {
		var b strings.Builder
		for _, r := range strings.ToLower(strings.TrimSpace(m[1])) {
			switch {
			case r == ' ':
				b.WriteByte('-')
			case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
				b.WriteRune(r)
			}
		}
		out[b.String()] = true
	}
	return out
}

func TestEveryRelativeLinkAndPictureExists(t *testing.T) {
	for _, file := range markdownFiles(t) {
		rel, _ := filepath.Rel(root, file)
		t.Run(rel, func(t *testing.T) {
			for _, m := range link.FindAllStringSubmatch(prose(t, file), -1) {
				target := m[1]
				if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
					continue
				}
				path, anchor, _ := strings.Cut(target, "#")
				resolved := file
				if path != "" {
					resolved = filepath.Join(filepath.Dir(file), path)
					if _, err := os.Stat(resolved); err != nil {
						hint := ""
						if strings.Contains(path, "images/") {
							hint = " (the Dashboard's browser tests write the screenshots to docs/images/)"
						}
						t.Errorf("%s links to %s, which does not exist%s", rel, target, hint)
						continue
					}
				}
				if anchor != "" && strings.HasSuffix(resolved, ".md") && !anchors(t, resolved)[anchor] {
					t.Errorf("%s links to %s, but %s has no heading #%s", rel, target, filepath.Base(resolved), anchor)
				}
			}
		})
	}
}

func TestTheGuideSaysTheDashboardStepsWordForWordWithTheirScreenshots(t *testing.T) {
	guide := prose(t, filepath.Join(root, "docs", "webhooks.md"))
	at := 0
	for i, step := range dashboardSteps {
		n := strings.Index(guide[at:], step)
		if n < 0 {
			t.Fatalf("the guide does not say, at a line's start after step %d:\n%s", i, step)
		}
		start := at + n
		if start > 0 && guide[start-1] != '\n' {
			t.Fatalf("step %q does not start a line", step)
		}
		// Its screenshot follows it, before the next step.
		end := len(guide)
		if i+1 < len(dashboardSteps) {
			if next := strings.Index(guide[start:], dashboardSteps[i+1]); next > 0 {
				end = start + next
			}
		}
		if !strings.Contains(guide[start:end], "]("+stepScreenshots[i]+")") {
			t.Errorf("step %d is not followed by its screenshot %s", i+1, stepScreenshots[i])
		}
		at = start + len(step)
	}
	for _, picture := range []string{"images/endpoint-page.png", "images/events-tab.png"} {
		if !strings.Contains(guide, "]("+picture+")") {
			t.Errorf("the guide does not show %s", picture)
		}
	}
}

var route = regexp.MustCompile("(GET|POST|PATCH|DELETE) (/v1/[A-Za-z0-9_./{}-]+|/healthz|/readyz)")

func TestEveryRouteTheGuideNamesIsInTheOpenAPIDescription(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, "api", "openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	guide, err := os.ReadFile(filepath.Join(root, "docs", "webhooks.md"))
	if err != nil {
		t.Fatal(err)
	}
	found := route.FindAllStringSubmatch(string(guide), -1)
	if len(found) < 10 {
		t.Fatalf("the guide names only %d routes", len(found))
	}
	for _, m := range found {
		method, path := strings.ToLower(m[1]), strings.TrimRight(m[2], ".")
		if _, ok := doc.Paths[path][method]; !ok {
			t.Errorf("the guide names %s %s, which api/openapi.json does not describe", m[1], path)
		}
	}
}

var (
	exampleRequest = regexp.MustCompile("(?s)```\n(POST /securo-webhooks HTTP/1.1\n.*?)\n```")
	exampleSecret  = regexp.MustCompile("signed with the secret `(whsec_[^`]+)`")
)

// The guide's example request is offered as a test case for receivers, so
// it must verify with the secret it names, and only at its own time.
func TestTheGuidesExampleRequestVerifies(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, "docs", "webhooks.md"))
	if err != nil {
		t.Fatal(err)
	}
	req, secret := exampleRequest.FindSubmatch(raw), exampleSecret.FindSubmatch(raw)
	if req == nil || secret == nil {
		t.Fatal("the guide has no example request, or does not name its secret")
	}
	head, body, ok := strings.Cut(string(req[1]), "\n\n")
	if !ok {
		t.Fatalf("the example request has no body:\n%s", req[1])
	}
	header := http.Header{}
	for _, line := range strings.Split(head, "\n")[1:] {
		name, value, _ := strings.Cut(line, ":")
		header.Add(name, strings.TrimSpace(value))
	}
	v, err := signing.NewVerifier(string(secret[1]))
	if err != nil {
		t.Fatal(err)
	}
	sent, err := strconv.ParseInt(header.Get("webhook-timestamp"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	v.Now = func() time.Time { return time.Unix(sent, 0) }
	if err := v.Verify(header, []byte(body)); err != nil {
		t.Fatalf("the guide's example request does not verify: %v", err)
	}
	var ev struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(body), &ev); err != nil || ev.ID != header.Get("webhook-id") {
		t.Fatalf("the example's body id %q is not its webhook-id %q (%v)", ev.ID, header.Get("webhook-id"), err)
	}
	v.Now = func() time.Time { return time.Unix(sent, 0).Add(6 * time.Minute) }
	if err := v.Verify(header, []byte(body)); err == nil {
		t.Fatal("the example request still verifies 6 minutes later")
	}
}
