package definition

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/hashicorp/hcl"
	"github.com/hashicorp/hcl/hcl/ast"
	hclparser "github.com/hashicorp/hcl/hcl/parser"

	"github.com/coredns-coord/coredns-coord/structs"
)

// A file is first decoded into a generic value: from JSON (with UseNumber)
// map[string]any, []any, string, json.Number, bool and nil; from HCL also
// int, float64 and []map[string]any, HCL's form for blocks ("check { ... }"
// is a list of one object, "services { ... }" twice a list of two). The
// walker below then fills the typed structs, field by field, carrying the
// field's path for errors.

// fieldError is a problem at a field path; parse adds the file name.
type fieldError struct {
	path string
	err  error
}

func errAt(path, format string, a ...any) *fieldError {
	return &fieldError{path: path, err: fmt.Errorf(format, a...)}
}

// decodeJSON decodes a JSON file, which must hold one object.
func decodeJSON(name string, data []byte) (map[string]any, *Error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		var se *json.SyntaxError
		switch {
		case errors.As(err, &se):
			// Offset counts the bytes read up to and including the bad one.
			return nil, syntaxError(name, data, max(se.Offset-1, 0), se.Error())
		case errors.Is(err, io.EOF):
			return nil, syntaxError(name, data, len64(data), "empty file; expected a JSON object")
		case errors.Is(err, io.ErrUnexpectedEOF):
			return nil, syntaxError(name, data, len64(data), "unexpected end of JSON input")
		default:
			return nil, &Error{File: name, Err: err}
		}
	}
	off := dec.InputOffset()
	rest := data[off:]
	if trimmed := bytes.TrimLeft(rest, " \t\r\n"); len(trimmed) > 0 {
		off += int64(len(rest) - len(trimmed))
		return nil, syntaxError(name, data, off, "unexpected data after the top-level object")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, &Error{File: name, Err: fmt.Errorf("expected an object at the top level, got %s", describe(v))}
	}
	return m, nil
}

func len64(b []byte) int64 { return int64(len(b)) }

// syntaxError reports a problem at a byte offset as line:column (1-based,
// columns in bytes).
func syntaxError(name string, data []byte, off int64, msg string) *Error {
	off = min(off, len64(data))
	before := data[:off]
	line := 1 + bytes.Count(before, []byte{'\n'})
	col := int(off) - bytes.LastIndexByte(before, '\n')
	return &Error{File: name, Line: line, Column: col, Err: errors.New(msg)}
}

// decodeHCL decodes an HCL file. Like hcl.Decode, it reads a file whose
// first non-space character is '{' as JSON, but with encoding/json: hcl's
// own JSON scanner panics on some malformed escapes.
func decodeHCL(name string, data []byte) (m map[string]any, e *Error) {
	if bytes.HasPrefix(bytes.TrimLeftFunc(data, unicode.IsSpace), []byte("{")) {
		return decodeJSON(name, data)
	}
	if err := checkHCLNesting(name, data); err != nil {
		return nil, err
	}
	// hcl v1 is no longer maintained; a panic in it must not take the
	// agent down with it.
	defer func() {
		if r := recover(); r != nil {
			m, e = nil, &Error{File: name, Err: fmt.Errorf("cannot parse HCL (parser failure: %v)", r)}
		}
	}()
	file, err := hclparser.Parse(data)
	if err == nil {
		err = checkHCLKeys(name, file)
	}
	if err == nil {
		err = hcl.DecodeObject(&m, file)
	}
	if err != nil {
		var de *Error
		if errors.As(err, &de) {
			return nil, de
		}
		var pe *hclparser.PosError
		if errors.As(err, &pe) && pe.Pos.IsValid() {
			line, col, msg := innermostHCLError(pe.Pos.Line, pe.Pos.Column, pe.Err.Error())
			return nil, &Error{File: name, Line: line, Column: col, Err: errors.New(truncate(msg))}
		}
		return nil, &Error{File: name, Err: errors.New(truncate(err.Error()))}
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// maxHCLNesting bounds how deeply brackets and braces nest in an HCL file.
// Definition files need about 6 levels; hcl v1 nests its error messages
// level by level, so that time and memory grow with the square of the
// depth (100,000 '[' take minutes and gigabytes).
const maxHCLNesting = 100

// checkHCLNesting refuses a file nested deeper than maxHCLNesting. It
// skips strings and comments; brackets in heredocs count, which can only
// make it stricter.
func checkHCLNesting(name string, data []byte) *Error {
	depth := 0
	for i := 0; i < len(data); i++ {
		switch c := data[i]; c {
		case '"':
			for i++; i < len(data) && data[i] != '"' && data[i] != '\n'; i++ {
				if data[i] == '\\' {
					i++
				}
			}
		case '#':
			for i < len(data) && data[i] != '\n' {
				i++
			}
		case '/':
			switch {
			case i+1 < len(data) && data[i+1] == '/':
				for i < len(data) && data[i] != '\n' {
					i++
				}
			case i+1 < len(data) && data[i+1] == '*':
				end := bytes.Index(data[i+2:], []byte("*/"))
				if end < 0 {
					return nil // unterminated: the parser reports it
				}
				i += 2 + end + 1
			}
		case '[', '{':
			if depth++; depth > maxHCLNesting {
				return syntaxError(name, data, int64(i), fmt.Sprintf("nested more than %d levels deep", maxHCLNesting))
			}
		case ']', '}':
			depth--
		}
	}
	return nil
}

// checkHCLKeys refuses an item with more than maxHCLNesting keys
// ("a b c { }" is a nested in b nested in c): hcl's decoder expands them
// into nested objects with the square of the count in time and memory.
func checkHCLKeys(name string, file *ast.File) error {
	var err error
	ast.Walk(file.Node, func(n ast.Node) (ast.Node, bool) {
		if item, ok := n.(*ast.ObjectItem); ok && len(item.Keys) > maxHCLNesting && err == nil {
			pos := item.Keys[0].Pos()
			err = &Error{File: name, Line: pos.Line, Column: pos.Column,
				Err: fmt.Errorf("more than %d keys before one value", maxHCLNesting)}
		}
		return n, err == nil
	})
	return err
}

// truncate shortens a parser message that quotes a long stretch of input.
func truncate(msg string) string {
	const limit = 200
	if len(msg) <= limit {
		return msg
	}
	return strings.ToValidUTF8(msg[:limit], "") + "..."
}

// hclPosition is the "At line:col: " hcl puts before a nested error.
var hclPosition = regexp.MustCompile(`At (\d+):(\d+): `)

// innermostHCLError digs the innermost error and its position out of a
// message that hcl nested as text ("error while trying to parse list
// within list: At 1:7: ...").
func innermostHCLError(line, col int, msg string) (int, int, string) {
	locs := hclPosition.FindAllStringSubmatchIndex(msg, -1)
	if len(locs) == 0 {
		return line, col, msg
	}
	last := locs[len(locs)-1]
	l, err1 := strconv.Atoi(msg[last[2]:last[3]])
	c, err2 := strconv.Atoi(msg[last[4]:last[5]])
	if err1 != nil || err2 != nil {
		return line, col, msg
	}
	return l, c, msg[last[1]:]
}

// canonical is a field name as matched: lower case without underscores, so
// that the file name (deregister_critical_service_after) and the API name
// (DeregisterCriticalServiceAfter) are one field.
func canonical(key string) string {
	return strings.ToLower(strings.ReplaceAll(key, "_", ""))
}

// Check field aliases, by canonical name.
var checkAliases = map[string]string{
	"checkid":    "id",
	"scriptargs": "args",
}

// Fields Consul knows that we do not implement, with the reason.
var (
	serviceUnsupported = map[string]string{
		"connect":         "Connect is not supported",
		"proxy":           "Connect proxies are not supported",
		"taggedaddresses": "tagged addresses are not supported",
		"socketpath":      "unix socket services are not supported",
		"token":           "per-service ACL tokens are not supported",
		"namespace":       "Consul Enterprise namespaces are not supported",
		"partition":       "Consul Enterprise admin partitions are not supported",
		"locality":        "service locality is not supported",
	}
	checkUnsupported = map[string]string{
		"script":       "removed in Consul 1.1; use args",
		"h2ping":       "H2 ping checks are not supported",
		"h2pingusetls": "H2 ping checks are not supported",
		"udp":          "UDP checks are not supported",
		"osservice":    "OS service checks are not supported",
		"namespace":    "Consul Enterprise namespaces are not supported",
		"partition":    "Consul Enterprise admin partitions are not supported",
	}
)

// agentConfigKeys are Consul agent configuration keys (canonical), which
// Consul reads from the same files but we take from the Corefile.
var agentConfigKeys = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range strings.Fields(`
		acl acl_datacenter acl_default_policy acl_down_policy acl_enforce_version_8
		acl_master_token acl_replication_token acl_token acl_ttl addresses
		advertise_addr advertise_addr_ipv4 advertise_addr_ipv6 advertise_addr_wan
		advertise_addr_wan_ipv4 advertise_addr_wan_ipv6 advertise_reconnect_timeout
		alt_domain audit auto_config auto_encrypt auto_reload_config autopilot
		bind_addr bootstrap bootstrap_expect ca_file ca_path cert_file
		check_output_max_size check_update_interval client_addr cloud config_entries
		connect data_dir datacenter default_query_time disable_anonymous_signature
		disable_coordinates disable_host_node_id disable_http_unprintable_char_filter
		disable_keyring_file disable_remote_exec disable_update_check
		discard_check_output discovery_max_stale dns_config domain
		enable_acl_replication enable_agent_tls_for_checks enable_central_service_config
		enable_debug enable_local_script_checks enable_script_checks enable_syslog
		encrypt encrypt_verify_incoming encrypt_verify_outgoing experiments
		http_config key_file leave_on_terminate license_path limits log_file
		log_json log_level log_rotate_bytes log_rotate_duration log_rotate_max_files
		max_query_time node_id node_meta node_name peering performance pid_file
		ports primary_datacenter primary_gateways raft_protocol
		raft_snapshot_interval raft_snapshot_threshold raft_trailing_logs
		read_replica reconnect_timeout reconnect_timeout_wan recursors
		rejoin_after_leave reporting retry_interval retry_interval_wan retry_join
		retry_join_wan retry_max retry_max_wan rpc segment segments serf_lan
		serf_wan server server_name session_ttl_min skip_leave_on_interrupt
		start_join start_join_wan syslog_facility telemetry tls
		translate_wan_addrs ui ui_config ui_dir unix_sockets verify_incoming
		verify_incoming_https verify_incoming_rpc verify_outgoing
		verify_server_hostname watches xds`) {
		m[canonical(k)] = true
	}
	return m
}()

// eachField calls f for each field of the object at path, in sorted key
// order, with the field's path, its canonical name (after aliases) and its
// value; f reports whether it knows the field. A field given twice under
// different spellings ("name" and "Name", "args" and "ScriptArgs") is an
// error, and so is a field f does not know: one in unsupported with its
// reason, any other as unknown (hint, if any, is added).
func eachField(path string, m map[string]any, aliases, unsupported map[string]string, hint string,
	f func(path, key string, v any) (bool, *fieldError)) *fieldError {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	seen := make(map[string]string, len(keys))
	for _, k := range keys {
		c := canonical(k)
		if a, ok := aliases[c]; ok {
			c = a
		}
		p := join(path, k)
		if prev, dup := seen[c]; dup {
			return errAt(p, "same field as %q; give it once", prev)
		}
		seen[c] = k
		known, err := f(p, c, m[k])
		if err != nil {
			return err
		}
		if !known {
			if why, ok := unsupported[c]; ok {
				return errAt(p, "not supported: %s", why)
			}
			if _, block := m[k].([]map[string]any); block && hint == "" {
				// service "web" { ... } decodes as a field "web" of service.
				hint = " (or an HCL block label, which definition files do not use)"
			}
			return errAt(p, "unknown field%s", hint)
		}
	}
	return nil
}

// join is the path of a key under parent: parent.key, or parent["key"]
// when the key is not a plain name.
func join(parent, key string) string {
	if !isPlain(key) {
		return parent + "[" + strconv.Quote(key) + "]"
	}
	if parent == "" {
		return key
	}
	return parent + "." + key
}

func index(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}

func isPlain(key string) bool {
	if key == "" {
		return false
	}
	for _, r := range key {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// describe names a generic value's type for messages.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number, int, int64, float64:
		return "a number"
	case []any:
		if len(x) == 0 {
			return "an empty list"
		}
		return "a list"
	case []map[string]any:
		if len(x) == 0 {
			return "an empty list"
		}
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("a %T", v)
}

// Scalars. A null (JSON) is the zero value: the field is not set.

func str(path string, v any) (string, *fieldError) {
	switch x := v.(type) {
	case nil:
		return "", nil
	case string:
		return x, nil
	}
	return "", errAt(path, "expected a string, got %s", describe(v))
}

func boolean(path string, v any) (bool, *fieldError) {
	switch x := v.(type) {
	case nil:
		return false, nil
	case bool:
		return x, nil
	}
	return false, errAt(path, "expected true or false, got %s", describe(v))
}

func integer(path string, v any) (int, *fieldError) {
	var (
		n   int64
		ok  bool
		txt string
	)
	switch x := v.(type) {
	case nil:
		return 0, nil
	case int:
		return x, nil
	case int64:
		n, ok = x, true
	case float64:
		n, ok = integral(x)
		txt = strconv.FormatFloat(x, 'g', -1, 64)
	case json.Number:
		txt = string(x)
		if i, err := strconv.ParseInt(txt, 10, 64); err == nil {
			n, ok = i, true
		} else if f, err := strconv.ParseFloat(txt, 64); err == nil {
			n, ok = integral(f)
		}
	default:
		return 0, errAt(path, "expected an integer, got %s", describe(v))
	}
	if !ok || int64(int(n)) != n {
		return 0, errAt(path, "expected an integer, got %s", txt)
	}
	return int(n), nil
}

// integral is f as an int64 if it is a whole number in range.
func integral(f float64) (int64, bool) {
	if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
		return 0, false
	}
	return int64(f), true
}

func duration(path string, v any) (structs.Duration, *fieldError) {
	switch x := v.(type) {
	case nil:
		return 0, nil
	case string:
		if x == "" {
			return 0, nil
		}
		d, err := time.ParseDuration(x)
		if err != nil {
			return 0, errAt(path, "invalid duration %q", x)
		}
		return structs.Duration(d), nil
	}
	return 0, errAt(path, "expected a duration string such as \"10s\", got %s", describe(v))
}

func stringList(path string, v any) ([]string, *fieldError) {
	var list []any
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []any:
		list = x
	default:
		return nil, errAt(path, "expected a list of strings, got %s", describe(v))
	}
	if len(list) == 0 {
		return nil, nil
	}
	out := make([]string, len(list))
	for i, e := range list {
		s, ok := e.(string)
		if !ok {
			return nil, errAt(index(path, i), "expected a string, got %s", describe(e))
		}
		out[i] = s
	}
	return out, nil
}

// object is an object-valued field. HCL gives a block as a list of one
// object, which stands for the object; more than one is an error (hint
// says what to write instead).
func object(path string, v any, hint string) (map[string]any, *fieldError) {
	var n int
	switch x := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return x, nil
	case []map[string]any:
		if len(x) == 1 {
			return x[0], nil
		}
		n = len(x)
	case []any:
		if len(x) == 1 {
			if m, ok := x[0].(map[string]any); ok {
				return m, nil
			}
		}
		n = len(x)
		for _, e := range x {
			if _, ok := e.(map[string]any); !ok {
				n = 0
			}
		}
	}
	if n > 1 {
		return nil, errAt(path, "given %d times; it takes one object%s", n, hint)
	}
	return nil, errAt(path, "expected an object, got %s", describe(v))
}

// objectList is a field holding a list of objects.
func objectList(path string, v any) ([]map[string]any, *fieldError) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []map[string]any:
		return x, nil
	case []any:
		out := make([]map[string]any, len(x))
		for i, e := range x {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, errAt(index(path, i), "expected an object, got %s", describe(e))
			}
			out[i] = m
		}
		return out, nil
	}
	return nil, errAt(path, "expected a list of objects, got %s", describe(v))
}

// stringMap is user data: keys as written, string values.
func stringMap(path string, v any) (map[string]string, *fieldError) {
	m, err := object(path, v, "")
	if err != nil || len(m) == 0 {
		return nil, err
	}
	out := make(map[string]string, len(m))
	for k, e := range m {
		s, ok := e.(string)
		if !ok {
			return nil, errAt(join(path, k), "expected a string, got %s", describe(e))
		}
		out[k] = s
	}
	return out, nil
}

// header is an HTTP check's header: names as written, lists of values.
func header(path string, v any) (map[string][]string, *fieldError) {
	m, err := object(path, v, "")
	if err != nil || len(m) == 0 {
		return nil, err
	}
	out := make(map[string][]string, len(m))
	for k, e := range m {
		if e == nil {
			return nil, errAt(join(path, k), "expected a list of strings, got null")
		}
		vals, err := stringList(join(path, k), e)
		if err != nil {
			return nil, err
		}
		out[k] = vals
	}
	return out, nil
}

// decodeFile walks a decoded file.
func decodeFile(root map[string]any) (*parsed, *fieldError) {
	type entry struct {
		path string
		v    any
	}
	var service, services, check, checks entry
	err := eachField("", root, nil, nil, " (a definition file holds service, services, check and checks)",
		func(path, key string, v any) (bool, *fieldError) {
			switch key {
			case "service":
				service = entry{path, v}
			case "services":
				services = entry{path, v}
			case "check":
				check = entry{path, v}
			case "checks":
				checks = entry{path, v}
			default:
				if agentConfigKeys[key] {
					return true, errAt(path, "Consul agent configuration does not belong in a definition file; configure the agent in the Corefile")
				}
				return false, nil
			}
			return true, nil
		})
	if err != nil {
		return nil, err
	}

	p := &parsed{set: &Set{}}
	addService := func(path string, v any) *fieldError {
		svc, err := decodeService(path, v)
		if err != nil {
			return err
		}
		p.set.Services = append(p.set.Services, svc)
		p.servicePaths = append(p.servicePaths, path)
		return nil
	}
	addCheck := func(path string, v any) *fieldError {
		chk, err := decodeCheck(path, v, true)
		if err != nil {
			return err
		}
		p.set.Checks = append(p.set.Checks, chk)
		p.checkPaths = append(p.checkPaths, path)
		return nil
	}
	if service.v != nil {
		m, err := object(service.path, service.v, `; declare several services with "services"`)
		if err != nil {
			return nil, err
		}
		if err := addService(service.path, m); err != nil {
			return nil, err
		}
	}
	list, err := objectList(services.path, services.v)
	if err != nil {
		return nil, err
	}
	for i, m := range list {
		if err := addService(index(services.path, i), m); err != nil {
			return nil, err
		}
	}
	if check.v != nil {
		m, err := object(check.path, check.v, `; declare several checks with "checks"`)
		if err != nil {
			return nil, err
		}
		if err := addCheck(check.path, m); err != nil {
			return nil, err
		}
	}
	list, err = objectList(checks.path, checks.v)
	if err != nil {
		return nil, err
	}
	for i, m := range list {
		if err := addCheck(index(checks.path, i), m); err != nil {
			return nil, err
		}
	}

	// The same ID twice in one file is a mistake, as across files.
	seen := map[string]string{}
	for i, svc := range p.set.Services {
		id := svc.ServiceID()
		if prev, dup := seen[id]; dup {
			return nil, errAt(p.servicePaths[i], "service ID %q is already declared at %s", id, prev)
		}
		seen[id] = p.servicePaths[i]
	}
	clear(seen)
	for i, chk := range p.set.Checks {
		if prev, dup := seen[chk.ID]; dup {
			return nil, errAt(p.checkPaths[i], "check ID %q is already declared at %s", chk.ID, prev)
		}
		seen[chk.ID] = p.checkPaths[i]
	}
	return p, nil
}

func decodeService(path string, v any) (*structs.ServiceDefinition, *fieldError) {
	m, ferr := object(path, v, "")
	if ferr != nil {
		return nil, ferr
	}
	svc := &structs.ServiceDefinition{}
	ferr = eachField(path, m, nil, serviceUnsupported, "", func(p, key string, v any) (bool, *fieldError) {
		var err *fieldError
		switch key {
		case "kind":
			var kind string
			if kind, err = str(p, v); err == nil && kind != "" && kind != "typical" {
				err = errAt(p, "not supported: %q; only typical services are (no Connect proxies or gateways)", kind)
			}
		case "id":
			svc.ID, err = str(p, v)
		case "name":
			svc.Name, err = str(p, v)
		case "tags":
			svc.Tags, err = stringList(p, v)
		case "address":
			svc.Address, err = str(p, v)
		case "meta":
			svc.Meta, err = stringMap(p, v)
		case "port":
			if svc.Port, err = integer(p, v); err == nil && (svc.Port < 0 || svc.Port > 65535) {
				err = errAt(p, "port %d is out of range (0-65535)", svc.Port)
			}
		case "weights":
			svc.Weights, err = weights(p, v)
		case "enabletagoverride":
			svc.EnableTagOverride, err = boolean(p, v)
		case "check":
			if v == nil {
				break
			}
			var c *structs.CheckDefinition
			if c, err = decodeCheck(p, v, false); err == nil {
				svc.Check = &c.CheckType
			}
		case "checks":
			var list []map[string]any
			if list, err = objectList(p, v); err != nil {
				break
			}
			for i, cm := range list {
				var c *structs.CheckDefinition
				if c, err = decodeCheck(index(p, i), cm, false); err != nil {
					break
				}
				svc.Checks = append(svc.Checks, &c.CheckType)
			}
		default:
			return false, nil
		}
		return true, err
	})
	if ferr != nil {
		return nil, ferr
	}
	if svc.Name == "" {
		return nil, errAt(path, "name is required")
	}
	return svc, nil
}

// weights reads SRV weights; an omitted one is 1, Consul's default.
func weights(path string, v any) (*structs.Weights, *fieldError) {
	if v == nil {
		return nil, nil
	}
	m, ferr := object(path, v, "")
	if ferr != nil {
		return nil, ferr
	}
	w := &structs.Weights{Passing: 1, Warning: 1}
	ferr = eachField(path, m, nil, nil, "", func(p, key string, v any) (bool, *fieldError) {
		var err *fieldError
		switch key {
		case "passing":
			if v == nil {
				break
			}
			if w.Passing, err = integer(p, v); err == nil && w.Passing < 1 {
				err = errAt(p, "must be at least 1")
			}
		case "warning":
			if v == nil {
				break
			}
			if w.Warning, err = integer(p, v); err == nil && w.Warning < 0 {
				err = errAt(p, "must not be negative")
			}
		default:
			return false, nil
		}
		return true, err
	})
	if ferr != nil {
		return nil, ferr
	}
	return w, nil
}

// decodeCheck reads a check: a standalone one (a file's check or checks)
// or one of a service's. A standalone check needs a name or an ID; each
// defaults to the other. In a service's check, id is the CheckID.
func decodeCheck(path string, v any, standalone bool) (*structs.CheckDefinition, *fieldError) {
	m, ferr := object(path, v, "")
	if ferr != nil {
		return nil, ferr
	}
	def := &structs.CheckDefinition{}
	c := &def.CheckType
	ferr = eachField(path, m, checkAliases, checkUnsupported, "", func(p, key string, v any) (bool, *fieldError) {
		var err *fieldError
		switch key {
		case "id":
			def.ID, err = str(p, v)
		case "serviceid":
			if !standalone {
				return true, errAt(p, "a service's check belongs to that service; service_id is for standalone checks")
			}
			def.ServiceID, err = str(p, v)
		case "name":
			c.Name, err = str(p, v)
		case "status":
			c.Status, err = str(p, v)
		case "notes":
			c.Notes, err = str(p, v)
		case "args":
			c.ScriptArgs, err = stringList(p, v)
		case "dockercontainerid":
			c.DockerContainerID, err = str(p, v)
		case "shell":
			c.Shell, err = str(p, v)
		case "http":
			c.HTTP, err = str(p, v)
		case "header":
			c.Header, err = header(p, v)
		case "method":
			c.Method, err = str(p, v)
		case "body":
			c.Body, err = str(p, v)
		case "disableredirects":
			c.DisableRedirects, err = boolean(p, v)
		case "tlsservername":
			c.TLSServerName, err = str(p, v)
		case "tlsskipverify":
			c.TLSSkipVerify, err = boolean(p, v)
		case "tcp":
			c.TCP, err = str(p, v)
		case "grpc":
			c.GRPC, err = str(p, v)
		case "grpcusetls":
			c.GRPCUseTLS, err = boolean(p, v)
		case "aliasnode":
			c.AliasNode, err = str(p, v)
		case "aliasservice":
			c.AliasService, err = str(p, v)
		case "interval":
			c.Interval, err = duration(p, v)
		case "timeout":
			c.Timeout, err = duration(p, v)
		case "ttl":
			c.TTL, err = duration(p, v)
		case "deregistercriticalserviceafter":
			c.DeregisterCriticalServiceAfter, err = duration(p, v)
		case "successbeforepassing":
			c.SuccessBeforePassing, err = integer(p, v)
		case "failuresbeforewarning":
			c.FailuresBeforeWarning, err = integer(p, v)
		case "failuresbeforecritical":
			c.FailuresBeforeCritical, err = integer(p, v)
		case "outputmaxsize":
			c.OutputMaxSize, err = integer(p, v)
		default:
			return false, nil
		}
		return true, err
	})
	if ferr != nil {
		return nil, ferr
	}
	if standalone {
		if def.ID == "" {
			def.ID = c.Name
		}
		if c.Name == "" {
			c.Name = def.ID
		}
		if def.ID == "" {
			return nil, errAt(path, "name is required (or id)")
		}
	}
	c.CheckID = def.ID
	if err := c.Validate(); err != nil {
		return nil, &fieldError{path: path, err: err}
	}
	return def, nil
}
