// Package definition reads Consul's service and check definition files: the
// JSON (*.json) and HCL (*.hcl) files a Consul agent loads from its config
// directories, holding any of
//
//	{"service": {...}, "services": [{...}, ...], "check": {...}, "checks": [{...}, ...]}
//
// Field names are Consul's snake_case file names (deregister_critical_service_after,
// tls_skip_verify, ...); the CamelCase names of the HTTP API (ServiceID,
// DeregisterCriticalServiceAfter, ScriptArgs, ...) are accepted too. Keys of
// user data (meta, header) are kept as written.
//
// The files are read strictly: an unknown field is an error, so that a typo
// surfaces instead of silently dropping a setting, and every error names the
// file and the field, as in
//
//	web.json: service.checks[1].interval: invalid duration "10q"
//
// Checks are validated (structs.CheckType.Validate) but not normalised: the
// agent clamps intervals and timeouts when it registers them, and logs it.
//
// Field names match ignoring case and underscores. The fields:
//
//	service, services[i]: id, name (required), tags, address, port (0-65535),
//	  meta {k = "v"}, weights {passing (>= 1), warning (>= 0); an omitted one is 1},
//	  enable_tag_override, kind ("" or "typical"), check, checks
//	check fields: id (alias check_id, CheckID), name, status, notes,
//	  args (alias script_args, ScriptArgs), docker_container_id (runs args in that
//	  container), shell, http, header {Name = ["v"]}, method, body,
//	  disable_redirects, tls_server_name, tls_skip_verify, tcp, grpc, grpc_use_tls,
//	  alias_node, alias_service, interval, timeout, ttl,
//	  deregister_critical_service_after (durations are strings such as "10s"),
//	  success_before_passing, failures_before_warning, failures_before_critical,
//	  output_max_size; a standalone check (check, checks[i]) also service_id and
//	  needs a name or an id, each defaulting to the other
//
// Consul fields we do not implement (connect, proxy, tagged_addresses,
// h2ping, udp, os_service, ...) are refused with the reason, and so are
// Consul agent settings (datacenter, data_dir, ...), which belong in the
// Corefile.
//
// HCL blocks decode as lists of objects: "service { }" and "check { }" stand
// for one object (twice is an error: use services or checks), "services { }"
// and "checks { }" may repeat. JSON in a .hcl file is read as JSON, as by
// hcl itself. A key given twice with the same spelling keeps the last value
// (that is what encoding/json and hcl report); two spellings of one field
// ("name" and "Name") are an error.
package definition

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/coredns-coord/coredns-coord/structs"
)

// Set is what a set of definition files declares.
type Set struct {
	Services []*structs.ServiceDefinition
	Checks   []*structs.CheckDefinition
}

// Error is a problem with one definition file. Line and Column are set for
// syntax errors; Field is the path of the offending field
// ("service.checks[1].interval"), empty for problems with the file as a
// whole. Err is the reason; for a check that cannot run it wraps
// structs.ErrInvalidCheck.
type Error struct {
	File   string
	Line   int
	Column int
	Field  string
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", e.Line, e.Column)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Formats, by file name extension.
const (
	extJSON = ".json"
	extHCL  = ".hcl"
)

// Parse reads one file's content; the format is chosen by name's extension
// (.json or .hcl; anything else is an error). name is used in errors as
// given. Errors are *Error.
func Parse(name string, data []byte) (*Set, error) {
	p, err := parse(name, data)
	if err != nil {
		return nil, err
	}
	return p.set, nil
}

// ParseFile reads and parses one file; its path names it in errors.
func ParseFile(path string) (*Set, error) {
	if err := checkFormat(path); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Err: readError(err)}
	}
	return Parse(path, data)
}

// checkFormat refuses a name whose extension is neither .json nor .hcl.
func checkFormat(name string) *Error {
	switch filepath.Ext(name) {
	case extJSON, extHCL:
		return nil
	}
	return &Error{File: name, Err: fmt.Errorf("unknown format %q: definition files end in .json or .hcl", filepath.Ext(name))}
}

// readError drops the path os.ReadFile repeats, since Error names the file.
func readError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("cannot %s: %w", pe.Op, pe.Err)
	}
	return err
}

// parsed is one file's set with the field path of each entry, for
// duplicate reports.
type parsed struct {
	set          *Set
	servicePaths []string
	checkPaths   []string
}

func parse(name string, data []byte) (*parsed, error) {
	var (
		root map[string]any
		err  *Error
	)
	switch filepath.Ext(name) {
	case extJSON:
		root, err = decodeJSON(name, data)
	case extHCL:
		root, err = decodeHCL(name, data)
	default:
		return nil, checkFormat(name)
	}
	if err != nil {
		return nil, err
	}
	p, ferr := decodeFile(root)
	if ferr != nil {
		return nil, &Error{File: name, Field: ferr.path, Err: ferr.err}
	}
	return p, nil
}

// LoadDirs reads every *.json and *.hcl file in dirs: not subdirectories,
// not files with other extensions, not hidden files (names starting with
// '.'), in lexical order within each directory and dirs in the order given.
//
// A file with an error contributes nothing and yields one error; every other
// file still loads. A service ID (ID, default Name) or a standalone check ID
// declared again, in another file or later in the same set of directories,
// is an error naming both files; the first declaration wins and the rest of
// the later file still loads. A directory that cannot be read is an error.
// The set is never nil.
func LoadDirs(dirs ...string) (*Set, []error) {
	out := &Set{}
	var errs []error
	serviceFrom := map[string]string{} // service ID -> file
	checkFrom := map[string]string{}   // check ID -> file
	for _, dir := range dirs {
		files, err := definitionFiles(dir)
		if err != nil {
			errs = append(errs, &Error{File: dir, Err: readError(err)})
			continue
		}
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				errs = append(errs, &Error{File: file, Err: readError(err)})
				continue
			}
			p, err := parse(file, data)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			for i, svc := range p.set.Services {
				id := svc.ServiceID()
				if first, dup := serviceFrom[id]; dup {
					errs = append(errs, &Error{File: file, Field: p.servicePaths[i],
						Err: fmt.Errorf("service ID %q is already declared in %s; ignoring this one", id, first)})
					continue
				}
				serviceFrom[id] = file
				out.Services = append(out.Services, svc)
			}
			for i, chk := range p.set.Checks {
				if first, dup := checkFrom[chk.ID]; dup {
					errs = append(errs, &Error{File: file, Field: p.checkPaths[i],
						Err: fmt.Errorf("check ID %q is already declared in %s; ignoring this one", chk.ID, first)})
					continue
				}
				checkFrom[chk.ID] = file
				out.Checks = append(out.Checks, chk)
			}
		}
	}
	return out, errs
}

// definitionFiles lists dir's definition files in lexical order. Symbolic
// links are followed: a link to a regular file counts, one to a directory
// does not.
func definitionFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		if ext := filepath.Ext(name); ext != extJSON && ext != extHCL {
			continue
		}
		path := filepath.Join(dir, name)
		switch {
		case e.Type().IsRegular():
		case e.Type()&os.ModeSymlink != 0:
			// A broken link is kept so that reading it reports the error.
			if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
				continue
			}
		default:
			continue
		}
		files = append(files, path)
	}
	return files, nil
}
