// Package tlsutil holds the agent's TLS settings (the Corefile's tls
// block) and the tls.Configs built from them for the HTTPS API and for the
// server port's RPC and Raft. The certificate, key and CA are read at
// start and again at every reload; connections made after a reload use
// the new ones, connections already open keep theirs.
package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
)

// Config is the tls block of the Corefile, as Consul's tls.defaults.
type Config struct {
	CAFile   string
	CertFile string
	KeyFile  string
	// VerifyIncoming: HTTPS and the server port demand a client
	// certificate signed by the CA; the server port refuses plaintext.
	VerifyIncoming bool
	// VerifyOutgoing: connections to servers (RPC, Raft) use TLS and
	// check the server's certificate against the CA.
	VerifyOutgoing bool
	// VerifyServerHostname: servers must present a certificate for
	// server.<datacenter>.<domain> when dialled, and, with
	// VerifyIncoming, on incoming Raft.
	VerifyServerHostname bool
}

// Enabled reports whether the block was given at all.
func (c Config) Enabled() bool { return c != Config{} }

// Validate checks the settings that need no files.
func (c Config) Validate() error {
	switch {
	case (c.CertFile == "") != (c.KeyFile == ""):
		return errors.New("tls: cert_file and key_file go together")
	case (c.VerifyIncoming || c.VerifyOutgoing) && c.CAFile == "":
		return errors.New("tls: verify_incoming and verify_outgoing need ca_file")
	case c.VerifyIncoming && c.CertFile == "":
		return errors.New("tls: verify_incoming needs cert_file and key_file (the agent's own certificate)")
	case c.VerifyServerHostname && !c.VerifyOutgoing:
		return errors.New("tls: verify_server_hostname needs verify_outgoing")
	}
	return nil
}

// material is what the files held when they were last read.
type material struct {
	cfg  Config
	cert *tls.Certificate // nil without cert_file
	cas  *x509.CertPool   // nil without ca_file
}

// load reads and checks the files cfg names. Every error names the file.
func load(cfg Config) (*material, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &material{cfg: cfg}
	if cfg.CAFile != "" {
		pool, err := loadCAs(cfg.CAFile)
		if err != nil {
			return nil, err
		}
		m.cas = pool
	}
	if cfg.CertFile != "" {
		cert, err := loadKeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, err
		}
		m.cert = cert
	}
	return m, nil
}

func loadCAs(file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("tls: ca_file: %w", err)
	}
	return parseCAs(file, b)
}

// parseCAs reads every PEM certificate of b, the contents of file.
func parseCAs(file string, b []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	n := 0
	for block, rest := pem.Decode(b); block != nil; block, rest = pem.Decode(rest) {
		if block.Type != "CERTIFICATE" {
			continue
		}
		ca, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("tls: ca_file %s: %w", file, err)
		}
		pool.AddCert(ca)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("tls: ca_file %s holds no PEM certificate", file)
	}
	return pool, nil
}

func loadKeyPair(certFile, keyFile string) (*tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("tls: cert_file: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("tls: key_file: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("tls: cert_file %s with key_file %s: %w", certFile, keyFile, err)
	}
	return &cert, nil
}

// Check reads the files cfg names as the agent would, for setup to refuse
// a Corefile whose files are missing, unreadable or do not match.
func Check(cfg Config) error {
	_, err := load(cfg)
	return err
}
