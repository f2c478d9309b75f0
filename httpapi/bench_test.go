package httpapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/coredns-coord/coredns-coord/agent"
	"github.com/coredns-coord/coredns-coord/httpapi"
	"github.com/coredns-coord/coredns-coord/internal/testagent"
	"github.com/coredns-coord/coredns-coord/structs"
)

func BenchmarkKVGet(b *testing.B) {
	a, h := startHandler(b)
	if _, err := a.KV(&structs.KVRequest{Op: structs.KVSet, DirEnt: structs.DirEntry{
		Key: "bench/key", Value: []byte("a value of some thirty-two bytes"),
	}}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/kv/bench/key", nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

func BenchmarkHealthService(b *testing.B) {
	a, h := startHandler(b)
	const instances = 50
	for i := range instances {
		status := structs.HealthPassing
		if i%10 == 0 {
			status = structs.HealthCritical
		}
		node := fmt.Sprintf("bench-%d", i)
		if err := a.Register(&structs.RegisterRequest{
			Node: node, Address: fmt.Sprintf("10.0.%d.%d", i/250, i%250+1),
			Service: &structs.NodeService{ID: "web", Service: "web", Tags: []string{"v1"}, Port: 80},
			Check:   &structs.HealthCheck{CheckID: "web", Name: "web", Status: status, ServiceID: "web"},
		}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/v1/health/service/web?passing&tag=v1", nil))
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkKVGetACL is BenchmarkKVGet with ACLs on, default deny, and a
// token whose policy allows the read: the cost of resolving and checking.
func BenchmarkKVGetACL(b *testing.B) {
	cfg := testagent.DevConfig(b, "node1", "")
	cfg.ACL = agent.DefaultACLConfig()
	cfg.ACL.DefaultPolicy = agent.ACLPolicyDeny
	a := testagent.Start(b, cfg, nil)
	h := httpapi.New(a)
	for i := 0; ; i++ {
		if _, anon, _ := a.State().ACLTokenGet(nil, structs.ACLAnonymousTokenID); anon != nil {
			break
		}
		if i > 1000 {
			b.Fatal("no ACL setup after 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, req := range []*structs.ACLRequest{
		{Op: structs.ACLPolicySet, Create: true, Policy: &structs.ACLPolicy{ID: "p1", Name: "kv", Rules: `key_prefix "bench/" { policy = "read" }`}},
		{Op: structs.ACLTokenSet, Create: true, Token: &structs.ACLToken{AccessorID: "a1", SecretID: "s1", Policies: []*structs.ACLLink{{ID: "p1"}}}},
	} {
		if err := a.ACLWrite(req); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := a.KV(&structs.KVRequest{Op: structs.KVSet, DirEnt: structs.DirEntry{
		Key: "bench/key", Value: []byte("a value of some thirty-two bytes"),
	}}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/v1/kv/bench/key", nil)
		req.Header.Set("X-Consul-Token", "s1")
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}
