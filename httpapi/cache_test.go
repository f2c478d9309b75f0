package httpapi_test

import (
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"
)

// ?cached on catalog/service: the first read is a miss, the next ones are
// hits with Age 0 and the same answer as an uncached read; the entry
// follows catalog changes on its own, so a blocking cached read sees a new
// instance; queries that differ are cached apart.
func TestCatalogServiceCached(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	cat := s.client.Catalog()
	s.registerNode(t, "web1", "10.0.0.1", nil, &api.AgentService{ID: "web", Service: "web", Tags: []string{"v1"}, Port: 80}, "passing")
	cached := &api.QueryOptions{UseCache: true}

	first, meta, err := cat.Service("web", "", cached)
	if err != nil || len(first) != 1 || meta.CacheHit {
		t.Fatalf("first cached read: %+v, hit %v, %v", first, meta.CacheHit, err)
	}
	second, meta, err := cat.Service("web", "", cached)
	if err != nil || !meta.CacheHit || meta.CacheAge != 0 {
		t.Fatalf("second cached read: hit %v, age %v, %v", meta.CacheHit, meta.CacheAge, err)
	}
	plain, plainMeta, err := cat.Service("web", "", nil)
	if err != nil || !reflect.DeepEqual(second, plain) || meta.LastIndex != plainMeta.LastIndex {
		t.Fatalf("cached %+v (index %d) differs from uncached %+v (index %d)", second, meta.LastIndex, plain, plainMeta.LastIndex)
	}

	// A new instance reaches the entry without a miss: block on the
	// entry's index until it passes.
	s.registerNode(t, "web2", "10.0.0.2", nil, &api.AgentService{ID: "web", Service: "web", Port: 8080}, "passing")
	idx := meta.LastIndex
	var after []*api.CatalogService
	for deadline := time.Now().Add(10 * time.Second); len(after) != 2 && time.Now().Before(deadline); {
		after, meta, err = cat.Service("web", "", &api.QueryOptions{UseCache: true, WaitIndex: idx, WaitTime: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		idx = meta.LastIndex
	}
	if got := serviceNodeNames(after); len(got) != 2 || !meta.CacheHit {
		t.Fatalf("cached read after a new instance: %v, hit %v", got, meta.CacheHit)
	}

	// Another tag is another query.
	_, meta, err = cat.Service("web", "v1", cached)
	if err != nil || meta.CacheHit {
		t.Fatalf("first read of another query: hit %v, %v", meta.CacheHit, err)
	}
	v1, meta, err := cat.Service("web", "v1", cached)
	if err != nil || !meta.CacheHit || len(v1) != 1 || v1[0].Node != "web1" {
		t.Fatalf("cached web tagged v1: %+v, hit %v, %v", v1, meta.CacheHit, err)
	}

	// An uncached read carries no cache headers.
	resp, _ := s.do(t, "GET", "/v1/catalog/service/web", nil)
	if h := resp.Header.Get("X-Cache"); h != "" {
		t.Fatalf("uncached read answered X-Cache: %s", h)
	}
}

// Errors are not cached, and ?cached refuses ?consistent as Consul does.
func TestCatalogServiceCachedRefusals(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	s.expect(t, "GET", "/v1/catalog/service/consul?cached&consistent", "", 400, "?cached with ?consistent")
	for i := 0; i < 2; i++ {
		resp, body := s.do(t, "GET", "/v1/catalog/service/consul?cached&filter=Nope+%3D%3D+1", nil)
		if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("X-Cache") != "" {
			t.Fatalf("read %d with a bad filter: %d %q, X-Cache %q", i, resp.StatusCode, body, resp.Header.Get("X-Cache"))
		}
	}
}
