package acl

import (
	"errors"
	"strings"
	"testing"
)

func mustParse(t *testing.T, rules string) *Policy {
	t.Helper()
	p, err := Parse(rules)
	if err != nil {
		t.Fatalf("Parse(%q): %v", rules, err)
	}
	return p
}

func TestParseForms(t *testing.T) {
	hclRules := `
key_prefix "app/" { policy = "write" }
key "app/secret" { policy = "deny" }
service_prefix "" { policy = "read" intentions = "read" }
node "n1" { policy = "write" }
operator = "read"
keyring = "write"
acl = "read"
`
	jsonRules := `{
  "key_prefix": {"app/": {"policy": "write"}},
  "key": {"app/secret": {"policy": "deny"}},
  "service_prefix": {"": {"policy": "read", "intentions": "read"}},
  "node": {"n1": {"policy": "write"}},
  "operator": "read", "keyring": "write", "acl": "read"
}`
	want := []Rule{
		{ResourceKey, "app/", true, AccessWrite},
		{ResourceKey, "app/secret", false, AccessDeny},
		{ResourceService, "", true, AccessRead},
		{ResourceNode, "n1", false, AccessWrite},
		{ResourceOperator, "", false, AccessRead},
		{ResourceKeyring, "", false, AccessWrite},
		{ResourceACL, "", false, AccessRead},
	}
	for name, rules := range map[string]string{"hcl": hclRules, "json": jsonRules} {
		p := mustParse(t, rules)
		if len(p.Rules) != len(want) {
			t.Fatalf("%s: %d rules, want %d: %+v", name, len(p.Rules), len(want), p.Rules)
		}
		got := map[Rule]bool{}
		for _, r := range p.Rules {
			got[r] = true
		}
		for _, r := range want {
			if !got[r] {
				t.Errorf("%s: missing rule %+v in %+v", name, r, p.Rules)
			}
		}
	}
}

func TestParseRefusesWithPosition(t *testing.T) {
	for _, tc := range []struct {
		rules      string
		line, col  int
		msgContain string
	}{
		{"key_prefix \"a\" { policy = \"read\" }\nkeyz \"b\" { policy = \"read\" }", 2, 1, "unknown resource"},
		{"key \"a\" {\n  policy = \"maybe\"\n}", 2, 12, "invalid policy"},
		{"service \"a\" { policy = \"list\" }", 1, 24, "invalid policy"},
		{"operator = \"list\"", 1, 12, "invalid policy"},
		{"key \"a\" { policy = read }", 1, 20, ""},
		{"key \"a\" {\n  policy = \"read\"\n", 3, 2, "RBRACE"},
		{"key \"a\" { polcy = \"read\" }", 1, 11, "unknown field"},
		{"key \"a\" { }", 1, 5, "no policy"},
		{"operator \"x\" = \"read\"", 1, 14, "nested object"},
		{"operator \"x\" { policy = \"read\" }", 1, 10, "takes no name"},
		{"key = \"read\"", 1, 1, "needs a name"},
		{`{"key": {"a": {"policy": "nope"}}}`, 1, 16, "invalid policy"},
		{"{\n \"bogus\": \"read\"\n}", 2, 2, "unknown resource"},
		{"service \"a\" { policy = \"read\" intentions = \"sideways\" }", 1, 0, "invalid policy"},
	} {
		_, err := Parse(tc.rules)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q) = %v, want a ParseError", tc.rules, err)
			continue
		}
		if pe.Line != tc.line || (tc.col != 0 && pe.Column != tc.col) || !strings.Contains(pe.Msg, tc.msgContain) {
			t.Errorf("Parse(%q) = %d:%d %q, want %d:%d containing %q", tc.rules, pe.Line, pe.Column, pe.Msg, tc.line, tc.col, tc.msgContain)
		}
		if !strings.Contains(pe.Error(), "line") {
			t.Errorf("error %q does not name the line", pe.Error())
		}
	}
}

func TestParseLimit(t *testing.T) {
	if _, err := Parse(strings.Repeat(" ", MaxRulesSize+1)); err == nil {
		t.Fatal("oversized rules accepted")
	}
	if p := mustParse(t, "  \n"); len(p.Rules) != 0 {
		t.Fatalf("empty rules gave %+v", p.Rules)
	}
}

func TestAuthorizerPrecedence(t *testing.T) {
	a := Compile(false, mustParse(t, `
key_prefix "" { policy = "read" }
key_prefix "app/" { policy = "write" }
key_prefix "app/private/" { policy = "deny" }
key "app/private/open" { policy = "read" }
key_prefix "list/" { policy = "list" }
service_prefix "web" { policy = "write" }
service "web-admin" { policy = "deny" }
session_prefix "" { policy = "write" }
event_prefix "deploy" { policy = "write" }
query "q1" { policy = "read" }
agent_prefix "" { policy = "read" }
node_prefix "" { policy = "read" }
operator = "read"
`), mustParse(t, `
key "app/x" { policy = "read" }
key "app/y" { policy = "deny" }
key "shared" { policy = "read" }
`), mustParse(t, `
key "app/y" { policy = "write" }
key "shared" { policy = "write" }
`))
	for _, tc := range []struct {
		res  Resource
		name string
		want Access
		ok   bool
	}{
		{ResourceKey, "other", AccessRead, true},
		{ResourceKey, "other", AccessWrite, false},
		{ResourceKey, "other", AccessList, false},
		{ResourceKey, "app/a", AccessWrite, true},           // longer prefix wins
		{ResourceKey, "app/private/k", AccessRead, false},   // longest prefix: deny
		{ResourceKey, "app/private/open", AccessRead, true}, // exact beats prefix
		{ResourceKey, "app/private/open", AccessWrite, false},
		{ResourceKey, "app/x", AccessWrite, false}, // exact read beats prefix write
		{ResourceKey, "app/y", AccessRead, false},  // deny wins between equal rules
		{ResourceKey, "shared", AccessWrite, true}, // otherwise the wider one
		{ResourceKey, "list/a", AccessList, true},
		{ResourceKey, "list/a", AccessRead, true},
		{ResourceKey, "list/a", AccessWrite, false},
		{ResourceService, "web", AccessWrite, true},
		{ResourceService, "web-admin", AccessRead, false},
		{ResourceService, "db", AccessRead, false}, // default deny
		{ResourceSession, "n1", AccessWrite, true},
		{ResourceEvent, "deploy-1", AccessWrite, true},
		{ResourceEvent, "other", AccessRead, false},
		{ResourceQuery, "q1", AccessRead, true},
		{ResourceQuery, "q2", AccessRead, false},
		{ResourceAgent, "n1", AccessRead, true},
		{ResourceNode, "n1", AccessWrite, false},
		{ResourceOperator, "", AccessRead, true},
		{ResourceOperator, "", AccessWrite, false},
		{ResourceKeyring, "", AccessRead, false},
		{ResourceACL, "", AccessRead, false},
	} {
		if got := a.Allowed(tc.res, tc.name, tc.want); got != tc.ok {
			t.Errorf("%s %q %s: allowed=%v, want %v (access %s)", tc.res, tc.name, tc.want, got, tc.ok, a.Access(tc.res, tc.name))
		}
	}
}

func TestAuthorizerDefaults(t *testing.T) {
	allow := Compile(true, mustParse(t, `key_prefix "secret/" { policy = "deny" }`))
	if !allow.Allowed(ResourceKey, "x", AccessWrite) || allow.Allowed(ResourceKey, "secret/a", AccessRead) {
		t.Error("default allow: rules must override the default only where they match")
	}
	if !allow.Allowed(ResourceOperator, "", AccessWrite) {
		t.Error("default allow grants operator")
	}
	if allow.Allowed(ResourceACL, "", AccessRead) || AllowAll().Allowed(ResourceACL, "", AccessRead) {
		t.Error("default allow must not grant acl rules (as Consul)")
	}
	if DenyAll().Allowed(ResourceKey, "", AccessRead) {
		t.Error("deny all grants read")
	}
	if !ManageAll().Allowed(ResourceACL, "", AccessWrite) || !ManageAll().Allowed(ResourceKey, "x", AccessWrite) {
		t.Error("management must grant everything")
	}
}

func TestPermissionDeniedWording(t *testing.T) {
	e := &PermissionDeniedError{AccessorID: "abc", Resource: ResourceKey, Access: AccessWrite, Name: "foo"}
	if got, want := e.Error(), `Permission denied: token with AccessorID 'abc' lacks permission 'key:write' on "foo"`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	e = &PermissionDeniedError{AccessorID: "abc", Resource: ResourceOperator, Access: AccessRead}
	if got, want := e.Error(), `Permission denied: token with AccessorID 'abc' lacks permission 'operator:read'`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	e = &PermissionDeniedError{AccessorID: AnonymousTokenID, Resource: ResourceACL, Access: AccessRead}
	if got, want := e.Error(), `Permission denied: anonymous token lacks permission 'acl:read'. The anonymous token is used implicitly when a request does not specify a token.`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func BenchmarkAuthorizerAccess(b *testing.B) {
	var sb strings.Builder
	for i := 0; i < 200; i++ {
		sb.WriteString(`key_prefix "app/` + string(rune('a'+i%26)) + strings.Repeat("x", i%7) + `/" { policy = "read" }` + "\n")
	}
	p, err := Parse(sb.String())
	if err != nil {
		b.Fatal(err)
	}
	a := Compile(false, p)
	b.ReportAllocs()
	for b.Loop() {
		a.Allowed(ResourceKey, "app/cxx/config/db", AccessRead)
	}
}
