package local

import (
	"fmt"
	"testing"

	"github.com/coredns-coord/coredns-coord/structs"
)

// BenchmarkUpdateCheckUnchanged is the path every check run takes when
// nothing changed: it must cost next to nothing and write nothing.
func BenchmarkUpdateCheckUnchanged(b *testing.B) {
	l := New("n1")
	for i := range 10000 {
		l.AddCheck(check(fmt.Sprintf("c%d", i), "", structs.HealthPassing), nil, SourceAPI)
	}
	for i := range 10000 {
		l.UpdateCheck(fmt.Sprintf("c%d", i), structs.HealthPassing, "HTTP GET http://10.0.0.1/: 200 OK Output: ok")
	}
	ids := make([]string, 10000)
	for i := range ids {
		ids[i] = fmt.Sprintf("c%d", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if l.UpdateCheck(ids[i%len(ids)], structs.HealthPassing, "HTTP GET http://10.0.0.1/: 200 OK Output: ok") {
			b.Fatal("unchanged result reported as a change")
		}
	}
}

// BenchmarkSyncStatusChanges1000 is one sync pass after 1,000 checks
// changed status, against a real state store.
func BenchmarkSyncStatusChanges1000(b *testing.B) {
	cat := &storeCatalog{st: newStoreWithNode(b), idx: 1}
	l := New("n1")
	for i := range 1000 {
		l.AddCheck(check(fmt.Sprintf("c%d", i), "", structs.HealthCritical), nil, SourceAPI)
	}
	if err := l.SyncChanges(cat); err != nil {
		b.Fatal(err)
	}
	status := []string{structs.HealthPassing, structs.HealthCritical}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		for j := range 1000 {
			l.UpdateCheck(fmt.Sprintf("c%d", j), status[i%2], "")
		}
		if err := l.SyncChanges(cat); err != nil {
			b.Fatal(err)
		}
	}
}
