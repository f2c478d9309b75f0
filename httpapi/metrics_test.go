package httpapi_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
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

func gaugeValue(t *testing.T, name string) float64 {
	t.Helper()
	families, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == name && len(f.GetMetric()) == 1 {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no gauge %s", name)
	return 0
}

func TestBlockingQueriesGauge(t *testing.T) {
	s := startServer(t)
	const gauge = "coredns_coord_http_blocking_queries"
	_, meta, err := s.client.KV().Get("gauge-key", nil)
	if err != nil {
		t.Fatal(err)
	}
	before := gaugeValue(t, gauge)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.client.KV().Get("gauge-key", &api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 5 * time.Second})
	}()
	deadline := time.Now().Add(5 * time.Second)
	for gaugeValue(t, gauge) != before+1 {
		if time.Now().After(deadline) {
			t.Fatal("a parked blocking query is not counted")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := s.client.KV().Put(&api.KVPair{Key: "gauge-key", Value: []byte("v")}, nil); err != nil {
		t.Fatal(err)
	}
	<-done
	if got := gaugeValue(t, gauge); got != before {
		t.Fatalf("gauge %v after the query returned, want %v", got, before)
	}
}
