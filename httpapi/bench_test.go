package httpapi_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

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
