package acl

import (
	"errors"
	"testing"
)

// FuzzParse: any input either parses into rules every check accepts, or is
// refused with a ParseError; nothing panics.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`key_prefix "a/" { policy = "write" }`,
		`{"key": {"a": {"policy": "read"}}, "operator": "read"}`,
		`operator = "read"` + "\n" + `service "web" { policy = "read" intentions = "deny" }`,
		`key "a" {`, `{"key_prefix": {"": {}}}`, "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, rules string) {
		p, err := Parse(rules)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T %v is not a ParseError", err, err)
			}
			return
		}
		a := Compile(false, p)
		for _, r := range p.Rules {
			if r.Access == AccessUnset || r.Resource >= numResources {
				t.Fatalf("rule %+v out of range", r)
			}
			a.Access(r.Resource, r.Name)
		}
	})
}
