package ui_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/hashicorp/consul/api"

	"github.com/coredns-coord/coredns-coord/httpapi"
	"github.com/coredns-coord/coredns-coord/internal/testagent"
)

// uiAgent is a real dev agent serving the HTTP API (and so the UI) on
// loopback, with a Consul client for changing the cluster under the page.
type uiAgent struct {
	base   string
	client *api.Client
}

func startAgent(t testing.TB) *uiAgent {
	t.Helper()
	a := testagent.Start(t, testagent.DevConfig(t, "node1", "127.0.0.1:0"), httpapi.New)
	addr := a.HTTPAddr().String()
	client, err := api.NewClient(&api.Config{Address: addr})
	if err != nil {
		t.Fatalf("consul client: %v", err)
	}
	return &uiAgent{base: "http://" + addr, client: client}
}

// browser is a headless Chromium tab that records every console error
// and uncaught exception (CSP violations are console errors too).
type browser struct {
	ctx    context.Context
	loads  int
	mu     sync.Mutex
	errors []string
}

// startBrowser starts Debian's chromium. The browser tests start a
// browser process: they skip under -short and fail (not skip) without it.
func startBrowser(t testing.TB) *browser {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test: starts headless Chromium; runs in make test")
	}
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is required for the UI tests (apt-get install chromium): %v", err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 860),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &browser{ctx: ctx}
	chromedp.ListenTarget(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError {
				var parts []string
				for _, a := range ev.Args {
					parts = append(parts, a.Description+string(a.Value))
				}
				b.record("console.error: " + strings.Join(parts, " "))
			}
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			desc := d.Text
			if d.Exception != nil {
				desc += " " + d.Exception.Description
			}
			b.record(fmt.Sprintf("exception at %s:%d: %s", d.URL, d.LineNumber, desc))
		case *cdplog.EventEntryAdded:
			// Failed requests the page expects (a missing key is a 404)
			// are network entries; anything else at error level counts.
			if ev.Entry.Level == cdplog.LevelError && ev.Entry.Source != cdplog.SourceNetwork {
				b.record(fmt.Sprintf("%s: %s", ev.Entry.Source, ev.Entry.Text))
			}
		}
	})
	if err := chromedp.Run(ctx, cdplog.Enable()); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return b
}

func (b *browser) record(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errors = append(b.errors, s)
}

// noErrors fails the test for every console error or exception so far.
func (b *browser) noErrors(t testing.TB, where string) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range b.errors {
		t.Errorf("%s: %s", where, e)
	}
	b.errors = nil
}

func (b *browser) run(t testing.TB, actions ...chromedp.Action) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// open loads base + "/ui/" + hash as a new document: a query that
// differs each time makes it one (a change of hash alone would not).
func (b *browser) open(t testing.TB, base, hash string) {
	t.Helper()
	b.loads++
	b.run(t, chromedp.Navigate(fmt.Sprintf("%s/ui/?load=%d%s", base, b.loads, hash)))
}

// eval returns the value of a JavaScript expression.
func (b *browser) eval(t testing.TB, expr string, out any) {
	t.Helper()
	b.run(t, chromedp.Evaluate(expr, out))
}

// waitFor polls until the text of the elements selector matches (in
// document order, joined by newlines) contains want, for at most 15 s.
func (b *browser) waitFor(t testing.TB, selector, want string) string {
	t.Helper()
	expr := fmt.Sprintf(`[...document.querySelectorAll(%q)].map(e => e.innerText).join("\n")`, selector)
	var text string
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		b.eval(t, expr, &text)
		if strings.Contains(text, want) {
			return text
		}
	}
	b.noErrors(t, "before the wait")
	t.Fatalf("%q never showed %q; last text:\n%s", selector, want, text)
	return ""
}

// screenshot saves the viewport as name.png in $UI_SCREENSHOTS (or a
// temporary directory).
func (b *browser) screenshot(t testing.TB, name string) {
	t.Helper()
	dir := os.Getenv("UI_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	var png []byte
	b.run(t, chromedp.CaptureScreenshot(&png))
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatalf("screenshot: %v", err)
	}
}
