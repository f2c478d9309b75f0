package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/consul/api"

	"github.com/coredns-coord/coredns-coord/definition"
	"github.com/coredns-coord/coredns-coord/structs"
)

const servicesUsage = `
Usage: coredns-coord services <subcommand> [options] [FILE...]

  Registers services with the local agent and deregisters them, from
  definition files (JSON or HCL, as in the agent's config dir) or flags.

Subcommands:

  register     Register services (with their checks)
  deregister   Deregister services

Run 'coredns-coord services <subcommand> -h' for a subcommand's options.
`

var runServices = group("services", servicesUsage, map[string]command{
	"register":   servicesRegister,
	"deregister": servicesDeregister,
})

// metaFlags is a repeatable key=value flag.
type metaFlags map[string]string

func (m metaFlags) String() string {
	var parts []string
	for k, v := range m {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ",")
}

func (m metaFlags) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("want key=value, got %q", v)
	}
	m[k] = val
	return nil
}

// servicesFromFiles parses every file before anything is registered, so
// that a mistake in the last file does not leave the first ones half done.
// A file must declare at least one service; its standalone checks are not
// registered (as with 'consul services register'), which is reported.
func servicesFromFiles(s *streams, files []string) ([]*structs.ServiceDefinition, error) {
	var out []*structs.ServiceDefinition
	for _, file := range files {
		set, err := definition.ParseFile(file)
		if err != nil {
			return nil, err
		}
		if len(set.Services) == 0 {
			if len(set.Checks) > 0 {
				return nil, fmt.Errorf("%s: declares checks but no service; standalone checks are not registered by this command", file)
			}
			return nil, fmt.Errorf("%s: declares no service", file)
		}
		if n := len(set.Checks); n > 0 {
			fmt.Fprintf(s.stderr, "Warning: %s: %d standalone check(s) ignored; only services and their checks are registered\n", file, n)
		}
		out = append(out, set.Services...)
	}
	return out, nil
}

const servicesRegisterUsage = `
Usage: coredns-coord services register [options] [FILE...]

  Registers the services declared in each FILE (JSON or HCL definition
  files, as in the agent's config dir: service, services, with their check
  and checks) with the local agent, through agent/service/register. Every
  file is read and checked before anything is registered. A file that
  declares no service is an error; standalone checks (check, checks at the
  top level) are not registered.

  Without FILE, the flags describe one service:

      $ coredns-coord services register web.json db.hcl
      $ coredns-coord services register -name web -port 8080 -tag v1 -meta version=1.2

  Registering an ID that exists replaces it. Output: "Registered service: NAME"
  for each service.
`

func servicesRegister(ctx context.Context, s *streams, args []string) int {
	var (
		hf      httpFlags
		name    string
		id      string
		address string
		port    int
		tags    stringList
		meta    = metaFlags{}
	)
	fs := newFlagSet(s, "services register", servicesRegisterUsage)
	fs.StringVar(&name, "name", "", "Name of the service to register (without FILE).")
	fs.StringVar(&id, "id", "", "ID of the service; default: its name.")
	fs.StringVar(&address, "address", "", "Address of the service; default: the node's.")
	fs.IntVar(&port, "port", 0, "Port of the service.")
	fs.Var(&tags, "tag", "Tag of the service; repeat for several.")
	fs.Var(meta, "meta", "Metadata key=value of the service; repeat for several.")
	hf.register(fs, false)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}

	files := fs.Args()
	var byFlags bool
	for _, f := range []string{"name", "id", "address", "port", "tag", "meta"} {
		byFlags = byFlags || flagWasSet(fs, f)
	}
	switch {
	case len(files) == 0 && name == "":
		return usageError(s, fs, "Service registration needs FILE arguments or -name")
	case len(files) > 0 && byFlags:
		return usageError(s, fs, "Give FILE arguments or service flags (-name, -id, ...), not both")
	case port < 0 || port > 65535:
		return usageError(s, fs, "-port %d is out of range (0-65535)", port)
	}

	var svcs []*structs.ServiceDefinition
	if len(files) > 0 {
		var err error
		if svcs, err = servicesFromFiles(s, files); err != nil {
			return failure(s, "%v", err)
		}
	} else {
		svc := &structs.ServiceDefinition{ID: id, Name: name, Address: address, Port: port, Tags: tags}
		if len(meta) > 0 {
			svc.Meta = meta
		}
		svcs = append(svcs, svc)
	}

	client, closeIdle, err := hf.client()
	if err != nil {
		return failure(s, "%v", err)
	}
	defer closeIdle()
	for _, svc := range svcs {
		// Our definition's JSON is the agent/service/register body, with
		// its checks: the field names are those of Consul's API.
		wo := (&api.WriteOptions{}).WithContext(ctx)
		if _, err := client.Raw().Write("/v1/agent/service/register", svc, nil, wo); err != nil {
			return failure(s, "Error registering service %q with the agent at %s: %v", svc.Name, hf.displayAddr(), err)
		}
		fmt.Fprintf(s.stdout, "Registered service: %s\n", svc.Name)
	}
	return exitOK
}

const servicesDeregisterUsage = `
Usage: coredns-coord services deregister [options] [FILE...]

  Deregisters a service from the local agent by -id, or the services
  declared in each FILE (each by its id, default its name), through
  agent/service/deregister. The service's checks go with it.

      $ coredns-coord services deregister -id web-1
      $ coredns-coord services deregister web.json

  Output: "Deregistered service: ID" for each service.
`

func servicesDeregister(ctx context.Context, s *streams, args []string) int {
	var (
		hf httpFlags
		id string
	)
	fs := newFlagSet(s, "services deregister", servicesDeregisterUsage)
	fs.StringVar(&id, "id", "", "ID of the service to deregister (without FILE).")
	hf.register(fs, false)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	files := fs.Args()
	switch {
	case len(files) == 0 && id == "":
		return usageError(s, fs, "Service deregistration needs FILE arguments or -id")
	case len(files) > 0 && id != "":
		return usageError(s, fs, "Give FILE arguments or -id, not both")
	}

	ids := []string{id}
	if len(files) > 0 {
		svcs, err := servicesFromFiles(s, files)
		if err != nil {
			return failure(s, "%v", err)
		}
		ids = ids[:0]
		for _, svc := range svcs {
			ids = append(ids, svc.ServiceID())
		}
	}

	client, closeIdle, err := hf.client()
	if err != nil {
		return failure(s, "%v", err)
	}
	defer closeIdle()
	for _, id := range ids {
		if err := client.Agent().ServiceDeregisterOpts(id, (&api.QueryOptions{}).WithContext(ctx)); err != nil {
			return failure(s, "Error deregistering service %q with the agent at %s: %v", id, hf.displayAddr(), err)
		}
		fmt.Fprintf(s.stdout, "Deregistered service: %s\n", id)
	}
	return exitOK
}
