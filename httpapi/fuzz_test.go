package httpapi

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/coredns-coord/coredns-coord/state"
	"github.com/coredns-coord/coredns-coord/structs"
)

// FuzzDecodeRegistration feeds arbitrary bodies to the catalog/register,
// catalog/deregister and agent/service/register decoding and validation,
// and applies what they accept to a fresh state store: none of it may
// panic, refusals must be client errors, and accepted requests must be
// complete.
func FuzzDecodeRegistration(f *testing.F) {
	for _, seed := range []string{
		`{"Node":"n1","Address":"10.0.0.1"}`,
		`{"Node":"n1","Address":"10.0.0.1","NodeMeta":{"a":"b"},"Service":{"Service":"web","Tags":["x"],"Port":80,"Weights":{"Passing":0,"Warning":0}},"Check":{"CheckID":"c","Status":"passing","ServiceID":"web"}}`,
		`{"Node":"n1","Address":"10.0.0.1","Checks":[{"Name":"c"},null]}`,
		`{"Node":"n1","SkipNodeUpdate":true,"Service":{"Service":"s","Port":-1}}`,
		`{"Datacenter":"dc2","Node":"n1","Address":"a","ID":"x"}`,
		`{"Name":"redis","Port":6379,"Tags":["a"],"Meta":{"k":"v"},"Weights":{"Passing":2,"Warning":1},"Check":null,"Checks":null}`,
		`{"Name":"x","Check":{"TTL":"10s"}}`,
		`{"Name":"x","Checks":[]}`,
		`{"Name":"x","Checks":[1]}`,
		`{"Name":"x","Kind":"connect-proxy","Proxy":{}}`,
		`{"Node":"n1","ServiceID":"s","CheckID":"c"}`,
		`null`, `[]`, `{`, `{"Node":1}`, `{} {}`, "",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		clientError := func(what string, err error) {
			code, _ := statusOf(err)
			var tooBig *http.MaxBytesError
			if code != http.StatusBadRequest && code != http.StatusNotFound && !errors.As(err, &tooBig) {
				t.Fatalf("%s refused %q with %d: %v", what, body, code, err)
			}
		}

		if req, err := decodeCatalogRegistration(bytes.NewReader(body), "dc1"); err != nil {
			clientError("catalog/register", err)
		} else {
			if req.Node == "" || req.Datacenter != "dc1" || (req.Service != nil && req.Service.ID == "") {
				t.Fatalf("catalog/register accepted an incomplete request: %+v", req)
			}
			st := state.NewStore()
			if err := st.EnsureRegistration(1, req); err != nil {
				clientError("catalog registration apply", err)
			}
		}

		if def, err := decodeAgentService(bytes.NewReader(body)); err != nil {
			clientError("agent/service/register", err)
		} else {
			svc := def.NodeService()
			if svc.ID == "" || svc.Service == "" {
				t.Fatalf("agent/service/register accepted %+v", def)
			}
			req := &structs.RegisterRequest{Node: "node1", SkipNodeUpdate: true, Service: svc}
			st := state.NewStore()
			if err := st.EnsureRegistration(1, &structs.RegisterRequest{Node: "node1", Address: "127.0.0.1"}); err != nil {
				t.Fatal(err)
			}
			if err := st.EnsureRegistration(2, req); err != nil {
				t.Fatalf("agent registration %+v failed to apply: %v", req, err)
			}
		}

		if req, err := decodeDeregistration(bytes.NewReader(body), "dc1"); err != nil {
			clientError("catalog/deregister", err)
		} else if req.Node == "" {
			t.Fatalf("catalog/deregister accepted %+v", req)
		}
	})
}

// FuzzQueryOptions feeds arbitrary query strings to the parameter parsing
// of the read endpoints, and runs any filter that compiles over sample data.
func FuzzQueryOptions(f *testing.F) {
	for _, seed := range []string{
		"index=5&wait=10s",
		"index=abc", "wait=5", "wait=-1s", "wait=100h", "index=18446744073709551616",
		"stale&consistent", "stale", "consistent=",
		"dc=dc1", "dc=DC1", "dc=dc2",
		"node-meta=rack:r1&node-meta=env&node-meta=:&tag=a&tag=b",
		"filter=Node%20%3D%3D%20node1",
		`filter=Meta.rack%20%3D%3D%20"r1"%20and%20not%20(Address%20matches%20"^10")`,
		"filter=%22v1%22%20in%20Service.Tags",
		"filter=((((", "filter=Checks.Status%20%3D%3D%20passing",
		"passing=maybe&cas=1&flags=-1&recurse&keys&separator=/",
		"%zz&index=1",
	} {
		f.Add(seed)
	}
	nodes := []*structs.Node{
		{Node: "node1", Address: "10.0.0.1", Meta: map[string]string{"rack": "r1"}},
		{Node: "node2", Address: "10.0.0.2"},
	}
	entries := []*structs.ServiceEntry{{
		Node:    nodes[0],
		Service: &structs.NodeService{ID: "web", Service: "web", Tags: []string{"v1"}, Weights: &structs.Weights{Passing: 1}},
		Checks:  structs.HealthChecks{{Node: "node1", CheckID: "c", Status: "passing"}},
	}}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw) // keep what parses, as net/http does
		opts, err := parseQuery(q, "dc1")
		if err != nil {
			if code, _ := statusOf(err); code != http.StatusBadRequest && code != http.StatusNotFound {
				t.Fatalf("query %q refused with %d: %v", raw, code, err)
			}
			return
		}
		if opts.Wait <= 0 || opts.Wait > maxWait {
			t.Fatalf("query %q: wait %v out of range", raw, opts.Wait)
		}
		if opts.Stale && opts.Consistent {
			t.Fatalf("query %q: stale and consistent accepted together", raw)
		}
		_, _ = boolParam(q, "passing")
		_, _, _ = uintParam(q, "cas")
		_, _, _ = uintParam(q, "flags")
		_ = conflictingFlags(q, "cas", "acquire", "release")
		_ = matchesNodeMeta(nodes[0].Meta, opts.NodeMeta)

		filter, err := opts.compileFilter()
		if err != nil {
			if code, _ := statusOf(err); code != http.StatusBadRequest {
				t.Fatalf("filter %q refused with %d", opts.Filter, code)
			}
			return
		}
		if out, err := applyFilter(filter, nodes); err == nil && len(out) > len(nodes) {
			t.Fatalf("filter %q grew the list", opts.Filter)
		}
		_, _ = applyFilter(filter, entries)
		_, _ = applyFilter(filter, map[string]*structs.Node{"a": nodes[0]})
	})
}

// FuzzDecodeTxnAndSession feeds arbitrary bodies to the /v1/txn and
// session/create decoding, and runs accepted transactions on a fresh state
// store: nothing may panic, refusals must be client errors (400 or 413),
// and what is accepted must be well formed.
func FuzzDecodeTxnAndSession(f *testing.F) {
	for _, seed := range []string{
		`[{"KV":{"Verb":"set","Key":"k","Value":"eA==","Flags":1}},{"KV":{"Verb":"get","Key":"k"}}]`,
		`[{"KV":{"Verb":"cas","Key":"k","Index":0}},{"KV":{"Verb":"check-index","Key":"k","Index":3}}]`,
		`[{"KV":{"Verb":"lock","Key":"k","Session":"x"}},{"KV":{"Verb":"delete-tree","Key":""}}]`,
		`[{"Node":{"Verb":"set","Node":{"Node":"n","Address":"a","ModifyIndex":4,"CreateIndex":9}}}]`,
		`[{"Service":{"Verb":"cas","Node":"n","Service":{"ID":"s","Service":"s","Weights":{"Passing":0,"Warning":0}}}}]`,
		`[{"Check":{"Verb":"delete-cas","Check":{"Node":"n","CheckID":"c"}}}]`,
		`[{"KV":{"Verb":"nope"}}]`, `[{}]`, `[null]`, `[]`, `null`, `{}`, `[{"KV":{}}] x`,
		`{"Name":"n","TTL":"10s","LockDelay":15,"Behavior":"delete","Checks":["a"],"NodeChecks":["a","b"]}`,
		`{"LockDelay":"2m"}`, `{"LockDelay":1e300}`, `{"LockDelay":-1}`, `{"TTL":"1s"}`, `{"ServiceChecks":[{"ID":""}]}`,
		"", " ",
	} {
		f.Add([]byte(seed))
	}
	clientError := func(t *testing.T, what string, body []byte, err error) {
		code, _ := statusOf(err)
		var tooBig *http.MaxBytesError
		if code != http.StatusBadRequest && code != http.StatusRequestEntityTooLarge && !errors.As(err, &tooBig) {
			t.Fatalf("%s refused %q with %d: %v", what, body, code, err)
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if ops, err := decodeTxn(bytes.NewReader(body), "dc1"); err != nil {
			clientError(t, "txn", body, err)
		} else {
			if len(ops) > structs.MaxTxnOps {
				t.Fatalf("txn accepted %d ops", len(ops))
			}
			for i, op := range ops {
				if op == nil || countSet(op.KV != nil, op.Node != nil, op.Service != nil, op.Check != nil) != 1 {
					t.Fatalf("txn accepted malformed op %d: %+v", i, op)
				}
			}
			if _, err := state.NewStore().Txn(1, ops); err != nil {
				clientError(t, "txn apply", body, err)
			}
		}

		r, _ := http.NewRequest(http.MethodPut, "/v1/session/create", bytes.NewReader(body))
		if sess, err := decodeSessionCreate(r); err != nil {
			clientError(t, "session/create", body, err)
		} else if err := validateSession(sess); err != nil || sess.LockDelay < 0 || sess.LockDelay > structs.MaxLockDelay {
			t.Fatalf("session/create accepted %+v: %v", sess, err)
		}
	})
}
