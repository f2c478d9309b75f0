package tlsutil

import (
	"testing"
	"time"
)

// FuzzLoadPEM: whatever the CA file and the CA key hold, parsing them
// fails with an error or succeeds; it never panics. (Certificate and key
// pairs are crypto/tls's X509KeyPair.)
func FuzzLoadPEM(f *testing.F) {
	ca, err := GenerateCA("consul", time.Hour)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(ca.CertPEM, ca.KeyPEM)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), ca.CertPEM)
	f.Fuzz(func(t *testing.T, caPEM, keyPEM []byte) {
		if pool, err := parseCAs("ca.pem", caPEM); err == nil && pool == nil {
			t.Fatal("no pool and no error")
		}
		// tls cert create's reading of the CA.
		if cert, key, err := (&CA{CertPEM: caPEM, KeyPEM: keyPEM}).parse(); err == nil && (!cert.IsCA || key == nil) {
			t.Fatal("a CA that is not one")
		}
	})
}
