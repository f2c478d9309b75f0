package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// validate, in-process: a good Corefile with its definition files passes
// and binds nothing; a broken option, a broken definition file and a
// missing file fail with the place named.
func TestValidateCorefile(t *testing.T) {
	f := newCorefile(t)
	good := filepath.Join(t.TempDir(), "Corefile")
	if err := os.WriteFile(good, f.input().Body(), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := runValidate([]string{"-conf", good}, &out, &errb); code != 0 || out.String() != "Configuration is valid!\n" {
		t.Fatalf("good Corefile: exit %d, %q %q", code, out.String(), errb.String())
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(f.http))
	if err != nil {
		t.Fatalf("validate left the HTTP port bound: %v", err)
	}
	l.Close()

	f.extra = "log_level CHATTY"
	bad := filepath.Join(t.TempDir(), "Corefile")
	os.WriteFile(bad, f.input().Body(), 0o600)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{bad}, bad + `:9 - Error during parsing: log_level: unknown log level "CHATTY"`},
		{[]string{"-conf", filepath.Join(t.TempDir(), "nope")}, "no such file or directory"},
		{[]string{}, "validate takes one Corefile"},
		{[]string{"-conf", good, "extra"}, "validate takes one Corefile"},
	} {
		out.Reset()
		errb.Reset()
		if code := runValidate(tc.args, &out, &errb); code != 1 || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("%v: exit %d, %q; want %q", tc.args, code, errb.String(), tc.want)
		}
	}

	broken := filepath.Join(f.configDir, "broken.hcl")
	os.WriteFile(broken, []byte(`service { name = `), 0o600)
	errb.Reset()
	if code := runValidate([]string{good}, &out, &errb); code != 1 || !strings.Contains(errb.String(), broken) {
		t.Errorf("broken definition file: exit %d, %q", code, errb.String())
	}
}
