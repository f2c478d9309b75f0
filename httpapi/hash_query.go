package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"time"
)

// Agent-local reads (agent/service/:id) have no Raft index: they block on
// a hash of the result instead, as Consul's do. The client sends the
// X-Consul-ContentHash it last saw as ?hash, and the read returns when the
// result hashes differently or ?wait passes.

// localQueryFunc reads the agent's local state and returns the result
// with its content hash.
type localQueryFunc[T any] func() (T, string, error)

// hashBlockingQuery runs fn once, or, with a hash, until the result's
// hash differs from it: it waits on changed (a channel closed at the next
// change of local state, taken before each read so no change is missed),
// for at most the wait time plus up to 1/16 of it as jitter. On timeout it
// returns the last result. A client that disconnects frees its waiter at
// once (errClientGone).
func hashBlockingQuery[T any](ctx context.Context, hash string, wait time.Duration, changed func() <-chan struct{}, fn localQueryFunc[T]) (T, string, error) {
	ch := changed()
	res, h, err := fn()
	if err != nil || hash == "" || h != hash {
		return res, h, err
	}
	timer := time.NewTimer(jittered(wait))
	defer timer.Stop()
	defer blocking()()
	for {
		select {
		case <-ctx.Done():
			var zero T
			return zero, "", errClientGone
		case <-timer.C:
			return res, h, nil
		case <-ch:
		}
		ch = changed()
		res, h, err = fn()
		if err != nil || h != hash {
			return res, h, err
		}
	}
}

// contentHash is the hash agent-local reads block on: FNV-64a of the
// result's JSON, as 16 hex digits. It is opaque to clients, who only
// compare it (Consul hashes its structs differently; the values differ).
func contentHash(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("hash response: %w", err)
	}
	h := fnv.New64a()
	h.Write(b)
	return fmt.Sprintf("%016x", h.Sum64()), nil
}
