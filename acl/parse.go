package acl

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/hashicorp/hcl"
	"github.com/hashicorp/hcl/hcl/ast"
	"github.com/hashicorp/hcl/hcl/parser"
	"github.com/hashicorp/hcl/hcl/token"
)

// MaxRulesSize bounds a policy's rules, as Consul bounds a request body:
// a larger policy is refused before it is parsed.
const MaxRulesSize = 256 * 1024

// ParseError is a rule that does not parse: where, and why.
type ParseError struct {
	Line, Column int
	Msg          string
}

func (e *ParseError) Error() string {
	if e.Line == 0 {
		return "invalid rules: " + e.Msg
	}
	return fmt.Sprintf("invalid rules at line %d, column %d: %s", e.Line, e.Column, e.Msg)
}

// resourceWords maps a rule's keyword to its resource and whether it is
// the prefix form.
var resourceWords = func() map[string]struct {
	res    Resource
	prefix bool
} {
	m := map[string]struct {
		res    Resource
		prefix bool
	}{}
	for r := Resource(0); r < numResources; r++ {
		m[r.String()] = struct {
			res    Resource
			prefix bool
		}{r, false}
		if r.named() {
			m[r.String()+"_prefix"] = struct {
				res    Resource
				prefix bool
			}{r, true}
		}
	}
	return m
}()

// Parse reads rules in HCL or JSON (JSON when the first character that is
// not white space is "{"). Empty rules are a policy that grants nothing.
func Parse(rules string) (*Policy, error) {
	if len(rules) > MaxRulesSize {
		return nil, &ParseError{Msg: fmt.Sprintf("rules are %d bytes, over the limit of %d", len(rules), MaxRulesSize)}
	}
	p := &Policy{}
	if strings.TrimSpace(rules) == "" {
		return p, nil
	}
	if strings.HasPrefix(strings.TrimSpace(rules), "{") {
		if err := checkJSON(rules); err != nil {
			return nil, err
		}
	}
	f, err := parseHCL(rules)
	if err != nil {
		return nil, err
	}
	list, ok := f.Node.(*ast.ObjectList)
	if !ok {
		return nil, &ParseError{Msg: "rules must be an object"}
	}
	ps := &ruleParser{src: rules, policy: p}
	for _, item := range list.Items {
		if err := ps.item(keysOf(item), item.Val); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// parseHCL parses with HCL v1, whose scanners panic on some malformed
// input (found by fuzzing): a panic is a syntax error too.
func parseHCL(rules string) (f *ast.File, perr *ParseError) {
	defer func() {
		if p := recover(); p != nil {
			f, perr = nil, &ParseError{Msg: fmt.Sprintf("malformed rules (%v)", p)}
		}
	}()
	f, err := hcl.Parse(rules)
	if err != nil {
		return nil, syntaxError(err)
	}
	return f, nil
}

// checkJSON refuses malformed JSON with its position before HCL's JSON
// parser, which is lax and keeps no positions, sees it.
func checkJSON(rules string) *ParseError {
	var v any
	err := json.Unmarshal([]byte(rules), &v)
	if err == nil {
		return nil
	}
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		return &ParseError{Msg: err.Error()}
	}
	off := int(se.Offset)
	off = min(max(off-1, 0), len(rules))
	return &ParseError{
		Line:   strings.Count(rules[:off], "\n") + 1,
		Column: off - strings.LastIndex(rules[:off], "\n"),
		Msg:    se.Error(),
	}
}

// syntaxError turns an HCL error into a ParseError with its position.
func syntaxError(err error) *ParseError {
	var pe *parser.PosError
	if errors.As(err, &pe) {
		return &ParseError{Line: pe.Pos.Line, Column: pe.Pos.Column, Msg: pe.Err.Error()}
	}
	return &ParseError{Msg: err.Error()}
}

type ruleParser struct {
	src    string
	policy *Policy
}

type key struct {
	text string
	pos  token.Pos
}

func keysOf(item *ast.ObjectItem) []key {
	ks := make([]key, len(item.Keys))
	for i, k := range item.Keys {
		text := k.Token.Text
		if k.Token.Type == token.STRING {
			if v, ok := k.Token.Value().(string); ok {
				text = v
			}
		}
		ks[i] = key{text: text, pos: k.Pos()}
	}
	return ks
}

// errorAt is a ParseError at k. The JSON parser keeps no positions; then
// the first occurrence of the quoted key in the source stands for it.
func (ps *ruleParser) errorAt(k key, format string, args ...any) *ParseError {
	e := &ParseError{Line: k.pos.Line, Column: k.pos.Column, Msg: fmt.Sprintf(format, args...)}
	if !k.pos.IsValid() {
		if i := strings.Index(ps.src, `"`+k.text+`"`); i >= 0 {
			e.Line = strings.Count(ps.src[:i], "\n") + 1
			e.Column = i - strings.LastIndex(ps.src[:i], "\n")
		}
	}
	return e
}

// item parses one top-level item: keys are the resource word and, for a
// named resource, its name (the JSON form nests the name one level down).
func (ps *ruleParser) item(keys []key, val ast.Node) error {
	word, ok := resourceWords[keys[0].text]
	if !ok {
		return ps.errorAt(keys[0], "unknown resource %q", keys[0].text)
	}
	if !word.res.named() {
		if len(keys) != 1 {
			return ps.errorAt(keys[1], "%s takes no name", keys[0].text)
		}
		access, err := ps.access(keys[0], val, word.res)
		if err != nil {
			return err
		}
		ps.policy.Rules = append(ps.policy.Rules, Rule{Resource: word.res, Access: access})
		return nil
	}
	obj, ok := val.(*ast.ObjectType)
	if !ok {
		return ps.errorAt(keys[0], "%s needs a name and a block: %s \"name\" { policy = \"read\" }", keys[0].text, keys[0].text)
	}
	switch len(keys) {
	case 1: // key_prefix { "name" { ... } } and the JSON form
		for _, sub := range obj.List.Items {
			if err := ps.item(append([]key{keys[0]}, keysOf(sub)...), sub.Val); err != nil {
				return err
			}
		}
		return nil
	case 2:
		access, err := ps.block(keys[1], obj, word.res)
		if err != nil {
			return err
		}
		ps.policy.Rules = append(ps.policy.Rules, Rule{Resource: word.res, Name: keys[1].text, Prefix: word.prefix, Access: access})
		return nil
	}
	return ps.errorAt(keys[2], "%s takes one name", keys[0].text)
}

// block reads { policy = "..." [intentions = "..."] }.
func (ps *ruleParser) block(name key, obj *ast.ObjectType, res Resource) (Access, error) {
	access := AccessUnset
	for _, field := range obj.List.Items {
		fk := keysOf(field)
		if len(fk) != 1 {
			return 0, ps.errorAt(fk[0], "unexpected block %q", fk[0].text)
		}
		switch fk[0].text {
		case "policy":
			a, err := ps.access(fk[0], field.Val, res)
			if err != nil {
				return 0, err
			}
			access = a
		case "intentions":
			// Service mesh intentions: checked, not used (no mesh).
			if res != ResourceService {
				return 0, ps.errorAt(fk[0], "intentions apply only to service rules")
			}
			if _, err := ps.access(fk[0], field.Val, ResourceService); err != nil {
				return 0, err
			}
		default:
			return 0, ps.errorAt(fk[0], "unknown field %q (want policy)", fk[0].text)
		}
	}
	if access == AccessUnset {
		return 0, ps.errorAt(name, "rule for %q has no policy", name.text)
	}
	return access, nil
}

// access reads a policy word; list is a key rule's only.
func (ps *ruleParser) access(k key, val ast.Node, res Resource) (Access, error) {
	lit, ok := val.(*ast.LiteralType)
	if !ok || lit.Token.Type != token.STRING {
		return 0, ps.errorAt(k, "%s: want a quoted policy (read, write, deny)", k.text)
	}
	word, _ := lit.Token.Value().(string)
	a, ok := accessWords[word]
	if !ok || (a == AccessList && res != ResourceKey) {
		if pos := lit.Pos(); pos.IsValid() {
			k.pos = pos
		}
		return 0, ps.errorAt(k, "invalid policy %q for %s", word, res)
	}
	return a, nil
}
