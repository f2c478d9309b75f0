package httpapi_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/consul/api"

	"github.com/coredns-coord/coredns-coord/structs"
)

func TestSessions(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	sessions := s.client.Session()

	info := func(id string) *api.SessionEntry {
		t.Helper()
		e, meta, err := sessions.Info(id, nil)
		if err != nil {
			t.Fatalf("info %s: %v", id, err)
		}
		if meta.LastIndex == 0 || !meta.KnownLeader {
			t.Fatalf("info %s: meta %+v", id, meta)
		}
		return e
	}

	custom, _, err := sessions.Create(&api.SessionEntry{
		Name: "web-lock", TTL: "30s", LockDelay: 2 * time.Second, Behavior: api.SessionBehaviorDelete,
	}, nil)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	defaults, _, err := sessions.Create(nil, nil)
	if err != nil {
		t.Fatalf("create with defaults: %v", err)
	}
	unbound, _, err := sessions.CreateNoChecks(&api.SessionEntry{Name: "no checks"}, nil)
	if err != nil {
		t.Fatalf("create without checks: %v", err)
	}

	t.Run("info", func(t *testing.T) {
		e := info(custom)
		if e == nil || e.ID != custom || e.Name != "web-lock" || e.Node != "node1" || e.TTL != "30s" ||
			e.LockDelay != 2*time.Second || e.Behavior != api.SessionBehaviorDelete || e.CreateIndex == 0 ||
			!slices.Equal(e.NodeChecks, []string{"serfHealth"}) || e.Checks != nil {
			t.Fatalf("custom session = %+v", e)
		}
		// LockDelay is nanoseconds on the wire, TTL a duration string.
		s.expect(t, "GET", "/v1/session/info/"+custom, "", 200, `"LockDelay":2000000000,"Behavior":"delete","TTL":"30s","NodeChecks":["serfHealth"]`)
		d := info(defaults)
		if d == nil || d.Node != "node1" || d.TTL != "" || d.LockDelay != 15*time.Second ||
			d.Behavior != api.SessionBehaviorRelease || !slices.Equal(d.NodeChecks, []string{"serfHealth"}) {
			t.Fatalf("default session = %+v", d)
		}
		u := info(unbound)
		if u == nil || len(u.NodeChecks) != 0 || len(u.Checks) != 0 || len(u.ServiceChecks) != 0 {
			t.Fatalf("session without checks = %+v", u)
		}
		if e := info("5c8e4a0e-0000-4000-8000-000000000000"); e != nil {
			t.Fatalf("unknown session = %+v", e)
		}
		// Consul answers an unknown session with an empty list, not null.
		s.expect(t, "GET", "/v1/session/info/5c8e4a0e-0000-4000-8000-000000000000", "", 200, "[]")
	})

	t.Run("list and node", func(t *testing.T) {
		ids := func(list []*api.SessionEntry) []string {
			var out []string
			for _, e := range list {
				out = append(out, e.ID)
			}
			slices.Sort(out)
			return out
		}
		want := []string{custom, defaults, unbound}
		slices.Sort(want)
		all, meta, err := sessions.List(nil)
		if err != nil || meta.LastIndex == 0 {
			t.Fatalf("list: %v, %+v", err, meta)
		}
		if got := ids(all); !slices.Equal(got, want) {
			t.Fatalf("list = %v, want %v", got, want)
		}
		mine, _, err := sessions.Node("node1", nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(mine); !slices.Equal(got, want) {
			t.Fatalf("node1 sessions = %v, want %v", got, want)
		}
		other, _, err := sessions.Node("other", nil)
		if err != nil || len(other) != 0 {
			t.Fatalf("other's sessions = %v, %v", other, err)
		}
		s.expect(t, "GET", "/v1/session/node/other", "", 200, "[]")
	})

	t.Run("renew and destroy", func(t *testing.T) {
		e, _, err := sessions.Renew(custom, nil)
		if err != nil || e == nil || e.ID != custom || e.TTL != "30s" {
			t.Fatalf("renew = %+v, %v", e, err)
		}
		if _, err := sessions.Destroy(custom, nil); err != nil {
			t.Fatalf("destroy: %v", err)
		}
		if e := info(custom); e != nil {
			t.Fatalf("destroyed session still there: %+v", e)
		}
		if e, _, err := sessions.Renew(custom, nil); err != nil || e != nil {
			t.Fatalf("renew after destroy = %+v, %v", e, err)
		}
		s.expect(t, "PUT", "/v1/session/renew/"+custom, "", 404, "Session id '"+custom+"' not found")
		// Destroying what is gone is no error, as in Consul.
		s.expect(t, "PUT", "/v1/session/destroy/"+custom, "", 200, "true")
	})

	t.Run("blocking list wakes on create", func(t *testing.T) {
		_, meta, err := sessions.List(nil)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan []*api.SessionEntry, 1)
		go func() {
			list, _, err := sessions.List(&api.QueryOptions{WaitIndex: meta.LastIndex, WaitTime: 10 * time.Second})
			if err != nil {
				t.Error(err)
			}
			done <- list
		}()
		time.Sleep(100 * time.Millisecond)
		id, _, err := sessions.Create(&api.SessionEntry{Name: "late"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		select {
		case list := <-done:
			if !slices.ContainsFunc(list, func(e *api.SessionEntry) bool { return e.ID == id }) {
				t.Fatalf("woken list misses the new session %s: %d sessions", id, len(list))
			}
		case <-time.After(5 * time.Second):
			t.Fatal("blocking session list did not wake on a new session")
		}
	})
}

func TestSessionCreateBody(t *testing.T) {
	t.Parallel()
	s := startServer(t)

	create := func(body string) *api.SessionEntry {
		t.Helper()
		var out struct{ ID string }
		if err := json.Unmarshal(s.expect(t, "PUT", "/v1/session/create", body, 200, `"ID"`), &out); err != nil {
			t.Fatal(err)
		}
		e, _, err := s.client.Session().Info(out.ID, nil)
		if err != nil || e == nil {
			t.Fatalf("info of session from %s: %+v, %v", body, e, err)
		}
		return e
	}

	t.Run("lock delay forms", func(t *testing.T) {
		for body, want := range map[string]time.Duration{
			`{"LockDelay":"7s"}`:       7 * time.Second,
			`{"LockDelay":"1500ms"}`:   1500 * time.Millisecond,
			`{"LockDelay":5}`:          5 * time.Second,
			`{"LockDelay":2000000000}`: 2 * time.Second,
			`{"lockdelay":"60s"}`:      60 * time.Second,
			`{"LockDelay":0}`:          0, // explicitly none, as Consul
			`{"LockDelay":"0s"}`:       0,
			`{"Name":"default"}`:       structs.DefaultLockDelay,
		} {
			if got := create(body).LockDelay; got != want {
				t.Errorf("%s: LockDelay %v, want %v", body, got, want)
			}
		}
	})

	t.Run("checks", func(t *testing.T) {
		if e := create(`{"Checks":[]}`); len(e.NodeChecks) != 0 {
			t.Errorf("Checks [] = %+v", e)
		}
		if e := create(`{"Checks":["serfHealth"],"NodeChecks":["serfHealth"]}`); !slices.Equal(e.NodeChecks, []string{"serfHealth"}) {
			t.Errorf("Checks and NodeChecks = %+v", e)
		}
		// Checks of just serfHealth is Consul's default: dropped, the
		// session is bound through NodeChecks.
		if e := create(`{"Checks":["serfHealth"]}`); !slices.Equal(e.NodeChecks, []string{"serfHealth"}) || e.Checks != nil {
			t.Errorf("Checks alone = %+v", e)
		}
		// Any other Checks is kept apart, as sent, and binds too.
		s.expect(t, "PUT", "/v1/catalog/register",
			`{"Node":"legacy","Address":"10.0.0.9","Check":{"CheckID":"legacy-alive","Status":"passing"}}`, 200, "true")
		if e := create(`{"Node":"legacy","Checks":["legacy-alive"],"NodeChecks":[]}`); len(e.NodeChecks) != 0 || !slices.Equal(e.Checks, []string{"legacy-alive"}) {
			t.Errorf("legacy Checks = %+v", e)
		}
		if e := create(" "); !slices.Equal(e.NodeChecks, []string{"serfHealth"}) {
			t.Errorf("blank body = %+v", e)
		}
	})

	t.Run("refused", func(t *testing.T) {
		for body, want := range map[string]string{
			`{"TTL":"5s"}`:                  "TTL",
			`{"TTL":"25h"}`:                 "TTL",
			`{"TTL":"soon"}`:                "TTL",
			`{"Behavior":"explode"}`:        "Behavior",
			`{"LockDelay":"2m"}`:            "LockDelay",
			`{"LockDelay":-5}`:              "LockDelay",
			`{"LockDelay":true}`:            "LockDelay",
			`{"LockDelay":"x"}`:             "LockDelay",
			`{"Node":"nosuch"}`:             "",
			`{"NodeChecks":["nosuch"]}`:     "",
			`{"ServiceChecks":[{"ID":""}]}`: "check",
			`{"Name":`:                      "decode",
			`[]`:                            "decode",
		} {
			s.expect(t, "PUT", "/v1/session/create", body, 400, want)
		}
		for _, se := range []*api.SessionEntry{
			{TTL: "5s"}, {Behavior: "explode"}, {LockDelay: 2 * time.Minute},
		} {
			if _, _, err := s.client.Session().Create(se, nil); !isStatus(err, 400) {
				t.Errorf("create %+v: %v, want a 400", se, err)
			}
		}
		list, _, err := s.client.Session().List(nil)
		if err != nil {
			t.Fatal(err)
		}
		before := len(list)
		s.expect(t, "PUT", "/v1/session/create?dc=dc2", "", 404, "No path to datacenter")
		s.expect(t, "GET", "/v1/session/create", "", 405, "")
		s.expect(t, "PUT", "/v1/session/destroy/", "", 400, "Missing session")
		s.expect(t, "PUT", "/v1/session/renew/", "", 400, "Missing session")
		s.expect(t, "GET", "/v1/session/info/", "", 400, "Missing session")
		s.expect(t, "GET", "/v1/session/node/", "", 400, "Missing node name")
		if list, _, _ := s.client.Session().List(nil); len(list) != before {
			t.Fatalf("refused requests created sessions: %d, was %d", len(list), before)
		}
	})
}
