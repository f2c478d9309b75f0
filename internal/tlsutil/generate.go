package tlsutil

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// CA is a certificate authority's certificate and key, PEM-encoded.
type CA struct {
	CertPEM []byte
	KeyPEM  []byte
}

// GenerateCA makes a self-signed ECDSA P-256 CA valid for the given time,
// as `consul tls ca create` does (its common name "<Domain> Agent CA
// <serial>").
func GenerateCA(domain string, validFor time.Duration) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: fmt.Sprintf("%s Agent CA %s", capitalize(domain), serial)},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(validFor),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		SubjectKeyId:          keyID(key.Public()),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, err
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return nil, err
	}
	return &CA{CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), KeyPEM: keyPEM}, nil
}

// Role is what a certificate is for: `consul tls cert create -server`,
// -client or -cli.
type Role string

const (
	RoleServer Role = "server"
	RoleClient Role = "client"
	RoleCLI    Role = "cli"
)

// CertRequest describes a certificate to sign.
type CertRequest struct {
	Role       Role
	Datacenter string
	Domain     string
	ValidFor   time.Duration
	// ExtraDNS and ExtraIPs are added to the subject alternative names.
	ExtraDNS []string
	ExtraIPs []net.IP
}

// Name is the certificate's common name, <role>.<dc>.<domain>; for a
// server it is the name verify_server_hostname checks.
func (r CertRequest) Name() string { return fmt.Sprintf("%s.%s.%s", r.Role, r.Datacenter, r.Domain) }

// GenerateCert makes an ECDSA P-256 key and a certificate for it signed by
// ca, with the names `consul tls cert create` gives: the common name and
// localhost, and 127.0.0.1 for servers and clients. Servers and clients
// may use it on both ends of a connection; the CLI's is a client's only.
func GenerateCert(ca *CA, req CertRequest) (certPEM, keyPEM []byte, err error) {
	caCert, caKey, err := ca.parse()
	if err != nil {
		return nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:   serial,
		Subject:        pkix.Name{CommonName: req.Name()},
		NotBefore:      now.Add(-time.Minute),
		NotAfter:       now.Add(req.ValidFor),
		KeyUsage:       x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:    []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:       append([]string{req.Name(), "localhost"}, req.ExtraDNS...),
		IPAddresses:    append([]net.IP{net.IPv4(127, 0, 0, 1)}, req.ExtraIPs...),
		SubjectKeyId:   keyID(key.Public()),
		AuthorityKeyId: caCert.SubjectKeyId,
	}
	if req.Role == RoleCLI {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
		tmpl.IPAddresses = req.ExtraIPs
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, key.Public(), caKey)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err = encodeKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), keyPEM, nil
}

func (ca *CA) parse() (*x509.Certificate, crypto.Signer, error) {
	block, _ := pem.Decode(ca.CertPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, nil, errors.New("the CA file holds no PEM certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("the CA certificate: %w", err)
	}
	if !cert.IsCA {
		return nil, nil, errors.New("the CA file's certificate is not a CA")
	}
	kb, _ := pem.Decode(ca.KeyPEM)
	if kb == nil {
		return nil, nil, errors.New("the CA key file holds no PEM key")
	}
	key, err := parseKey(kb)
	if err != nil {
		return nil, nil, fmt.Errorf("the CA key: %w", err)
	}
	if !publicKeysEqual(cert.PublicKey, key.Public()) {
		return nil, nil, errors.New("the CA key does not match the CA certificate")
	}
	return cert, key, nil
}

func parseKey(b *pem.Block) (crypto.Signer, error) {
	if k, err := x509.ParseECPrivateKey(b.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("not a signing key")
	}
	return s, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	ea, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ea.Equal(b)
}

func encodeKey(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

func randomSerial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

// keyID is the subject key identifier: a hash of the public key.
func keyID(pub crypto.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil
	}
	sum := sha256.Sum256(der)
	return sum[:20]
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	b := []byte(s)
	if b[0] >= 'a' && b[0] <= 'z' {
		b[0] -= 'a' - 'A'
	}
	return string(b)
}
