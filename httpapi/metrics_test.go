package httpapi_test

import (
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestMetrics(t *testing.T) {
	s := startServer(t)
	okBefore := counterValue(t, "/v1/catalog/service/:name", "200")
	kvBefore := counterValue(t, "/v1/kv/", "404")
	methodBefore := counterValue(t, "/v1/catalog/nodes", "405")
	unmatchedBefore := counterValue(t, "unmatched", "404")

	s.expect(t, "GET", "/v1/catalog/service/alpha", "", 200, "")
	s.expect(t, "GET", "/v1/catalog/service/beta", "", 200, "")
	s.expect(t, "GET", "/v1/kv/some/deep/missing/key", "", 404, "")
	s.expect(t, "POST", "/v1/catalog/nodes", "", 405, "")
	s.expect(t, "GET", "/v1/not/a/route", "", 404, "")

	if got := counterValue(t, "/v1/catalog/service/:name", "200") - okBefore; got != 2 {
		t.Fatalf("catalog/service requests counted %v, want 2", got)
	}
	if got := counterValue(t, "/v1/kv/", "404") - kvBefore; got != 1 {
		t.Fatalf("kv 404s counted %v, want 1", got)
	}
	if got := counterValue(t, "/v1/catalog/nodes", "405") - methodBefore; got != 1 {
		t.Fatalf("405 on catalog/nodes counted %v, want 1", got)
	}
	if got := counterValue(t, "unmatched", "404") - unmatchedBefore; got != 1 {
		t.Fatalf("unmatched 404s counted %v, want 1", got)
	}

	families, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sawHistogram bool
	for _, f := range families {
		name := f.GetName()
		if !strings.HasPrefix(name, "coredns_coord_http_") {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "endpoint" && (strings.Contains(l.GetValue(), "alpha") || strings.Contains(l.GetValue(), "deep")) {
					t.Fatalf("%s has a raw path as endpoint: %q", name, l.GetValue())
				}
			}
		}
		if name == "coredns_coord_http_request_duration_seconds" {
			for _, m := range f.GetMetric() {
				if m.GetHistogram().GetSampleCount() > 0 {
					sawHistogram = true
				}
			}
		}
	}
	if !sawHistogram {
		t.Fatal("no request_duration_seconds samples")
	}
}
