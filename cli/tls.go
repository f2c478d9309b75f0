package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"time"

	"github.com/coredns-coord/coredns-coord/internal/tlsutil"
)

const tlsUsage = `
Usage: coredns-coord tls <subcommand> <subcommand> [options]

  Makes a certificate authority and the agents' certificates, as consul tls
  does, in the current directory.

Subcommands:

  ca create    Create a CA: <domain>-agent-ca.pem and <domain>-agent-ca-key.pem
  cert create  Create a certificate for a server, a client agent or the CLI

Run 'coredns-coord tls <subcommand> <subcommand> -h' for its options.
`

const tlsCAUsage = `
Usage: coredns-coord tls ca <subcommand> [options]

Subcommands:

  create  Create a CA: <domain>-agent-ca.pem and <domain>-agent-ca-key.pem
`

const tlsCertUsage = `
Usage: coredns-coord tls cert <subcommand> [options]

Subcommands:

  create  Create a certificate for a server, a client agent or the CLI
`

var runTLS = group("tls", tlsUsage, map[string]command{
	"ca":   group("tls ca", tlsCAUsage, map[string]command{"create": tlsCACreate}),
	"cert": group("tls cert", tlsCertUsage, map[string]command{"create": tlsCertCreate}),
})

const tlsCACreateUsage = `
Usage: coredns-coord tls ca create [options]

  Creates a self-signed ECDSA P-256 certificate authority in the current
  directory: <domain>-agent-ca.pem (the certificate, the agents' ca_file)
  and <domain>-agent-ca-key.pem (its key: keep it off the agents). Files
  that exist are not overwritten.
`

func tlsCACreate(_ context.Context, s *streams, args []string) int {
	fs := newFlagSet(s, "tls ca create", tlsCACreateUsage)
	domain := fs.String("domain", "consul", "Domain of the agents' names.")
	days := fs.Int("days", 1825, "Days the CA is valid.")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(s, fs, "Too many arguments (expected 0, got %d)", fs.NArg())
	}
	if *days <= 0 {
		return usageError(s, fs, "-days must be positive")
	}
	certFile, keyFile := caFileNames(*domain)
	ca, err := tlsutil.GenerateCA(*domain, time.Duration(*days)*24*time.Hour)
	if err != nil {
		return failure(s, "cannot create the CA: %v", err)
	}
	if err := writeNew(s, certFile, ca.CertPEM, 0o644); err != nil {
		return failure(s, "%v", err)
	}
	if err := writeNew(s, keyFile, ca.KeyPEM, 0o600); err != nil {
		os.Remove(certFile)
		return failure(s, "%v", err)
	}
	return exitOK
}

func caFileNames(domain string) (cert, key string) {
	return domain + "-agent-ca.pem", domain + "-agent-ca-key.pem"
}

const tlsCertCreateUsage = `
Usage: coredns-coord tls cert create -server|-client|-cli -dc DC [options]

  Creates an ECDSA P-256 key and a certificate signed by the CA in the
  current directory: <dc>-<role>-<domain>-<n>.pem and -key.pem, n the
  first number not taken. A server's certificate names
  server.<dc>.<domain> (what verify_server_hostname checks), localhost
  and 127.0.0.1; a client's client.<dc>.<domain>, localhost and
  127.0.0.1; the CLI's cli.<dc>.<domain> and localhost, for client
  authentication only.
`

func tlsCertCreate(_ context.Context, s *streams, args []string) int {
	fs := newFlagSet(s, "tls cert create", tlsCertCreateUsage)
	server := fs.Bool("server", false, "A server's certificate.")
	client := fs.Bool("client", false, "A client agent's certificate.")
	cli := fs.Bool("cli", false, "A certificate for the CLI.")
	dc := fs.String("dc", "dc1", "Datacenter of the names.")
	domain := fs.String("domain", "consul", "Domain of the names.")
	days := fs.Int("days", 365, "Days the certificate is valid.")
	caFile := fs.String("ca", "", "The CA certificate. Default: <domain>-agent-ca.pem.")
	keyFile := fs.String("key", "", "The CA key. Default: <domain>-agent-ca-key.pem.")
	var dnsNames, ips stringList
	fs.Var(&dnsNames, "additional-dnsname", "A further DNS name for the certificate; repeatable.")
	fs.Var(&ips, "additional-ipaddress", "A further IP address for the certificate; repeatable.")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if fs.NArg() > 0 {
		return usageError(s, fs, "Too many arguments (expected 0, got %d)", fs.NArg())
	}
	var role tlsutil.Role
	n := 0
	for r, set := range map[tlsutil.Role]bool{tlsutil.RoleServer: *server, tlsutil.RoleClient: *client, tlsutil.RoleCLI: *cli} {
		if set {
			role, n = r, n+1
		}
	}
	if n != 1 {
		return usageError(s, fs, "give exactly one of -server, -client and -cli")
	}
	if *days <= 0 {
		return usageError(s, fs, "-days must be positive")
	}
	req := tlsutil.CertRequest{Role: role, Datacenter: *dc, Domain: *domain, ValidFor: time.Duration(*days) * 24 * time.Hour, ExtraDNS: dnsNames}
	for _, v := range ips {
		ip := net.ParseIP(v)
		if ip == nil {
			return usageError(s, fs, "-additional-ipaddress %q is not an IP address", v)
		}
		req.ExtraIPs = append(req.ExtraIPs, ip)
	}
	defCert, defKey := caFileNames(*domain)
	if *caFile == "" {
		*caFile = defCert
	}
	if *keyFile == "" {
		*keyFile = defKey
	}
	ca, err := readCA(*caFile, *keyFile)
	if err != nil {
		return failure(s, "%v", err)
	}
	certPEM, keyPEM, err := tlsutil.GenerateCert(ca, req)
	if err != nil {
		return failure(s, "cannot sign with %s and %s: %v", *caFile, *keyFile, err)
	}
	if role == tlsutil.RoleServer {
		fmt.Fprint(s.stdout, "==> WARNING: Server Certificates grants authority to become a\n"+
			"    server and access all state in the cluster including root keys\n"+
			"    and all ACL tokens. Do not distribute them to production hosts\n"+
			"    that are not server nodes. Store them as securely as CA keys.\n")
	}
	fmt.Fprintf(s.stdout, "==> Using %s and %s\n", *caFile, *keyFile)
	prefix := fmt.Sprintf("%s-%s-%s", *dc, role, *domain)
	for i := 0; ; i++ {
		certFile := fmt.Sprintf("%s-%d.pem", prefix, i)
		keyFile := fmt.Sprintf("%s-%d-key.pem", prefix, i)
		if exists(certFile) || exists(keyFile) {
			continue
		}
		if err := writeNew(s, certFile, certPEM, 0o644); err != nil {
			return failure(s, "%v", err)
		}
		if err := writeNew(s, keyFile, keyPEM, 0o600); err != nil {
			os.Remove(certFile)
			return failure(s, "%v", err)
		}
		return exitOK
	}
}

func readCA(certFile, keyFile string) (*tlsutil.CA, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("CA certificate: %w (create one with '%s tls ca create', or give -ca)", err, progName)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("CA key: %w (give -key)", err)
	}
	return &tlsutil.CA{CertPEM: certPEM, KeyPEM: keyPEM}, nil
}

func exists(name string) bool {
	_, err := os.Lstat(name)
	return !errors.Is(err, fs.ErrNotExist)
}

// writeNew writes a file that must not exist yet and says so.
func writeNew(s *streams, name string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", name, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(name)
		return fmt.Errorf("cannot write %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(name)
		return fmt.Errorf("cannot write %s: %w", name, err)
	}
	fmt.Fprintf(s.stdout, "==> Saved %s\n", name)
	return nil
}
