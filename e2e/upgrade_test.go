package e2e

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/consul/api"
	"github.com/miekg/dns"
)

// testdata/datadir-before-request-ids.tgz is the data_dir of a single
// server (node old1) written by the binary before request IDs (commit
// 285708f): a Raft snapshot at index 26, log entries after it (the KV keys
// old/21..old/39, the service web, a session), killed with kill -9.
const oldDataDir = "testdata/datadir-before-request-ids.tgz"

func untar(t *testing.T, archive, dir string) {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, h.Name)
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(path, 0o700)
		case tar.TypeReg:
			var out *os.File
			if out, err = os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)); err == nil {
				_, err = io.Copy(out, tr)
				out.Close()
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// A data directory written before request IDs (Raft entries without an ID,
// a version-1 snapshot) loads as it is: no migration. The server answers
// what it had, takes new writes (with IDs) beside the old entries, and
// restarts again on the mixed log.
func TestDataDirBeforeRequestIDsLoads(t *testing.T) {
	multiProcess(t)
	n := newNode(t)
	n.Name = "old1"
	root := t.TempDir()
	untar(t, oldDataDir, root)
	n.DataDir = filepath.Join(root, "data")

	check := func(when string) {
		t.Helper()
		c := n.client(t)
		pairs, _, err := c.KV().List("old/", nil)
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if len(pairs) != 40 {
			t.Fatalf("%s: %d of the 40 old keys", when, len(pairs))
		}
		for i := range 40 {
			p, _, err := c.KV().Get(fmt.Sprintf("old/%d", i), nil)
			if err != nil || p == nil || string(p.Value) != fmt.Sprintf("v%d", i) {
				t.Fatalf("%s: old/%d = %+v, %v", when, i, p, err)
			}
		}
		sessions, _, err := c.Session().List(nil)
		if err != nil || len(sessions) != 1 {
			t.Fatalf("%s: sessions %v, %v", when, sessions, err)
		}
		if r := query(t, n, "udp", "_web._v1.service.consul.", dns.TypeSRV); len(r.Answer) != 1 {
			t.Fatalf("%s: web SRV: %d answers", when, len(r.Answer))
		}
	}

	p := start(t, n)
	check("old data dir")
	c := n.client(t)
	for i := range 5 {
		if _, err := c.KV().Put(&api.KVPair{Key: fmt.Sprintf("new/%d", i), Value: []byte("n")}, nil); err != nil {
			t.Fatal(err)
		}
	}
	p.kill()
	start(t, n)
	check("restart on the mixed log")
	if keys, _, err := n.client(t).KV().Keys("new/", "", nil); err != nil || len(keys) != 5 {
		t.Fatalf("new keys after the restart: %v, %v", keys, err)
	}
}
