package coordcatalog

import (
	"fmt"
	"strconv"
	"time"
)

// dnsOptions shape the answers. Unlike the agent's settings they are the
// plugin's own, so a reload changes them on a running agent.
var dnsOptions = map[string]option{
	"node_ttl": valueOption(func(o *options, v string) (err error) {
		o.nodeTTL, err = parseTTL(v)
		return err
	}),
	"service_ttl": valueOption(func(o *options, v string) (err error) {
		o.serviceTTL, err = parseTTL(v)
		return err
	}),
	"only_passing": flagOption(func(o *options) { o.onlyPassing = true }),
	"enable_additional_node_meta_txt": valueOption(func(o *options, v string) (err error) {
		o.metaTXT, err = strconv.ParseBool(v)
		return err
	}),
	"a_record_limit": valueOption(func(o *options, v string) (err error) {
		o.aRecordLimit, err = strconv.Atoi(v)
		if err == nil && o.aRecordLimit < 0 {
			err = fmt.Errorf("must not be negative")
		}
		return err
	}),
}

// parseTTL takes a Go duration of whole seconds, like Consul's node_ttl.
func parseTTL(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d < 0 || d%time.Second != 0 || d > 24*time.Hour {
		return 0, fmt.Errorf("%q: want whole seconds between 0s and 24h", s)
	}
	return d, nil
}
