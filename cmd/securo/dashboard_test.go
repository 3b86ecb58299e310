package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/securo/webhooks/internal/receivertest"
	"github.com/securo/webhooks/signing"
)

// The Dashboard's tests drive it in a real headless Chromium, as a customer
// would, against the real service; they also take the screenshots the guide
// (docs/webhooks.md) shows.

const (
	chromiumPath = "/usr/bin/chromium"
	// screenshots is where the guide's pictures live.
	screenshots = "../../docs/images"
)

// browser starts a headless Chromium for the test, with a viewport of
// w x h. Without Chromium the test skips, unless SECURO_REQUIRE_BROWSER=1
// (CI), where it fails.
func browser(t *testing.T, w, h int) context.Context {
	t.Helper()
	path := chromiumPath
	if _, err := os.Stat(path); err != nil {
		if p, err := exec.LookPath("chromium"); err == nil {
			path = p
		} else {
			msg := "Chromium is not installed: `apt-get install chromium` (Debian) enables the Dashboard's browser tests"
			if os.Getenv("SECURO_REQUIRE_BROWSER") == "1" {
				t.Fatal(msg + " (SECURO_REQUIRE_BROWSER=1 requires them)")
			}
			t.Skip(msg)
		}
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(w, h),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	do(t, ctx, chromedp.EmulateViewport(int64(w), int64(h)))
	// The page must run clean: no uncaught exception, nothing its own
	// Content-Security-Policy blocks.
	var mu sync.Mutex
	var problems []string
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleException || strings.Contains(m.Text, "Content Security Policy") {
				mu.Lock()
				problems = append(problems, string(m.Type)+": "+m.Text)
				mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, p := range problems {
			t.Errorf("browser console: %s", p)
		}
	})
	return ctx
}

func do(t *testing.T, ctx context.Context, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		page, _ := chromedp.Run(context.WithoutCancel(ctx), chromedp.Evaluate[string](`document.body.innerText`))
		t.Logf("page: %s", page)
		t.Fatalf("browser: %v", err)
	}
}

// get runs one action and returns its value.
func get[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	return v
}

// screenshot saves the viewport as docs/images/<name>.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	get(t, ctx, chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, 0)`))
	do(t, ctx, chromedp.Sleep(150*time.Millisecond))
	png := get(t, ctx, chromedp.CaptureScreenshot())
	if err := os.WriteFile(filepath.Join(screenshots, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// byText finds the element of that tag whose visible text is exactly text:
// the words the guide tells customers to look for.
func byText(tag, text string) string {
	return fmt.Sprintf(`//%s[normalize-space()=%q]`, tag, text)
}

// waitJS waits until the JavaScript expression is true on the page.
func waitJS(t *testing.T, ctx context.Context, expr string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`'dialog open: ' + document.getElementById('confirm').open + ', returned ' + JSON.stringify(document.getElementById('confirm').returnValue) + ', focus: ' + (document.activeElement && document.activeElement.id) + ', location: ' + location.hash + '\n' + document.getElementById('notice').innerText + '\n' + document.getElementById('main').innerText`))
		t.Fatalf("waiting for %s: %v\npage:\n%s", expr, err, page)
	}
}

func signIn(t *testing.T, ctx context.Context, s *service) {
	t.Helper()
	do(t, ctx,
		chromedp.Navigate(s.apiURL+"/dashboard"),
		chromedp.WaitVisible(chromedp.CSS(`#api-key`)),
		chromedp.SendKeys(chromedp.CSS(`#api-key`), s.key),
		chromedp.Click(byText("button", "Sign in")),
		chromedp.WaitVisible(byText("h1", "Webhooks")),
	)
}

type dashEndpoint struct {
	ID         string   `json:"id"`
	URL        string   `json:"url"`
	Sandbox    bool     `json:"sandbox"`
	Enabled    bool     `json:"enabled"`
	EventTypes []string `json:"event_types"`
}

func (s *service) endpoints() []dashEndpoint {
	s.t.Helper()
	var l struct{ Data []dashEndpoint }
	if code := s.call("GET", "/v1/endpoints", "", &l); code != http.StatusOK {
		s.t.Fatalf("list endpoints: %d", code)
	}
	return l.Data
}

func TestTheDashboardAddsAnEndpointInSixStepsAndShowsItsDeliveries(t *testing.T) {
	ctx := browser(t, 1100, 750)
	rc := receivertest.New(t)
	s := startService(t, "sqlite", []*receivertest.Receiver{rc}, serviceOptions{configure: func(c *config) {
		c.TemporalUIURL = "http://127.0.0.1:8233"
		c.SandboxSchedule = []time.Duration{0, 200 * time.Millisecond}
	}})
	// A live event before any endpoint exists: the Events tab lists it.
	live := s.emit(`{"type": "dex.swap", "data": ` + swapData + `}`)

	// A wrong key is refused with the API's reason, and nothing is kept.
	do(t, ctx, chromedp.Navigate(s.apiURL+"/dashboard"),
		chromedp.WaitVisible(chromedp.CSS(`#api-key`)),
		chromedp.SendKeys(chromedp.CSS(`#api-key`), "sk_wrong"),
		chromedp.Click(byText("button", "Sign in")),
		chromedp.WaitVisible(chromedp.CSS(`#sign-in-error`)))
	if msg := get(t, ctx, chromedp.Text(chromedp.CSS(`#sign-in-error`))); !strings.Contains(msg, "refused") {
		t.Errorf("a wrong key says %q", msg)
	}
	if kept := get(t, ctx, chromedp.Evaluate[string](`sessionStorage.getItem('securo.apiKey') || ''`)); kept != "" {
		t.Errorf("a refused key was kept: %q", kept)
	}
	signIn(t, ctx, s)
	if kept := get(t, ctx, chromedp.Evaluate[string](`sessionStorage.getItem('securo.apiKey') + '|' + (localStorage.getItem('securo.apiKey') || '')`)); kept != s.key+"|" {
		t.Errorf("the key is kept as %q, want in session storage only", kept)
	}
	receiverURL := rc.URL + "/securo-webhooks"

	// The six steps of the guide, each by the words on the page.
	do(t, ctx, chromedp.Click(`//nav//a[normalize-space()="Webhooks"]`),
		chromedp.WaitVisible(chromedp.CSS(`#events-list tr[data-event="`+live.ID+`"]`)))
	screenshot(t, ctx, "step-1-webhooks-page.png")
	do(t, ctx, chromedp.Click(`//button[@role="tab" and normalize-space()="Webhook"]`),
		chromedp.WaitVisible(byText("button", "Add Endpoint")))
	screenshot(t, ctx, "step-2-webhook-tab.png")
	do(t, ctx, chromedp.Click(byText("button", "Add Endpoint")),
		chromedp.WaitVisible(byText("label", "Endpoint URL")))
	screenshot(t, ctx, "step-3-add-endpoint.png")
	do(t, ctx, chromedp.Click(byText("label", "Endpoint URL")),
		chromedp.SendKeys(chromedp.CSS(`#ep-url`), receiverURL))
	screenshot(t, ctx, "step-4-endpoint-url.png")
	do(t, ctx, chromedp.Click(byText("label", "Sandbox")))
	screenshot(t, ctx, "step-5-sandbox.png")
	do(t, ctx, chromedp.Click(byText("button", "Save")),
		chromedp.WaitVisible(chromedp.CSS(`#new-secret`)))
	secret := get(t, ctx, chromedp.Text(chromedp.CSS(`#new-secret`)))
	screenshot(t, ctx, "step-6-save.png")

	eps := s.endpoints()
	if len(eps) != 1 || eps[0].URL != receiverURL || !eps[0].Sandbox || !eps[0].Enabled || len(eps[0].EventTypes) != 0 {
		t.Fatalf("endpoints after Save: %+v", eps)
	}
	ep := eps[0]
	verifier, err := signing.NewVerifier(secret)
	if err != nil {
		t.Fatalf("the secret shown (%q): %v", secret, err)
	}
	do(t, ctx, chromedp.Click(byText("button", "Copy")))
	waitJS(t, ctx, `document.querySelector('.copied').textContent !== ''`)
	copied := get(t, ctx, chromedp.Text(chromedp.CSS(`.copied`)))
	t.Logf("Copy: %s", copied)

	// A sandbox event sent through the API reaches the real receiver,
	// signed with the secret the page showed.
	swap := s.emit(`{"type": "dex.swap", "sandbox": true, "data": ` + swapData + `}`)
	got := rc.WaitFor(t, 1, 30*time.Second)[0]
	if err := verifier.Verify(got.Header, got.Body); err != nil || got.Header.Get("webhook-id") != swap.ID {
		t.Fatalf("delivery %v: %v", got.Header, err)
	}

	// The endpoint page: Send test event, then every attempt.
	do(t, ctx, chromedp.Click(byText("a", "Open endpoint")),
		chromedp.WaitVisible(byText("button", "Send test event")),
		chromedp.Click(byText("button", "Send test event")))
	test := rc.WaitFor(t, 2, 30*time.Second)[1]
	var body struct{ Type string }
	if err := json.Unmarshal(test.Body, &body); err != nil || body.Type != "webhook.test" || verifier.Verify(test.Header, test.Body) != nil {
		t.Fatalf("test event as received: %s (%v)", test.Body, err)
	}
	// A receiver that fails: the attempts show its answer, and Resend
	// sends the event again once it is back.
	rc.Answer(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"error":"maintenance"}`))
	})
	failed := s.emit(`{"type": "payment.settled", "sandbox": true, "data": {"amount": "125.00", "currency": "EUR"}}`)
	failedEv := s.waitEvent(failed.ID)
	if failedEv.Deliveries[0].Status != "failed" {
		t.Fatalf("delivery of %s: %+v", failed.ID, failedEv.Deliveries)
	}
	rc.Answer(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
	refreshUntil := func(cond string) {
		t.Helper()
		waitJS(t, ctx, `(() => { const ok = `+cond+`; if (!ok) document.getElementById('refresh')?.click(); return ok; })()`)
	}
	refreshUntil(`document.querySelectorAll('article.delivery[data-status="succeeded"]').length === 2 && document.querySelectorAll('article.delivery[data-status="failed"] button.resend').length === 1`)
	do(t, ctx, chromedp.Click(chromedp.CSS(`article.delivery[data-status="failed"] button.resend`)))
	rc.WaitFor(t, 5, 30*time.Second) // 2 + the 2 failed attempts + the resend
	refreshUntil(`document.querySelectorAll('article.delivery[data-status="succeeded"]').length === 3`)

	attempts := get(t, ctx, chromedp.Text(chromedp.CSS(`#deliveries`)))
	for _, want := range []string{"webhook.test", "dex.swap", "payment.settled", "200", "503", "maintenance", "http_status", "Resend"} {
		if !strings.Contains(attempts, want) {
			t.Errorf("the deliveries section lacks %q:\n%s", want, attempts)
		}
	}
	links := get(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('a.temporal')].map(a => a.href)`))
	want := "http://127.0.0.1:8233/namespaces/default/workflows/" + failedEv.Deliveries[0].WorkflowID
	if !containsString(links, want) {
		t.Errorf("Temporal links %v lack %s", links, want)
	}
	do(t, ctx, chromedp.Click(byText("button", "Dismiss")))
	// Tall enough for a failed delivery's attempts below the successes.
	do(t, ctx, chromedp.EmulateViewport(1100, 1300))
	screenshot(t, ctx, "endpoint-page.png")
	do(t, ctx, chromedp.EmulateViewport(1100, 750))

	// Disable, with the page saying what that means, then enable again.
	note := get(t, ctx, chromedp.Text(chromedp.CSS(`.note`)))
	if !strings.Contains(note, "events generated while it is disabled are not sent to it later") {
		t.Errorf("the page does not say what disabling means: %q", note)
	}
	do(t, ctx, chromedp.Click(byText("button", "Disable")),
		chromedp.WaitVisible(byText("button", "Enable")))
	if eps := s.endpoints(); eps[0].Enabled {
		t.Fatal("Disable left the endpoint enabled")
	}
	do(t, ctx, chromedp.Click(byText("button", "Enable")),
		chromedp.WaitVisible(byText("button", "Disable")))
	if eps := s.endpoints(); !eps[0].Enabled {
		t.Fatal("Enable left the endpoint disabled")
	}

	// Edit: a bad URL is refused with the API's message and changes
	// nothing; a new description is saved.
	do(t, ctx, chromedp.Click(byText("button", "Edit")),
		chromedp.WaitVisible(chromedp.CSS(`#ep-description`)),
		chromedp.SetValue(chromedp.CSS(`#ep-url`), "ftp://example.com/hook"),
		chromedp.Click(byText("button", "Save")),
		chromedp.WaitVisible(chromedp.CSS(`#ep-error`)))
	if msg := get(t, ctx, chromedp.Text(chromedp.CSS(`#ep-error`))); !strings.Contains(msg, "http") {
		t.Errorf("a bad URL says %q", msg)
	}
	waitJS(t, ctx, `document.activeElement.id === 'ep-url' && document.activeElement.getAttribute('aria-invalid') === 'true'`)
	if eps := s.endpoints(); eps[0].URL != receiverURL {
		t.Fatalf("a refused edit changed the URL to %s", eps[0].URL)
	}
	do(t, ctx, chromedp.SetValue(chromedp.CSS(`#ep-url`), receiverURL),
		chromedp.SendKeys(chromedp.CSS(`#ep-description`), "swap notifications"),
		chromedp.Click(byText("button", "Save")),
		chromedp.WaitVisible(`//dd[normalize-space()="swap notifications"]`))

	// The Events tab, filtered by mode and by type.
	do(t, ctx, chromedp.Click(byText("a", "Webhooks")),
		chromedp.Click(`//button[@role="tab" and normalize-space()="Events"]`),
		chromedp.WaitVisible(chromedp.CSS(`#filter-mode`)),
		chromedp.SetValue(chromedp.CSS(`#filter-mode`), "sandbox"),
		chromedp.Click(byText("button", "Filter")))
	// dex.swap, webhook.test, payment.settled and the delivery.failed
	// its failure emitted; not the live event.
	waitJS(t, ctx, `location.hash.includes('mode=sandbox') && document.querySelectorAll('#events tbody tr').length === 4`)
	modes := get(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#events tbody tr')].map(r => r.querySelector('.badge').textContent)`))
	for _, m := range modes {
		if m != "Sandbox" {
			t.Errorf("the sandbox filter shows a %s event", m)
		}
	}
	screenshot(t, ctx, "events-tab.png")
	do(t, ctx, chromedp.SetValue(chromedp.CSS(`#filter-type`), "webhook.test"),
		chromedp.Click(byText("button", "Filter")))
	waitJS(t, ctx, `location.hash.includes('type=webhook.test') && document.querySelectorAll('#events tbody tr').length === 1 && document.querySelector('#events tbody code').textContent === 'webhook.test'`)

	// Phone width: the Webhook tab reads without sideways scrolling.
	do(t, ctx, chromedp.EmulateViewport(375, 740),
		chromedp.Click(`//button[@role="tab" and normalize-space()="Webhook"]`),
		chromedp.WaitVisible(chromedp.CSS(`#endpoints`)))
	waitJS(t, ctx, `document.documentElement.scrollWidth <= 375`)
	screenshot(t, ctx, "phone.png")
	do(t, ctx, chromedp.EmulateViewport(1100, 750))

	// Delete asks first; Cancel keeps the endpoint and gives focus back.
	del := `#delete-` + ep.ID
	dialogOpen := func() {
		t.Helper()
		waitJS(t, ctx, `document.getElementById('confirm').open && document.activeElement.id === 'confirm-no'`)
	}
	do(t, ctx, chromedp.Click(chromedp.CSS(del)))
	dialogOpen()
	do(t, ctx, chromedp.Click(chromedp.CSS(`#confirm-no`)))
	waitJS(t, ctx, `!document.getElementById('confirm').open`)
	waitJS(t, ctx, `document.activeElement && document.activeElement.id === 'delete-`+ep.ID+`'`)
	if len(s.endpoints()) != 1 {
		t.Fatal("Cancel deleted the endpoint")
	}
	// Straight after the Cancel: the answer is this question's, not the
	// late close event of the last one.
	do(t, ctx, chromedp.Click(chromedp.CSS(del)))
	dialogOpen()
	waitJS(t, ctx, `document.getElementById('confirm-yes').textContent === 'Delete endpoint'`)
	do(t, ctx, chromedp.Click(chromedp.CSS(`#confirm-yes`)))
	waitJS(t, ctx, `document.querySelector('#endpoints-list .empty') !== null`)
	if n := len(s.endpoints()); n != 0 {
		t.Fatalf("%d endpoints after Delete", n)
	}
}

func TestTheGuideIsServedWithItsPictures(t *testing.T) {
	ctx := browser(t, 1100, 750)
	s := startService(t, "sqlite", nil, serviceOptions{noWorker: true})
	do(t, ctx, chromedp.Navigate(s.apiURL+"/dashboard/guide"), chromedp.WaitVisible(chromedp.CSS(`main h1`)))
	waitJS(t, ctx, `document.querySelectorAll('main img').length > 0 && [...document.querySelectorAll('main img')].every(i => i.complete && i.naturalWidth > 100)`)
	if title := get(t, ctx, chromedp.Title()); !strings.HasSuffix(title, "· Securo Webhooks") {
		t.Errorf("guide title %q", title)
	}
}

func TestTheEventsTabLoadsMoreEventsOnRequest(t *testing.T) {
	ctx := browser(t, 1100, 750)
	s := startService(t, "sqlite", nil, serviceOptions{noWorker: true})
	for i := range 23 {
		s.emit(fmt.Sprintf(`{"type": "dex.swap", "data": {"n": %d}}`, i))
	}
	signIn(t, ctx, s)
	waitJS(t, ctx, `document.querySelectorAll('#events tbody tr').length === 20`)
	do(t, ctx, chromedp.Click(byText("button", "Load more")))
	waitJS(t, ctx, `document.querySelectorAll('#events tbody tr').length === 23 && document.getElementById('load-more').hidden`)
	ids := get(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#events tbody tr')].map(r => r.dataset.event)`))
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Fatalf("event %s shows twice: %v", id, ids)
		}
		seen[id] = true
	}
}

func TestTheDashboardWorksWithTheKeyboardAlone(t *testing.T) {
	ctx := browser(t, 1100, 750)
	rc := receivertest.New(t)
	s := startService(t, "sqlite", []*receivertest.Receiver{rc}, serviceOptions{})
	do(t, ctx, chromedp.Navigate(s.apiURL+"/dashboard"), chromedp.WaitVisible(chromedp.CSS(`#api-key`)))

	// tabTo presses Tab until the element with that id has the focus, and
	// checks that the focus shows.
	tabTo := func(id string) {
		t.Helper()
		for range 30 {
			if get(t, ctx, chromedp.Evaluate[string](`document.activeElement ? document.activeElement.id : ''`)) == id {
				style := get(t, ctx, chromedp.Evaluate[string](`getComputedStyle(document.activeElement).outlineStyle`))
				if style == "none" {
					t.Errorf("#%s has the focus but shows no outline", id)
				}
				return
			}
			do(t, ctx, chromedp.KeyEvent(kb.Tab))
		}
		t.Fatalf("Tab never reached #%s", id)
	}
	focused := func(id string) {
		t.Helper()
		waitJS(t, ctx, `document.activeElement && document.activeElement.id === '`+id+`'`)
	}

	tabTo("api-key")
	do(t, ctx, chromedp.KeyEvent(s.key), chromedp.KeyEvent(kb.Enter))
	waitJS(t, ctx, `document.activeElement.tagName === 'H1' && document.activeElement.textContent === 'Webhooks'`)
	tabTo("tab-webhook")
	do(t, ctx, chromedp.KeyEvent(kb.Enter))
	waitJS(t, ctx, `document.activeElement.id === 'tab-webhook' && document.getElementById('add-endpoint') !== null`)
	tabTo("add-endpoint")
	do(t, ctx, chromedp.KeyEvent(kb.Enter))
	focused("ep-url")
	// Save with no URL: the API's message shows and the focus goes back to
	// the field at fault.
	tabTo("ep-save")
	do(t, ctx, chromedp.KeyEvent(kb.Enter))
	focused("ep-url")
	if msg := get(t, ctx, chromedp.Text(chromedp.CSS(`#ep-error`))); !strings.Contains(msg, "url") {
		t.Errorf("an empty URL says %q", msg)
	}
	if n := len(s.endpoints()); n != 0 {
		t.Fatalf("a refused Save made %d endpoints", n)
	}
	do(t, ctx, chromedp.KeyEvent(rc.URL+"/securo-webhooks"))
	tabTo("ep-sandbox")
	do(t, ctx, chromedp.KeyEvent(" "))
	tabTo("ep-save")
	do(t, ctx, chromedp.KeyEvent(kb.Enter))
	focused("secret-title")
	eps := s.endpoints()
	if len(eps) != 1 || eps[0].URL != rc.URL+"/securo-webhooks" || !eps[0].Sandbox {
		t.Fatalf("endpoints after a keyboard Save: %+v", eps)
	}

	// Delete from the keyboard: Escape keeps it and gives the focus back;
	// the dialog's confirm button deletes it.
	tabTo("secret-done")
	do(t, ctx, chromedp.KeyEvent(kb.Enter))
	focused("add-endpoint")
	tabTo("delete-" + eps[0].ID)
	do(t, ctx, chromedp.KeyEvent(kb.Enter))
	focused("confirm-no")
	do(t, ctx, chromedp.KeyEvent(kb.Escape))
	focused("delete-" + eps[0].ID)
	if len(s.endpoints()) != 1 {
		t.Fatal("Escape deleted the endpoint")
	}
	do(t, ctx, chromedp.KeyEvent(kb.Enter))
	focused("confirm-no")
	tabTo("confirm-yes")
	do(t, ctx, chromedp.KeyEvent(kb.Enter))
	waitJS(t, ctx, `document.querySelector('.empty') !== null`)
	if n := len(s.endpoints()); n != 0 {
		t.Fatalf("%d endpoints after a keyboard Delete", n)
	}
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
