package ui_test

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/hashicorp/consul/api"
)

// TestServing checks how the HTTP API serves the UI: / redirects, every
// page path is index.html, files carry a strict CSP and their type.
func TestServing(t *testing.T) {
	a := startAgent(t)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := noRedirect.Get(a.base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
		return resp, string(body)
	}
	resp, _ := get("/")
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/ui/" {
		t.Fatalf("GET /: %d Location %q, want 301 to /ui/", resp.StatusCode, resp.Header.Get("Location"))
	}
	for _, tc := range []struct{ path, ctype, body string }{
		{"/ui/", "text/html", `<script type="module" src="/ui/app.js">`},
		{"/ui/services/web", "text/html", `<main id="main"`},
		{"/ui/app.js", "javascript", "hashchange"},
		{"/ui/style.css", "text/css", "prefers-color-scheme: dark"},
	} {
		resp, body := get(tc.path)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", tc.path, resp.StatusCode)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, tc.ctype) {
			t.Errorf("GET %s: Content-Type %q, want %s", tc.path, ct, tc.ctype)
		}
		if !strings.Contains(body, tc.body) {
			t.Errorf("GET %s: body lacks %q", tc.path, tc.body)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "script-src 'self';") || !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("GET %s: Content-Security-Policy %q is not strict", tc.path, csp)
		}
	}
	// The browser revalidates its copy by hash.
	resp, _ = get("/ui/app.js")
	req, _ := http.NewRequest(http.MethodGet, a.base+"/ui/app.js", nil)
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	if again, err := http.DefaultClient.Do(req); err != nil || again.StatusCode != http.StatusNotModified {
		t.Errorf("GET /ui/app.js with its ETag %q: %v %v, want 304", resp.Header.Get("ETag"), again, err)
	} else {
		again.Body.Close()
	}
	if resp, _ := get("/ui/missing.js"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /ui/missing.js: %d, want 404", resp.StatusCode)
	}
}

// TestPages loads every page as a new document in a desktop and a
// 375 px wide window, light and dark, and expects no console error, no
// horizontal overflow, and the page's content.
func TestPages(t *testing.T) {
	b := startBrowser(t) // first: it skips under -short
	a := startAgent(t)
	if _, err := a.client.KV().Put(&api.KVPair{Key: "app/config", Value: []byte("x")}, nil); err != nil {
		t.Fatal(err)
	}
	session, _, err := a.client.Session().Create(&api.SessionEntry{Name: "leader-lock", TTL: "60s"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _, err := a.client.KV().Acquire(&api.KVPair{Key: "app/lock", Session: session}, nil); err != nil || !ok {
		t.Fatalf("acquire: %v %v", ok, err)
	}
	pages := []struct{ hash, want string }{
		{"#/services", "consul"},
		{"#/services/consul", "node1"},
		{"#/nodes", "127.0.0.1"},
		{"#/nodes/node1", "Serf Health Status"},
		{"#/kv/", "app/"},
		{"#/kv/app/", "config"},
		{"#/kv/app/lock", session},
		{"#/sessions", "leader-lock"},
		{"#/sessions/" + session, "app/lock"},
		{"#/cluster", "leader"},
		{"#/token", "session storage"},
	}
	for _, width := range []int64{1280, 375} {
		for _, dark := range []bool{false, true} {
			scheme := map[bool]string{false: "light", true: "dark"}[dark]
			b.run(t, chromedp.EmulateViewport(width, 860), emulation.SetEmulatedMedia().WithFeatures([]*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}}))
			for _, p := range pages {
				where := p.hash + " at " + scheme + " " + map[bool]string{false: "desktop", true: "375px"}[width == 375]
				b.open(t, a.base, p.hash)
				b.waitFor(t, "main", p.want)
				var overflow bool
				b.eval(t, `document.documentElement.scrollWidth > document.documentElement.clientWidth`, &overflow)
				if overflow {
					t.Errorf("%s: the page is wider than the window", where)
				}
				b.noErrors(t, where)
			}
			var bg string
			b.eval(t, `getComputedStyle(document.body).backgroundColor`, &bg)
			if want := map[bool]string{false: "rgb(255, 255, 255)", true: "rgb(13, 17, 23)"}[dark]; bg != want {
				t.Errorf("%s: background %s, want %s", scheme, bg, want)
			}
		}
	}
}

// TestDatacenterAndKeyboard: ?dc is carried to the API (another
// datacenter's refusal is shown plainly) and the switch reloads with the
// chosen one; the first Tab reaches the skip link, which moves focus to
// the content.
func TestDatacenterAndKeyboard(t *testing.T) {
	b := startBrowser(t) // first: it skips under -short
	a := startAgent(t)
	b.run(t, chromedp.Navigate(a.base+"/ui/?dc=dc2#/services"))
	b.waitFor(t, "main", "No path to datacenter")
	b.waitFor(t, "#dc", "dc1")
	// One step: chromedp's SetValue may fire the change itself, whose
	// reload would leave a second step without the select.
	b.run(t, chromedp.Evaluate(`(() => { const s = document.querySelector("#dc"); s.value = "dc1"; s.dispatchEvent(new Event("change")); })()`, nil))
	b.waitFor(t, "main tbody", "consul")
	var search string
	b.eval(t, `location.search`, &search)
	if search != "?dc=dc1" {
		t.Errorf("after the switch the UI is at %q, want ?dc=dc1", search)
	}

	b.open(t, a.base, "#/services")
	b.waitFor(t, "main tbody", "consul")
	var focused string
	b.run(t, chromedp.KeyEvent("\t"))
	b.eval(t, `document.activeElement.textContent`, &focused)
	if focused != "Skip to content" {
		t.Fatalf("first Tab focuses %q, want the skip link", focused)
	}
	b.run(t, chromedp.KeyEvent("\r"))
	b.eval(t, `document.activeElement.id`, &focused)
	if focused != "main" {
		t.Errorf("the skip link moved focus to %q, want main", focused)
	}
	b.noErrors(t, "datacenter and keyboard")
}

// TestServicesLive registers a service over the API with the services page
// open and expects it to appear, and its health counts to change when its
// TTL check fails, without a reload.
func TestServicesLive(t *testing.T) {
	b := startBrowser(t) // first: it skips under -short
	a := startAgent(t)
	// A few more services, for the screenshot.
	for i, svc := range []struct{ node, name, status string }{
		{"db-1", "postgres", api.HealthPassing}, {"db-2", "postgres", api.HealthWarning},
		{"cache-1", "redis", api.HealthPassing}, {"cache-2", "redis", api.HealthPassing},
	} {
		_, err := a.client.Catalog().Register(&api.CatalogRegistration{
			Node: svc.node, Address: fmt.Sprintf("127.0.0.%d", 10+i),
			Service: &api.AgentService{ID: svc.name, Service: svc.name, Port: 5432 + i, Tags: []string{"primary-" + svc.node}},
			Check:   &api.AgentCheck{CheckID: "up", Name: "up", Status: svc.status, ServiceID: svc.name},
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
	}
	b.open(t, a.base, "#/services")
	b.waitFor(t, "main tbody", "redis")
	// A mark on the document: a reload would drop it.
	b.eval(t, `window.sameDocument = true`, nil)

	reg := &api.AgentServiceRegistration{
		ID: "web1", Name: "web", Port: 8080, Tags: []string{"v1", "http"}, Meta: map[string]string{"team": "edge"},
		Check: &api.AgentServiceCheck{CheckID: "web1-ttl", Name: "web alive", TTL: "10m", Status: api.HealthPassing},
	}
	if err := a.client.Agent().ServiceRegister(reg); err != nil {
		t.Fatalf("register: %v", err)
	}
	row := `main tbody tr:has(a[href="#/services/web"])`
	text := b.waitFor(t, row, "passing")
	if strings.Contains(text, "critical") {
		t.Fatalf("web row before the failure: %q", text)
	}

	// A keyboard user on the web link keeps the focus through the update.
	b.run(t, chromedp.Focus(`a[href="#/services/web"]`, chromedp.ByQuery))
	if err := a.client.Agent().FailTTL("web1-ttl", "disk full"); err != nil {
		t.Fatalf("fail TTL: %v", err)
	}
	b.waitFor(t, row, "1 critical")
	var focused string
	b.eval(t, `document.activeElement.getAttribute("href")`, &focused)
	if focused != "#/services/web" {
		t.Errorf("after the update the focus is on %q, want the web link", focused)
	}
	b.run(t, chromedp.Blur(`a[href="#/services/web"]`, chromedp.ByQuery))
	b.screenshot(t, "services")
	var same bool
	b.eval(t, `window.sameDocument === true`, &same)
	if !same {
		t.Fatalf("the page reloaded")
	}

	// The filter box, by keyboard.
	b.run(t, chromedp.Focus("#filter"), chromedp.SendKeys("#filter", "no-such"))
	b.waitFor(t, "main", "No service matches the filter.")
	var hash string
	b.eval(t, `location.hash`, &hash)
	if hash != "#/services?filter=no-such" {
		t.Errorf("filter not kept in the URL: %q", hash)
	}

	b.open(t, a.base, "#/services/web")
	text = b.waitFor(t, "main", "disk full")
	for _, want := range []string{"node1", "8080", "http", "team", "edge", "web alive", "critical"} {
		if !strings.Contains(text, want) {
			t.Errorf("service page lacks %q:\n%s", want, text)
		}
	}
	b.screenshot(t, "service")
	b.noErrors(t, "services")
}

// TestKV creates, edits and deletes keys through the page, and changes a
// key under an open editor: saving must show the conflict and keep the
// other writer's value.
func TestKV(t *testing.T) {
	b := startBrowser(t) // first: it skips under -short
	a := startAgent(t)
	kv := a.client.KV()
	value := func(key string) string {
		t.Helper()
		p, _, err := kv.Get(key, nil)
		if err != nil {
			t.Fatalf("get %s: %v", key, err)
		}
		if p == nil {
			return "<missing>"
		}
		return string(p.Value)
	}

	// Create app/config from the root folder view.
	b.open(t, a.base, "#/kv/")
	b.waitFor(t, "main", "No keys here.")
	b.run(t, chromedp.SendKeys("#kv-name", "app/config"), chromedp.SendKeys("#kv-new-value", "v1"),
		chromedp.Click(`//button[normalize-space()="Create"]`, chromedp.BySearch))
	b.waitFor(t, "h1", "app/config")
	if got := value("app/config"); got != "v1" {
		t.Fatalf("created value %q, want v1", got)
	}

	// Edit it.
	b.run(t, clearValue("#kv-value"), chromedp.SendKeys("#kv-value", "v2"),
		chromedp.Click(`//button[normalize-space()="Save"]`, chromedp.BySearch))
	b.waitFor(t, "main", "Saved.")
	if got := value("app/config"); got != "v2" {
		t.Fatalf("saved value %q, want v2", got)
	}
	b.screenshot(t, "kv-key")
	// A second save starts from the first one's index.
	b.run(t, clearValue("#kv-value"), chromedp.SendKeys("#kv-value", "v2b"),
		chromedp.Evaluate(`document.querySelector("main [role=status].ok") && (document.querySelector("main [role=status].ok").textContent = "")`, nil),
		chromedp.Click(`//button[normalize-space()="Save"]`, chromedp.BySearch))
	b.waitFor(t, "main", "Saved.")
	if got := value("app/config"); got != "v2b" {
		t.Fatalf("second save: value %q, want v2b", got)
	}

	// Another writer changes the key while this edit is open.
	b.run(t, clearValue("#kv-value"), chromedp.SendKeys("#kv-value", "mine"))
	if _, err := kv.Put(&api.KVPair{Key: "app/config", Value: []byte("theirs")}, nil); err != nil {
		t.Fatal(err)
	}
	b.waitFor(t, "main", "has changed since you started editing")
	b.run(t, chromedp.Click(`//button[normalize-space()="Save"]`, chromedp.BySearch))
	b.waitFor(t, "main [role=alert]", "changed by someone else")
	if got := value("app/config"); got != "theirs" {
		t.Fatalf("after the conflict the value is %q, want the other writer's", got)
	}
	var editor string
	b.eval(t, `document.querySelector("#kv-value").value`, &editor)
	if editor != "mine" {
		t.Errorf("the user's edit was lost: editor holds %q", editor)
	}

	// A binary value is shown as base64.
	if _, err := kv.Put(&api.KVPair{Key: "app/bin", Value: []byte{0, 1, 2, 0xff}}, nil); err != nil {
		t.Fatal(err)
	}
	b.open(t, a.base, "#/kv/app/bin")
	b.waitFor(t, "main", "base64 (binary value)")
	var shown string
	var isB64 bool
	b.eval(t, `document.querySelector("#kv-value").value`, &shown)
	b.eval(t, `document.querySelector("#kv-base64").checked`, &isB64)
	if shown != "AAEC/w==" || !isB64 {
		t.Errorf("binary value shown as %q (base64 box %v)", shown, isB64)
	}

	// Delete the folder with everything under it, after confirming.
	if _, err := kv.Put(&api.KVPair{Key: "app/deep/er", Value: []byte("x")}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(&api.KVPair{Key: "apple", Value: []byte("stays")}, nil); err != nil {
		t.Fatal(err)
	}
	b.open(t, a.base, "#/kv/app/")
	b.waitFor(t, "main .keys", "deep/")
	b.screenshot(t, "kv")
	b.run(t, chromedp.Click(`//button[normalize-space()="Delete folder"]`, chromedp.BySearch))
	b.waitFor(t, "main [role=alert]", "all 3 keys")
	if got := value("app/config"); got != "theirs" {
		t.Fatalf("deleted before the confirmation: %q", got)
	}
	b.run(t, chromedp.Click(`//button[normalize-space()="Yes, delete folder"]`, chromedp.BySearch))
	b.waitFor(t, "main .keys", "apple")
	keys, _, err := kv.Keys("", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(keys, ",") != "apple" {
		t.Errorf("keys after the folder delete: %v, want only apple", keys)
	}
	b.noErrors(t, "kv")
}

// TestNodePage shows a node registered over the catalog API with its
// services and failing check.
func TestNodePage(t *testing.T) {
	b := startBrowser(t) // first: it skips under -short
	a := startAgent(t)
	_, err := a.client.Catalog().Register(&api.CatalogRegistration{
		Node: "db-host", Address: "127.0.0.9", NodeMeta: map[string]string{"rack": "r1"},
		Service: &api.AgentService{ID: "pg1", Service: "postgres", Port: 5432},
		Check:   &api.AgentCheck{CheckID: "disk", Name: "disk space", Status: api.HealthCritical, Output: "98% used"},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b.open(t, a.base, "#/nodes")
	text := b.waitFor(t, "main tbody", "db-host")
	if !strings.Contains(text, "127.0.0.9") || !strings.Contains(text, "postgres") || !strings.Contains(text, "1 critical") {
		t.Errorf("nodes page row:\n%s", text)
	}
	b.screenshot(t, "nodes")
	b.run(t, chromedp.Click(`a[href="#/nodes/db-host"]`, chromedp.ByQuery))
	text = b.waitFor(t, "main", "98% used")
	for _, want := range []string{"127.0.0.9", "rack", "r1", "postgres", "5432", "disk space"} {
		if !strings.Contains(text, want) {
			t.Errorf("node page lacks %q:\n%s", want, text)
		}
	}
	b.noErrors(t, "node page")
}

// clearValue empties a form field (chromedp.SetValue refuses textareas).
func clearValue(selector string) chromedp.Action {
	return chromedp.Evaluate(fmt.Sprintf(`document.querySelector(%q).value = ""`, selector), nil)
}

// TestToken logs in on the token page of an agent without ACLs: the page
// says the token has no effect, every API call carries it all the same,
// and none does after log out (TestACLLogin has ACLs on).
func TestToken(t *testing.T) {
	b := startBrowser(t) // first: it skips under -short
	a := startAgent(t)
	var mu sync.Mutex
	sent := map[string]string{} // API path → X-Consul-Token it carried
	chromedp.ListenTarget(b.ctx, func(ev any) {
		if ev, ok := ev.(*network.EventRequestWillBeSent); ok && strings.Contains(ev.Request.URL, "/v1/") {
			tok, _ := ev.Request.Headers["X-Consul-Token"].(string)
			mu.Lock()
			sent[strings.SplitN(strings.TrimPrefix(ev.Request.URL, a.base), "?", 2)[0]] = tok
			mu.Unlock()
		}
	})
	b.run(t, network.Enable())
	tokens := func() map[string]string {
		mu.Lock()
		defer mu.Unlock()
		out := maps.Clone(sent)
		clear(sent)
		return out
	}

	b.open(t, a.base, "#/token")
	b.waitFor(t, "main", "No token set")
	b.run(t, chromedp.SendKeys("#token", "secret-1"), chromedp.Click(`//button[normalize-space()="Log in"]`, chromedp.BySearch))
	b.waitFor(t, "main", "A token is set for this tab.")
	b.waitFor(t, "main", "ACLs are off on this agent: tokens have no effect")
	tokens()
	b.open(t, a.base, "#/services")
	b.waitFor(t, "main tbody", "consul")
	got := tokens()
	if len(got) == 0 {
		t.Fatal("no API request seen")
	}
	for path, tok := range got {
		if tok != "secret-1" {
			t.Errorf("%s sent token %q, want secret-1", path, tok)
		}
	}

	b.open(t, a.base, "#/token")
	b.run(t, chromedp.Click(`//button[normalize-space()="Log out"]`, chromedp.BySearch))
	b.waitFor(t, "main", "No token set")
	b.open(t, a.base, "#/nodes")
	b.waitFor(t, "main tbody", "node1")
	for path, tok := range tokens() {
		if tok != "" {
			t.Errorf("after log out %s sent token %q", path, tok)
		}
	}
	b.noErrors(t, "token")
}

// TestValueCodec runs the UI's KV value codec in the browser: what is
// shown as text, what as base64, and what a save sends.
func TestValueCodec(t *testing.T) {
	b := startBrowser(t) // first: it skips under -short
	a := startAgent(t)
	b.open(t, a.base, "#/token")
	b.waitFor(t, "main", "Token")
	var got []any
	b.run(t, chromedp.Evaluate(`import("/ui/value.js").then(({ decodeValue, encodeValue }) => {
		const b64 = (s) => btoa(String.fromCharCode(...new TextEncoder().encode(s)));
		let bad = "accepted";
		try { encodeValue("not base64!", true); } catch (e) { bad = e.message; }
		return [
			decodeValue(null),
			decodeValue(b64("héllo\nwörld\t!")),
			decodeValue(btoa("\x00\x01")),
			decodeValue(btoa("\xff\xfe")),
			Array.from(encodeValue("AAEC/w==", true)),
			encodeValue("plain", false),
			bad,
		];
	})`, &got, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	want := []any{
		map[string]any{"text": "", "binary": false},
		map[string]any{"text": "héllo\nwörld\t!", "binary": false},
		map[string]any{"text": "AAE=", "binary": true},
		map[string]any{"text": "//4=", "binary": true},
		[]any{0.0, 1.0, 2.0, 255.0},
		"plain",
		"The value is not valid base64.",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("codec:\n got %v\nwant %v", got, want)
	}
	b.noErrors(t, "codec")
}
