package httpapi_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/hashicorp/consul/api"
)

func TestTxn(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	kv := s.client.KV()
	txn := s.client.Txn()

	put := func(key, value string) uint64 {
		t.Helper()
		if _, err := kv.Put(&api.KVPair{Key: key, Value: []byte(value)}, nil); err != nil {
			t.Fatal(err)
		}
		p, _, err := kv.Get(key, nil)
		if err != nil || p == nil {
			t.Fatalf("get %s: %+v, %v", key, p, err)
		}
		return p.ModifyIndex
	}
	value := func(key string) string {
		t.Helper()
		p, _, err := kv.Get(key, nil)
		if err != nil {
			t.Fatal(err)
		}
		if p == nil {
			return "<missing>"
		}
		return string(p.Value)
	}

	t.Run("commit", func(t *testing.T) {
		idx := put("txn/cas", "old")
		put("tree/a", "1")
		put("tree/b", "2")
		ok, resp, _, err := txn.Txn(api.TxnOps{
			{KV: &api.KVTxnOp{Verb: api.KVSet, Key: "txn/new", Value: []byte("hello"), Flags: 3}},
			{KV: &api.KVTxnOp{Verb: api.KVGet, Key: "txn/new"}},
			{KV: &api.KVTxnOp{Verb: api.KVCAS, Key: "txn/cas", Value: []byte("new"), Index: idx}},
			{KV: &api.KVTxnOp{Verb: api.KVDeleteTree, Key: "tree/"}},
			{KV: &api.KVTxnOp{Verb: api.KVGetTree, Key: "txn/"}},
		}, nil)
		if err != nil || !ok {
			t.Fatalf("txn = %v, %+v, %v", ok, resp, err)
		}
		if len(resp.Errors) != 0 {
			t.Fatalf("errors of a committed txn: %+v", resp.Errors)
		}
		var got []string
		for _, r := range resp.Results {
			if r.KV == nil {
				t.Fatalf("result without KV: %+v", r)
			}
			got = append(got, r.KV.Key+"="+string(r.KV.Value))
		}
		joined := strings.Join(got, " ")
		if !strings.Contains(joined, "txn/new=hello") || !strings.Contains(joined, "txn/cas=new") {
			t.Fatalf("results = %v", got)
		}
		if value("txn/new") != "hello" || value("txn/cas") != "new" || value("tree/a") != "<missing>" || value("tree/b") != "<missing>" {
			t.Fatalf("after txn: new=%s cas=%s tree/a=%s", value("txn/new"), value("txn/cas"), value("tree/a"))
		}
	})

	t.Run("failed check changes nothing", func(t *testing.T) {
		idx := put("acct/a", "100")
		put("acct/b", "0")
		stale := idx - 1
		ok, resp, _, err := txn.Txn(api.TxnOps{
			{KV: &api.KVTxnOp{Verb: api.KVSet, Key: "acct/a", Value: []byte("50")}},
			{KV: &api.KVTxnOp{Verb: api.KVSet, Key: "acct/b", Value: []byte("50")}},
			{KV: &api.KVTxnOp{Verb: api.KVSet, Key: "acct/c", Value: []byte("new")}},
			{KV: &api.KVTxnOp{Verb: api.KVCheckIndex, Key: "acct/a", Index: stale}},
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if ok || resp == nil || len(resp.Errors) != 1 || resp.Errors[0].OpIndex != 3 || resp.Errors[0].What == "" {
			t.Fatalf("txn with a failing check = %v, %+v", ok, resp)
		}
		if len(resp.Results) != 0 {
			t.Fatalf("failed txn has results: %+v", resp.Results)
		}
		if a, b, c := value("acct/a"), value("acct/b"), value("acct/c"); a != "100" || b != "0" || c != "<missing>" {
			t.Fatalf("after a failed txn: a=%s b=%s c=%s", a, b, c)
		}
		// The raw answer is Consul's: 409, no results, the failing op.
		body := fmt.Sprintf(`[{"KV":{"Verb":"set","Key":"acct/a","Value":"NTA="}},{"KV":{"Verb":"check-index","Key":"acct/a","Index":%d}}]`, stale)
		raw := s.expect(t, "PUT", "/v1/txn", body, 409, `"OpIndex":1`)
		var out map[string]json.RawMessage
		if err := json.Unmarshal(raw, &out); err != nil || string(out["Results"]) != "null" {
			t.Fatalf("409 body = %s (%v)", raw, err)
		}
	})

	t.Run("read only", func(t *testing.T) {
		put("ro", "v")
		ok, resp, meta, err := txn.Txn(api.TxnOps{
			{KV: &api.KVTxnOp{Verb: api.KVGet, Key: "ro"}},
			{KV: &api.KVTxnOp{Verb: api.KVCheckNotExists, Key: "ro-missing"}},
		}, &api.QueryOptions{AllowStale: true})
		if err != nil || !ok || len(resp.Results) != 1 || string(resp.Results[0].KV.Value) != "v" {
			t.Fatalf("read-only txn = %v, %+v, %v", ok, resp, err)
		}
		if !meta.KnownLeader {
			t.Fatalf("read-only txn meta = %+v", meta)
		}
		if _, _, _, err := txn.Txn(api.TxnOps{{KV: &api.KVTxnOp{Verb: api.KVGet, Key: "ro"}}}, &api.QueryOptions{RequireConsistent: true}); err != nil {
			t.Fatalf("consistent read-only txn: %v", err)
		}
		resp2, body := s.do(t, "PUT", "/v1/txn", strings.NewReader(`[{"KV":{"Verb":"get","Key":"ro"}}]`))
		if resp2.StatusCode != 200 || !strings.Contains(string(body), `"Errors":null`) || !strings.Contains(string(body), `"Value":"dg=="`) {
			t.Fatalf("raw read-only txn: %d %s", resp2.StatusCode, body)
		}
	})

	t.Run("catalog ops", func(t *testing.T) {
		ok, resp, _, err := txn.Txn(api.TxnOps{
			{Node: &api.NodeTxnOp{Verb: api.NodeSet, Node: api.Node{Node: "txn-node", Address: "10.1.1.1"}}},
			{Service: &api.ServiceTxnOp{Verb: api.ServiceSet, Node: "txn-node", Service: api.AgentService{ID: "web1", Service: "web", Port: 80}}},
			{Check: &api.CheckTxnOp{Verb: api.CheckSet, Check: api.HealthCheck{Node: "txn-node", CheckID: "web1-alive", Name: "alive", Status: "passing", ServiceID: "web1"}}},
		}, nil)
		if err != nil || !ok {
			t.Fatalf("catalog txn = %v, %+v, %v", ok, resp, err)
		}
		svcs, _, err := s.client.Catalog().Service("web", "", nil)
		if err != nil || len(svcs) != 1 || svcs[0].Node != "txn-node" || svcs[0].ServicePort != 80 {
			t.Fatalf("web after txn = %+v, %v", svcs, err)
		}
		ok, resp, _, err = txn.Txn(api.TxnOps{
			{Node: &api.NodeTxnOp{Verb: api.NodeGet, Node: api.Node{Node: "txn-node"}}},
		}, nil)
		if err != nil || !ok || len(resp.Results) != 1 || resp.Results[0].Node == nil || resp.Results[0].Node.Address != "10.1.1.1" {
			t.Fatalf("node get txn = %v, %+v, %v", ok, resp, err)
		}
	})

	t.Run("too many ops", func(t *testing.T) {
		ops := make([]string, 129)
		for i := range ops {
			ops[i] = fmt.Sprintf(`{"KV":{"Verb":"set","Key":"many/%d","Value":"eA=="}}`, i)
		}
		s.expect(t, "PUT", "/v1/txn", "["+strings.Join(ops, ",")+"]", 413, "too many operations")
		if keys, _, err := kv.Keys("many/", "", nil); err != nil || len(keys) != 0 {
			t.Fatalf("keys after a refused txn: %v, %v", keys, err)
		}
		s.expect(t, "PUT", "/v1/txn", "["+strings.Join(ops[:128], ",")+"]", 200, "")
	})

	t.Run("malformed", func(t *testing.T) {
		for body, want := range map[string]string{
			`[{"KV":{"Verb":"explode","Key":"k"}}]`:                       "verb",
			`[{"Node":{"Verb":"explode","Node":{"Node":"n"}}}]`:           "verb",
			`[{"Service":{"Verb":"x","Node":"n","Service":{"ID":"s"}}}]`:  "verb",
			`[{"Check":{"Verb":"x","Check":{"Node":"n","CheckID":"c"}}}]`: "verb",
			`[{}]`: "exactly one",
			`[{"KV":{"Verb":"set","Key":"k"},"Node":{"Verb":"get"}}]`: "exactly one",
			`[null]`: "exactly one",
			`[{"KV":{"Verb":"set","Key":"k","Value":"not base64!"}}]`: "decode",
			`{"KV":{}}`: "decode",
			`[{"KV":{"Verb":"set","Key":"k"}}] trailing`: "decode",
		} {
			s.expect(t, "PUT", "/v1/txn", body, 400, want)
		}
		big := strings.Repeat("A", 700*1024)
		s.expect(t, "PUT", "/v1/txn", `[{"KV":{"Verb":"set","Key":"big","Value":"`+big+`"}}]`, 413, "too large")
		s.expect(t, "PUT", "/v1/txn?stale&consistent", `[]`, 400, "stale")
		s.expect(t, "GET", "/v1/txn", "", 405, "")
		if p, _, err := kv.Get("k", nil); err != nil || p != nil {
			t.Fatalf("k after refused txns = %+v, %v", p, err)
		}
	})
}
