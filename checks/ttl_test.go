package checks

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/coredns-coord/coredns-coord/structs"
)

func newTestTTL(t *testing.T, ttl time.Duration, maxOut int, r *recorder) *TTLCheck {
	t.Helper()
	c := start(t, "ttl", &structs.CheckType{TTL: structs.Duration(ttl), OutputMaxSize: maxOut}, r, Options{})
	return c.(*TTLCheck)
}

func TestTTLSetStatusAndExpiry(t *testing.T) {
	var r recorder
	c := newTestTTL(t, 150*time.Millisecond, 0, &r)
	if err := c.SetStatus(structs.HealthPassing, "all good"); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.last(); got != (result{"ttl", structs.HealthPassing, "all good"}) {
		t.Fatalf("SetStatus reported %+v", got)
	}
	if err := c.SetStatus(structs.HealthWarning, "meh"); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.last(); got.status != structs.HealthWarning || got.output != "meh" {
		t.Fatalf("SetStatus reported %+v", got)
	}
	waitLast(t, &r, structs.HealthCritical, equals("TTL expired (last output before timeout follows): meh"))
	// One expiry per lapse: it waits for the next update.
	n := r.count()
	time.Sleep(400 * time.Millisecond)
	if r.count() != n {
		t.Fatalf("expired again without an update: %+v", r.all())
	}
	// An update revives it, and the TTL runs again from there.
	if err := c.SetStatus(structs.HealthPassing, ""); err != nil {
		t.Fatal(err)
	}
	waitLast(t, &r, structs.HealthCritical, equals("TTL expired"))
}

func TestTTLExpiresWithoutUpdate(t *testing.T) {
	var r recorder
	begin := time.Now()
	newTestTTL(t, 100*time.Millisecond, 0, &r)
	waitLast(t, &r, structs.HealthCritical, equals("TTL expired"))
	if d := time.Since(begin); d < 100*time.Millisecond {
		t.Fatalf("expired after %s, before its TTL", d)
	}
}

// Updates more often than the TTL keep the check from expiring.
func TestTTLKeptAlive(t *testing.T) {
	var r recorder
	c := newTestTTL(t, 200*time.Millisecond, 0, &r)
	for range 15 {
		if err := c.SetStatus(structs.HealthPassing, "ok"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, res := range r.all() {
		if res.status != structs.HealthPassing {
			t.Fatalf("expired while kept alive: %+v", r.all())
		}
	}
}

func TestTTLSetStatusErrors(t *testing.T) {
	var r recorder
	c := newTestTTL(t, time.Minute, 10, &r)
	for _, bad := range []string{"", "any", "Passing", "maintenance"} {
		if err := c.SetStatus(bad, "x"); err == nil {
			t.Errorf("SetStatus(%q) accepted", bad)
		}
	}
	if r.count() != 0 {
		t.Fatalf("a refused status was reported: %+v", r.all())
	}
	if err := c.SetStatus(structs.HealthPassing, strings.Repeat("é", 10)); err != nil {
		t.Fatal(err)
	}
	// 20 bytes cut to 10, on a rune boundary.
	if got, _ := r.last(); got.output != strings.Repeat("é", 5)+" ... (captured 10 of 20 bytes)" {
		t.Fatalf("long output reported as %q", got.output)
	}
	c.Stop()
	if err := c.SetStatus(structs.HealthPassing, "late"); !errors.Is(err, ErrCheckStopped) {
		t.Fatalf("SetStatus after Stop: %v", err)
	}
	if got, _ := r.last(); got.output == "late" {
		t.Fatal("an update after Stop was reported")
	}
}
