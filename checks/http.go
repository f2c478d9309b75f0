package checks

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coredns-coord/coredns-coord/structs"
)

// Headers an HTTP check sends unless its Header sets them, as Consul does.
const (
	httpUserAgent = "Consul Health Check"
	httpAccept    = "text/plain, text/*, */*"
)

// defaultHeader is the header of every check that sets none. A request's
// header is only read by net/http (the client clones it before changing
// anything), so the checks share it.
var defaultHeader = http.Header{
	"User-Agent": {httpUserAgent},
	"Accept":     {httpAccept},
}

// maxRedirects is how many redirects an HTTP check follows, all of them to
// the check's own host.
const maxRedirects = 10

// httpCheck is one HTTP check: 2xx is passing, 429 warning, anything else
// (or no answer within the timeout) critical.
type httpCheck struct {
	url    string
	method string
	header http.Header // read-only once built; shared by runs (and checks)
	host   string      // Host header override
	body   string
	maxOut int
	client *http.Client
}

func newHTTP(ct *structs.CheckType) (*httpCheck, error) {
	method := ct.Method
	if method == "" {
		method = http.MethodGet
	}
	h := &httpCheck{
		url:    ct.HTTP,
		method: method,
		header: defaultHeader,
		body:   ct.Body,
		maxOut: outputMaxSize(ct),
		client: httpClient(ct.TLSSkipVerify, ct.TLSServerName, ct.DisableRedirects),
	}
	if len(ct.Header) > 0 {
		h.header = make(http.Header, len(ct.Header)+2)
		for k, vs := range ct.Header {
			for _, v := range vs {
				h.header.Add(k, v)
			}
		}
		if host := h.header.Get("Host"); host != "" {
			h.host = host
			h.header.Del("Host")
		}
		if _, ok := h.header["User-Agent"]; !ok {
			h.header.Set("User-Agent", httpUserAgent)
		}
		if _, ok := h.header["Accept"]; !ok {
			h.header.Set("Accept", httpAccept)
		}
	}
	// Refuse now what every run would fail on: a bad URL or method.
	if _, err := http.NewRequest(method, ct.HTTP, nil); err != nil {
		return nil, fmt.Errorf("checks: http check: %w", err)
	}
	return h, nil
}

func (h *httpCheck) run(ctx context.Context) (string, string) {
	var body io.Reader
	if h.body != "" {
		body = strings.NewReader(h.body)
	}
	req, err := http.NewRequestWithContext(ctx, h.method, h.url, body)
	if err != nil {
		return structs.HealthCritical, err.Error()
	}
	req.Header = h.header
	if h.host != "" {
		req.Host = h.host
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return structs.HealthCritical, err.Error()
	}
	defer resp.Body.Close()

	// Only the first maxOut bytes of the body matter; the connection is not
	// reused, so the rest need not be drained. A body cut short by the
	// timeout leaves the status code as the verdict, as in Consul.
	bp := getOutputBuf(h.maxOut)
	n, _ := io.ReadFull(resp.Body, *bp)
	output := "HTTP " + h.method + " " + h.url + ": " + resp.Status + " Output: " + string((*bp)[:n])
	putOutputBuf(bp)

	switch {
	case resp.StatusCode >= 200 && resp.StatusCode <= 299:
		return structs.HealthPassing, output
	case resp.StatusCode == http.StatusTooManyRequests:
		return structs.HealthWarning, output
	default:
		return structs.HealthCritical, output
	}
}

// outputBufs recycles body buffers of the default output size, the size of
// nearly every check's.
var outputBufs = sync.Pool{New: func() any {
	b := make([]byte, structs.DefaultOutputMaxSize)
	return &b
}}

func getOutputBuf(size int) *[]byte {
	if size == structs.DefaultOutputMaxSize {
		return outputBufs.Get().(*[]byte)
	}
	b := make([]byte, size)
	return &b
}

func putOutputBuf(b *[]byte) {
	if len(*b) == structs.DefaultOutputMaxSize {
		outputBufs.Put(b)
	}
}

// HTTP clients are shared by every check with the same TLS settings: one
// transport per (TLSSkipVerify, TLSServerName), with a client that follows
// redirects within the host and one that follows none.
//
// The transports do not keep connections alive. A kept-alive connection
// costs a file descriptor here and at the target plus two goroutines and
// two 4 KiB buffers (about 30 KiB) for as long as it idles, and with one
// run per interval per target a pool would either hold a connection per
// target (10,000 targets: 300 MB and 10,000 descriptors) or, capped,
// thrash without ever reusing one. A new connection per run costs a
// handshake instead, which is cheap next to the interval, and leaves the
// target's connection count as Consul's checks do (Consul disables
// keep-alive for its HTTP checks too).
type clientKey struct {
	skipVerify bool
	serverName string
}

type clientPair struct {
	follow, noFollow *http.Client
}

var (
	clientsMu sync.Mutex
	clients   = map[clientKey]*clientPair{}
)

func httpClient(skipVerify bool, serverName string, disableRedirects bool) *http.Client {
	key := clientKey{skipVerify, serverName}
	clientsMu.Lock()
	defer clientsMu.Unlock()
	p, ok := clients[key]
	if !ok {
		t := &http.Transport{
			Proxy:       http.ProxyFromEnvironment,
			DialContext: dialTCP,
			TLSClientConfig: &tls.Config{
				InsecureSkipVerify: skipVerify, //nolint:gosec // the check's own choice
				ServerName:         serverName,
			},
			TLSHandshakeTimeout:    10 * time.Second,
			DisableKeepAlives:      true,
			MaxResponseHeaderBytes: 64 << 10,
			ExpectContinueTimeout:  time.Second,
			// A health check's request and response headers are small;
			// the default 4 KiB buffers, allocated per connection, would
			// be most of what a run allocates.
			ReadBufferSize:  1024,
			WriteBufferSize: 1024,
		}
		p = &clientPair{
			follow:   &http.Client{Transport: t, CheckRedirect: sameHostRedirect},
			noFollow: &http.Client{Transport: t, CheckRedirect: noRedirect},
		}
		clients[key] = p
	}
	if disableRedirects {
		return p.noFollow
	}
	return p.follow
}

// sameHostRedirect follows up to maxRedirects redirects that stay on the
// original host (host and port); otherwise the redirect response itself is
// the answer, and a 3xx is critical.
func sameHostRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects || !strings.EqualFold(req.URL.Host, via[0].URL.Host) {
		return http.ErrUseLastResponse
	}
	return nil
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
