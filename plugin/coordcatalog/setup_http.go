package coordcatalog

import (
	"fmt"
	"net"
	"strconv"
)

// httpOptions configure the agent's HTTP API listener.
var httpOptions = map[string]option{
	"http": valueOption(func(o *options, v string) (err error) {
		o.agent.HTTPAddr, err = parseHTTP(v)
		return err
	}),
	"http_max_conns_per_client": valueOption(func(o *options, v string) (err error) {
		o.agent.HTTPMaxConnsPerClient, err = strconv.Atoi(v)
		if err == nil && o.agent.HTTPMaxConnsPerClient < 0 {
			err = fmt.Errorf("must not be negative (0: no limit)")
		}
		return err
	}),
	"http_read_header_timeout": valueOption(func(o *options, v string) (err error) {
		o.agent.HTTPReadHeaderTimeout, err = parsePositiveDuration(v)
		return err
	}),
	"http_idle_timeout": valueOption(func(o *options, v string) (err error) {
		o.agent.HTTPIdleTimeout, err = parsePositiveDuration(v)
		return err
	}),
}

// parseHTTP accepts host:port, or "off" to run without the HTTP API.
func parseHTTP(s string) (string, error) {
	if s == "off" {
		return "", nil
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", err
	}
	if _, err := strconv.Atoi(port); err != nil {
		return "", fmt.Errorf("invalid port %q", port)
	}
	return net.JoinHostPort(host, port), nil
}
