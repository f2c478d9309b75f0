package agent

import (
	"errors"

	"github.com/coredns-coord/coredns-coord/internal/tlsutil"
)

// Domain is the DNS domain of the agents' names; servers' certificates
// name server.<datacenter>.<Domain> (verify_server_hostname).
const Domain = "consul"

// ServerName is the name a server of datacenter dc presents under
// verify_server_hostname.
func ServerName(dc string) string { return "server." + dc + "." + Domain }

// openTLS reads the tls block's files; nil without a tls block.
func openTLS(cfg Config) (*tlsutil.Configurator, error) {
	if !cfg.TLS.Enabled() {
		return nil, nil
	}
	return tlsutil.New(cfg.TLS, ServerName(cfg.Datacenter))
}

// ReloadTLS re-reads the certificate, key and CA (a Corefile reload may
// name others, or change the verify settings): connections made from now
// on use them, those open keep theirs. On error the old ones stay. An
// agent started without a tls block ignores it (Acquire refuses a reload
// that adds one).
func (a *Agent) ReloadTLS(cfg tlsutil.Config) error {
	a.tlsMu.Lock()
	defer a.tlsMu.Unlock()
	return a.reloadTLS(cfg)
}

// ReloadTLSFiles re-reads the files of the tls block in use (SIGHUP). It
// reads the settings and stores what it loaded under one lock, so that a
// Corefile reload at the same moment is never undone by older settings.
func (a *Agent) ReloadTLSFiles() error {
	a.tlsMu.Lock()
	defer a.tlsMu.Unlock()
	return a.reloadTLS(a.tls.Settings())
}

func (a *Agent) reloadTLS(cfg tlsutil.Config) error {
	if a.tls == nil {
		return nil
	}
	if err := validTLS(a.cfg.Server, cfg); err != nil {
		return err
	}
	if err := a.tls.Reload(cfg); err != nil {
		return err
	}
	agentLog.Infof("tls: loaded %s (ca_file %s)", cfg.CertFile, cfg.CAFile)
	return nil
}

// validTLS checks a tls block for an agent: the block's own rules, and
// that a server dialling its peers over TLS has a certificate of its own
// (they dial it the same way; without one its server port refuses every
// TLS connection and Raft to it breaks).
func validTLS(server bool, t tlsutil.Config) error {
	if err := t.Validate(); err != nil {
		return err
	}
	if server && t.VerifyOutgoing && t.CertFile == "" {
		return errors.New("tls: a server with verify_outgoing needs cert_file and key_file: its peers dial it over TLS")
	}
	return nil
}

// TLSSettings is the tls block last loaded (zero without one).
func (a *Agent) TLSSettings() tlsutil.Config { return a.tls.Settings() }
