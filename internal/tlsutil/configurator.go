package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"sync/atomic"
)

// Configurator hands out tls.Configs built from the files last read. A nil
// *Configurator is an agent without TLS: every method answers as if no
// tls block were given.
type Configurator struct {
	cur atomic.Pointer[material]
	// serverName is server.<datacenter>.<domain>, what servers present.
	serverName string
}

// New reads the files cfg names; serverName is the name servers' certificates
// must hold under verify_server_hostname.
func New(cfg Config, serverName string) (*Configurator, error) {
	m, err := load(cfg)
	if err != nil {
		return nil, err
	}
	c := &Configurator{serverName: serverName}
	c.cur.Store(m)
	return c, nil
}

// Reload reads the files again (the same or other ones): on success new
// connections use them, on failure the old ones stay.
func (c *Configurator) Reload(cfg Config) error {
	m, err := load(cfg)
	if err != nil {
		return err
	}
	c.cur.Store(m)
	return nil
}

// Settings is the configuration last loaded.
func (c *Configurator) Settings() Config {
	if c == nil {
		return Config{}
	}
	return c.cur.Load().cfg
}

// ServerName is the name servers' certificates hold.
func (c *Configurator) ServerName() string { return c.serverName }

// CanServe reports whether the agent has a certificate to serve TLS with.
func (c *Configurator) CanServe() bool { return c != nil && c.cur.Load().cert != nil }

// VerifyIncoming reports whether plaintext and unauthenticated peers are
// refused.
func (c *Configurator) VerifyIncoming() bool { return c.Settings().VerifyIncoming }

// Incoming is the server side's config (HTTPS, the server port): the
// current certificate, and under verify_incoming a client certificate
// signed by the CA is required. It is read anew for every handshake.
func (c *Configurator) Incoming(nextProtos ...string) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			m := c.cur.Load()
			if m.cert == nil {
				return nil, errors.New("no cert_file configured")
			}
			cfg := &tls.Config{
				MinVersion:   tls.VersionTLS12,
				Certificates: []tls.Certificate{*m.cert},
				NextProtos:   nextProtos,
				ClientCAs:    m.cas,
				ClientAuth:   tls.NoClientCert,
			}
			switch {
			case m.cfg.VerifyIncoming:
				cfg.ClientAuth = tls.RequireAndVerifyClientCert
			case m.cas != nil:
				cfg.ClientAuth = tls.VerifyClientCertIfGiven
			}
			return cfg, nil
		},
	}
}

// Outgoing is the config for dialling a server, or nil when connections
// to servers stay plaintext (no verify_outgoing). The server's certificate
// must chain to the CA and, under verify_server_hostname, name
// server.<dc>.<domain>; the agent's own certificate is offered as the
// client certificate.
func (c *Configurator) Outgoing() *tls.Config {
	if c == nil {
		return nil
	}
	m := c.cur.Load()
	if !m.cfg.VerifyOutgoing {
		return nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: m.cas}
	if m.cert != nil {
		cert := m.cert
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
	}
	if m.cfg.VerifyServerHostname {
		cfg.ServerName = c.serverName
		return cfg
	}
	// Without verify_server_hostname the chain is checked and the name is
	// not: Go checks both or neither, so the chain is checked here.
	cfg.InsecureSkipVerify = true
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		return verifyChain(cs, m.cas, "")
	}
	return cfg
}

// CheckServerPeer is for a connection accepted on the server port that
// carries Raft: under verify_incoming with verify_server_hostname, the
// peer's certificate must be a server's (server.<dc>.<domain>), so that a
// client's certificate cannot join Raft.
func (c *Configurator) CheckServerPeer(cs tls.ConnectionState) error {
	m := c.cur.Load()
	if !m.cfg.VerifyIncoming || !m.cfg.VerifyServerHostname {
		return nil
	}
	return verifyChain(cs, m.cas, c.serverName)
}

// verifyChain checks that the peer's certificate chains to cas and, when
// name is set, holds it.
func verifyChain(cs tls.ConnectionState, cas *x509.CertPool, name string) error {
	if len(cs.PeerCertificates) == 0 {
		return errors.New("no certificate presented")
	}
	inter := x509.NewCertPool()
	for _, ic := range cs.PeerCertificates[1:] {
		inter.AddCert(ic)
	}
	leaf := cs.PeerCertificates[0]
	_, err := leaf.Verify(x509.VerifyOptions{
		Roots: cas, Intermediates: inter, DNSName: name,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return fmt.Errorf("certificate %q: %w", leaf.Subject.CommonName, err)
	}
	return nil
}
