package agent

import (
	"strings"
	"testing"

	"github.com/coredns-coord/coredns-coord/internal/testutil"
	"github.com/coredns-coord/coredns-coord/internal/tlsutil"
	"github.com/coredns-coord/coredns-coord/internal/tlsutil/tlstest"
)

// A reload may name other certificate files and change the verify
// settings of a running agent, but not turn TLS on or off; a reload whose
// files do not load keeps the old ones.
func TestTLSSettingsOnReload(t *testing.T) {
	pki := tlstest.New(t)
	cfg := Config{
		Dev: true, Server: true, BootstrapExpect: 1, NodeName: "tls-reload", Datacenter: "dc1",
		BindAddr: "127.0.0.1", ServerPort: testutil.FreePort(t), TLS: pki.Config(t, "first", tlsutil.RoleServer),
	}
	a, err := Acquire(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { Release(cfg) })

	next := cfg
	next.TLS = pki.Config(t, "second", tlsutil.RoleServer)
	next.TLS.VerifyIncoming = false
	if err := CheckSettings(next); err != nil {
		t.Fatalf("other certificate files refused: %v", err)
	}
	if err := a.ReloadTLS(next.TLS); err != nil || a.TLSSettings() != next.TLS {
		t.Fatalf("reload: %v; settings %+v", err, a.TLSSettings())
	}
	broken := next.TLS
	broken.KeyFile = cfg.TLS.KeyFile
	if err := a.ReloadTLS(broken); err == nil || !strings.Contains(err.Error(), cfg.TLS.KeyFile) {
		t.Fatalf("a key that is not the certificate's: %v", err)
	}
	if a.TLSSettings() != next.TLS {
		t.Fatal("a failed reload changed the settings")
	}
	off := cfg
	off.TLS = tlsutil.Config{}
	if err := CheckSettings(off); err == nil || !strings.Contains(err.Error(), "takes effect after a restart") {
		t.Fatalf("turning TLS off on a running agent: %v", err)
	}
}
