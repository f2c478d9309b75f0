package checks

import (
	"strings"
	"testing"

	"github.com/coredns-coord/coredns-coord/structs"
)

func TestStatusHandler(t *testing.T) {
	const (
		P = structs.HealthPassing
		W = structs.HealthWarning
		C = structs.HealthCritical
		_ = ""
	)
	cases := []struct {
		name                string
		success, warn, crit int
		in                  []string
		want                []string // what each input reports, "" for nothing
	}{
		{"no thresholds", 0, 0, 0,
			[]string{P, W, C, P, C, C}, []string{P, W, C, P, C, C}},
		{"one is the same as none", 1, 1, 1,
			[]string{P, C, W}, []string{P, C, W}},
		{"success before passing 3", 3, 0, 0,
			[]string{P, P, P, P, C, P, P, W}, []string{"", "", P, P, C, "", "", W}},
		{"a failure resets the successes", 2, 0, 0,
			[]string{P, C, P, P}, []string{"", C, "", P}},
		{"failures before critical 2, warning defaults to it", 0, 0, 2,
			[]string{C, C, C, P, C, C}, []string{"", C, C, P, "", C}},
		{"warning after 1, critical after 3", 0, 1, 3,
			[]string{C, C, C, C, P, C}, []string{W, W, C, C, P, W}},
		{"warning after 2, critical after 3", 0, 2, 3,
			[]string{C, C, C, W, C, C}, []string{"", W, C, W, "", W}},
		{"warning threshold above critical never warns", 0, 5, 2,
			[]string{C, C, C}, []string{"", C, C}},
		{"a success resets the failures", 0, 0, 2,
			[]string{C, P, C, C}, []string{"", P, "", C}},
		{"both ways", 2, 0, 2,
			[]string{C, C, P, P, C, P, C, C}, []string{"", C, "", P, "", "", "", C}},
	}
	for _, tc := range cases {
		var got []string
		var reported string
		h := newThresholds(tc.success, tc.warn, tc.crit, func(status, output string) {
			reported = status
			if output != "out" {
				t.Errorf("%s: output %q", tc.name, output)
			}
		})
		for _, in := range tc.in {
			reported = ""
			h.update(in, "out")
			got = append(got, reported)
		}
		if strings.Join(got, ",") != strings.Join(tc.want, ",") {
			t.Errorf("%s:\n in   %v\n got  %v\n want %v", tc.name, tc.in, got, tc.want)
		}
	}
}
