package agent

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/go-connlimit"
	"github.com/prometheus/client_golang/prometheus"
)

// HTTP listener defaults. The idle timeout is longer than the Consul Go
// client's 90 s idle-connection timeout, so the client closes an idle
// connection before the server does and never reuses one being closed.
const (
	DefaultHTTPMaxConnsPerClient = 200 // Consul's http_max_conns_per_client
	DefaultHTTPReadHeaderTimeout = 10 * time.Second
	DefaultHTTPIdleTimeout       = 2 * time.Minute
)

var httpConnsRefused = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "coredns_coord_http_connections_refused_total",
	Help: "HTTP connections answered 429 and closed because their client address had http_max_conns_per_client open.",
})

func init() { prometheus.MustRegister(httpConnsRefused) }

// tooManyConns is written on a connection over the per-client limit before
// it is closed (the request was never read, so no handler can answer).
var tooManyConns = func() []byte {
	const body = "Too many connections from your address (http_max_conns_per_client)\n"
	return fmt.Appendf(nil, "HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain; charset=utf-8\r\n"+
		"Content-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
}()

// Stopping is closed when the agent begins to stop, before the HTTP
// server shuts down: a streaming handler (agent/monitor) ends on it, so
// that Stop does not wait on a client that never hangs up.
func (a *Agent) Stopping() <-chan struct{} { return a.stopCh }

// serveHTTP serves the API on the http and https addresses that are set,
// from one server. TLS handshakes run on each connection's goroutine under
// the read header timeout, so a slow one never holds the accept loop (a
// refused one is closed unanswered: refuseConn).
func (a *Agent) serveHTTP(h http.Handler) error {
	a.httpServer = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: a.cfg.HTTPReadHeaderTimeout,
		IdleTimeout:       a.cfg.HTTPIdleTimeout,
	}
	if a.cfg.HTTPMaxConnsPerClient > 0 {
		limiter := connlimit.NewLimiter(connlimit.Config{MaxConnsPerClientIP: a.cfg.HTTPMaxConnsPerClient})
		a.httpServer.ConnState = limiter.HTTPConnStateFuncWithErrorHandler(refuseConn)
	}
	if a.cfg.HTTPAddr != "" {
		ln, err := net.Listen("tcp", a.cfg.HTTPAddr)
		if err != nil {
			return fmt.Errorf("agent: http listen: %w", err)
		}
		a.httpAddr = ln.Addr()
		go a.serveOn(ln, "http api")
	}
	if a.cfg.HTTPSAddr != "" {
		ln, err := net.Listen("tcp", a.cfg.HTTPSAddr)
		if err != nil {
			return fmt.Errorf("agent: https listen: %w", err)
		}
		a.httpsAddr = ln.Addr()
		go a.serveOn(tls.NewListener(ln, a.tls.Incoming("http/1.1")), "https api")
	}
	return nil
}

func (a *Agent) serveOn(ln net.Listener, what string) {
	if err := a.httpServer.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		agentLog.Errorf("%s: %v", what, err)
	}
}

// refuseConn answers a connection over the limit with 429 and closes it.
// It runs on the accept loop, so a client that does not read gets 10 ms.
// An HTTPS connection is closed without an answer: writing would first
// run the TLS handshake there, and a client holding the limit could keep
// the loop busy with handshakes for everyone else.
func refuseConn(err error, conn net.Conn) {
	if errors.Is(err, connlimit.ErrPerClientIPLimitReached) {
		httpConnsRefused.Inc()
		if _, isTLS := conn.(*tls.Conn); !isTLS {
			conn.SetDeadline(time.Now().Add(10 * time.Millisecond))
			conn.Write(tooManyConns)
		}
	}
	conn.Close()
}
