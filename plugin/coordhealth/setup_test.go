package coordhealth

import (
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"

	"github.com/coredns-coord/coredns-coord/agent"
)

func TestParse(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		input   string
		wantErr string
		check   func(t *testing.T, hc agent.HealthConfig)
	}{
		{input: "coordhealth", check: func(t *testing.T, hc agent.HealthConfig) {
			if hc.CheckUpdateInterval != 5*time.Minute || hc.EnableScripts || len(hc.ConfigDirs) != 0 {
				t.Fatalf("defaults = %+v", hc)
			}
		}},
		{input: "coordhealth {\n config_dir " + dir + " " + dir + "\n config_dir " + dir + "\n enable_local_script_checks\n check_update_interval 0s\n}",
			check: func(t *testing.T, hc agent.HealthConfig) {
				if len(hc.ConfigDirs) != 3 || !hc.EnableLocalScripts || hc.EnableScripts || hc.CheckUpdateInterval != 0 {
					t.Fatalf("parsed = %+v", hc)
				}
			}},
		{input: "coordhealth {\n enable_script_checks\n}", check: func(t *testing.T, hc agent.HealthConfig) {
			if !hc.EnableScripts {
				t.Fatal("enable_script_checks not set")
			}
		}},
		{input: "coordhealth {\n config_dir /nonexistent/coordhealth\n}", wantErr: "no such file"},
		{input: "coordhealth {\n config_dir " + dir + "/\x00\n}", wantErr: "config_dir"},
		{input: "coordhealth {\n config_dir\n}", wantErr: "Wrong argument count"},
		{input: "coordhealth {\n enable_script_checks yes\n}", wantErr: "Wrong argument count"},
		{input: "coordhealth {\n check_update_interval soon\n}", wantErr: "check_update_interval"},
		{input: "coordhealth {\n check_update_interval -1s\n}", wantErr: "check_update_interval"},
		{input: "coordhealth {\n intervall 1s\n}", wantErr: `unknown property "intervall"`},
		{input: "coordhealth extra", wantErr: "Wrong argument count"},
		{input: "coordhealth\ncoordhealth", wantErr: "only once"},
	}
	for _, tc := range tests {
		hc, err := parse(caddy.NewTestController("dns", tc.input))
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: error %v, want %q", tc.input, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.input, err)
			continue
		}
		tc.check(t, hc)
	}
}

// FuzzSetup: any block is parsed or refused, never a panic.
func FuzzSetup(f *testing.F) {
	f.Add("coordhealth {\n config_dir /tmp\n enable_script_checks\n}")
	f.Add("coordhealth {\n check_update_interval 1m\n enable_local_script_checks\n}")
	f.Fuzz(func(t *testing.T, input string) {
		parse(caddy.NewTestController("dns", input))
	})
}
