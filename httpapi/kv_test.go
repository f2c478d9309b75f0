package httpapi_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/hashicorp/consul/api"
)

func TestKV(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	kv := s.client.KV()

	put := func(key, value string, flags uint64) {
		t.Helper()
		if _, err := kv.Put(&api.KVPair{Key: key, Value: []byte(value), Flags: flags}, nil); err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
	}
	get := func(key string) *api.KVPair {
		t.Helper()
		p, _, err := kv.Get(key, nil)
		if err != nil {
			t.Fatalf("get %s: %v", key, err)
		}
		return p
	}

	t.Run("put get", func(t *testing.T) {
		put("app/config/db", "postgres://x", 42)
		p := get("app/config/db")
		if p == nil || string(p.Value) != "postgres://x" || p.Flags != 42 || p.Key != "app/config/db" ||
			p.CreateIndex == 0 || p.ModifyIndex != p.CreateIndex {
			t.Fatalf("get = %+v", p)
		}
		put("app/config/db", "postgres://y", 0)
		q := get("app/config/db")
		if string(q.Value) != "postgres://y" || q.Flags != 0 || q.CreateIndex != p.CreateIndex || q.ModifyIndex <= p.ModifyIndex {
			t.Fatalf("after update = %+v (before %+v)", q, p)
		}
		if get("app/missing") != nil {
			t.Fatal("missing key found")
		}
		// Binary values and keys that need escaping survive the trip.
		bin := []byte{0, 1, 2, 0xff, '\n'}
		if _, err := kv.Put(&api.KVPair{Key: "app/odd key%/é", Value: bin}, nil); err != nil {
			t.Fatal(err)
		}
		if p := get("app/odd key%/é"); p == nil || !bytes.Equal(p.Value, bin) {
			t.Fatalf("odd key = %+v", p)
		}
		put("app/empty", "", 0)
		if p := get("app/empty"); p == nil || len(p.Value) != 0 {
			t.Fatalf("empty value = %+v", p)
		}
	})

	t.Run("list keys", func(t *testing.T) {
		put("app/config/cache", "redis", 0)
		put("app/feature/x", "on", 0)
		put("other", "1", 0)
		pairs, _, err := kv.List("app/config/", nil)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, p := range pairs {
			keys = append(keys, p.Key)
		}
		if !slices.Equal(keys, []string{"app/config/cache", "app/config/db"}) {
			t.Fatalf("list app/config/ = %v", keys)
		}
		none, _, err := kv.List("nothing/", nil)
		if err != nil || len(none) != 0 {
			t.Fatalf("list nothing/ = %v, %v", none, err)
		}
		top, _, err := kv.Keys("", "/", nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(top, []string{"app/", "other"}) {
			t.Fatalf("top-level keys = %v", top)
		}
		app, _, err := kv.Keys("app/", "/", nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(app, []string{"app/config/", "app/empty", "app/feature/", "app/odd key%/"}) {
			t.Fatalf("keys under app/ = %v", app)
		}
		all, _, err := kv.Keys("app/config/", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(all, []string{"app/config/cache", "app/config/db"}) {
			t.Fatalf("all keys under app/config/ = %v", all)
		}
	})

	t.Run("cas", func(t *testing.T) {
		// cas=0 creates only.
		ok, _, err := kv.CAS(&api.KVPair{Key: "lock", Value: []byte("a"), ModifyIndex: 0}, nil)
		if err != nil || !ok {
			t.Fatalf("create-only on a new key: %v, %v", ok, err)
		}
		ok, _, err = kv.CAS(&api.KVPair{Key: "lock", Value: []byte("b"), ModifyIndex: 0}, nil)
		if err != nil || ok {
			t.Fatalf("create-only on an existing key: %v, %v", ok, err)
		}
		p := get("lock")
		if string(p.Value) != "a" {
			t.Fatalf("failed cas wrote: %q", p.Value)
		}
		ok, _, err = kv.CAS(&api.KVPair{Key: "lock", Value: []byte("c"), ModifyIndex: p.ModifyIndex + 1000}, nil)
		if err != nil || ok {
			t.Fatalf("cas with a wrong index: %v, %v", ok, err)
		}
		ok, _, err = kv.CAS(&api.KVPair{Key: "lock", Value: []byte("d"), ModifyIndex: p.ModifyIndex}, nil)
		if err != nil || !ok {
			t.Fatalf("cas with the right index: %v, %v", ok, err)
		}
		q := get("lock")
		if string(q.Value) != "d" {
			t.Fatalf("value after cas = %q", q.Value)
		}
		ok, _, err = kv.DeleteCAS(&api.KVPair{Key: "lock", ModifyIndex: p.ModifyIndex}, nil)
		if err != nil || ok {
			t.Fatalf("delete-cas with a stale index: %v, %v", ok, err)
		}
		ok, _, err = kv.DeleteCAS(&api.KVPair{Key: "lock", ModifyIndex: q.ModifyIndex}, nil)
		if err != nil || !ok {
			t.Fatalf("delete-cas with the right index: %v, %v", ok, err)
		}
		if get("lock") != nil {
			t.Fatal("lock still there")
		}
	})

	t.Run("delete", func(t *testing.T) {
		if _, err := kv.Delete("other", nil); err != nil {
			t.Fatal(err)
		}
		if get("other") != nil {
			t.Fatal("other still there")
		}
		if _, err := kv.Delete("never-existed", nil); err != nil {
			t.Fatal(err)
		}
		if _, err := kv.DeleteTree("app/config/", nil); err != nil {
			t.Fatal(err)
		}
		keys, _, err := kv.Keys("app/", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(keys, []string{"app/empty", "app/feature/x", "app/odd key%/é"}) {
			t.Fatalf("keys after delete-tree = %v", keys)
		}
	})
}
