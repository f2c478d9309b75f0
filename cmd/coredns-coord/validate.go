package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/coredns/caddy"
	"github.com/coredns/caddy/caddyfile"
	"github.com/coredns/coredns/core/dnsserver"

	"github.com/coredns-coord/coredns-coord/definition"
)

const validateUsage = `Usage: coredns-coord validate -conf FILE
       coredns-coord validate FILE

  Checks a Corefile as the server would load it, without starting anything:
  every block is parsed by its plugin's own setup (no listener is opened, no
  agent started, nothing written), and every service and check definition
  file in coordhealth's config_dir directories is read and parsed. Errors
  name the file and line. Exits 0 when all is valid, 1 otherwise.

Example:

  coredns-coord validate -conf /etc/coredns-coord/Corefile

Options:

`

// runValidate is the validate command: it needs the plugins this binary
// is built with, so main provides it to package cli.
func runValidate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	conf := fs.String("conf", "", "The Corefile to check.")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), validateUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 1
	}
	path := *conf
	switch {
	case path == "" && fs.NArg() == 1:
		path = fs.Arg(0)
	case path == "" || fs.NArg() > 0:
		fmt.Fprintln(stderr, "Error! validate takes one Corefile: -conf FILE or FILE")
		return 1
	}
	if err := validateCorefile(path); err != nil {
		fmt.Fprintf(stderr, "Error! %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, "Configuration is valid!")
	return 0
}

// validateCorefile runs every plugin's setup on the Corefile at path (caddy's
// validation mode: no startup functions, so no listener or agent) and loads
// the definition files it names.
func validateCorefile(path string) error {
	body, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	input := caddy.CaddyfileInput{Contents: body, Filepath: path, ServerTypeName: "dns"}
	if err := caddy.ValidateAndExecuteDirectives(input, nil, true); err != nil {
		return err
	}
	dirs, err := definitionDirs(path, body)
	if err != nil {
		return err
	}
	_, errs := definition.LoadDirs(dirs...)
	return errors.Join(errs...)
}

// definitionDirs are the arguments of every coordhealth config_dir line.
// The Corefile has passed setup already, so each line is well formed.
func definitionDirs(path string, body []byte) ([]string, error) {
	blocks, err := caddyfile.Parse(path, bytes.NewReader(body), dnsserver.Directives)
	if err != nil {
		return nil, err
	}
	var dirs []string
	for _, b := range blocks {
		toks := b.Tokens["coordhealth"]
		for i, t := range toks {
			if t.Text != "config_dir" {
				continue
			}
			for _, arg := range toks[i+1:] {
				if arg.Line != t.Line || arg.File != t.File {
					break
				}
				dirs = append(dirs, arg.Text)
			}
		}
	}
	return dirs, nil
}
