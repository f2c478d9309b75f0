package definition

import (
	"testing"
)

// FuzzParse feeds Parse arbitrary files in both formats. It must never
// panic, and whatever it accepts must be usable: services with names and
// ports in range, checks that pass Validate, standalone checks with IDs.
func FuzzParse(f *testing.F) {
	for _, tc := range validCases {
		f.Add(false, []byte(tc.json))
		f.Add(true, []byte(tc.hcl))
	}
	for _, tc := range errorCases {
		f.Add(tc.name[len(tc.name)-4:] == ".hcl", []byte(tc.src))
	}
	f.Fuzz(func(t *testing.T, isHCL bool, data []byte) {
		name := "fuzz.json"
		if isHCL {
			name = "fuzz.hcl"
		}
		set, err := Parse(name, data)
		if err != nil {
			if set != nil {
				t.Fatalf("error %v with a set", err)
			}
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T is not an *Error: %v", err, err)
			}
			return
		}
		ids := map[string]bool{}
		for _, svc := range set.Services {
			if svc.Name == "" {
				t.Fatalf("accepted a service without a name: %s", jsonString(svc))
			}
			if svc.Port < 0 || svc.Port > 65535 {
				t.Fatalf("accepted port %d", svc.Port)
			}
			if w := svc.Weights; w != nil && (w.Passing < 1 || w.Warning < 0) {
				t.Fatalf("accepted weights %+v", *w)
			}
			if ids[svc.ServiceID()] {
				t.Fatalf("accepted service ID %q twice", svc.ServiceID())
			}
			ids[svc.ServiceID()] = true
			for _, c := range svc.CheckTypes() {
				if err := c.Validate(); err != nil {
					t.Fatalf("accepted an invalid service check: %v: %s", err, jsonString(c))
				}
			}
		}
		clear(ids)
		for _, c := range set.Checks {
			if c.ID == "" || c.Name == "" || c.CheckID != c.ID {
				t.Fatalf("accepted a check with ID %q, CheckID %q, Name %q", c.ID, c.CheckID, c.Name)
			}
			if ids[c.ID] {
				t.Fatalf("accepted check ID %q twice", c.ID)
			}
			ids[c.ID] = true
			if err := c.Validate(); err != nil {
				t.Fatalf("accepted an invalid check: %v: %s", err, jsonString(c))
			}
		}
	})
}
