package httpapi

import (
	"context"
	"errors"
	"net/http"

	"github.com/hashicorp/go-memdb"

	"github.com/coredns-coord/coredns-coord/acl"
	"github.com/coredns-coord/coredns-coord/agent"
	"github.com/coredns-coord/coredns-coord/agent/aclcheck"
)

// ACL enforcement. With ACLs off none of this runs: decide returns at
// once, no identity is attached, and authorize and the list filters see
// no identity and let everything through.

type identityKey struct{}

// requestIdentity is a request's resolved token, and whether the request
// carried one (only then do filtered lists say so). It is the request's
// context too, so that attaching it costs one allocation, not two.
type requestIdentity struct {
	context.Context
	*agent.Identity
	carried bool
	// secret is the SecretID the request is made with (the default or
	// anonymous token when it carried none): its writes carry it to the
	// leader, which checks them again.
	secret string
}

func (ri *requestIdentity) Value(key any) any {
	if key == (identityKey{}) {
		return ri
	}
	return ri.Context.Value(key)
}

// requestIdentityOf is what decide attached to r; false with ACLs off.
func requestIdentityOf(r *http.Request) (*requestIdentity, bool) {
	ri, ok := r.Context().Value(identityKey{}).(*requestIdentity)
	return ri, ok
}

// identityOf is the request's resolved token, nil with ACLs off.
func identityOf(r *http.Request) *agent.Identity {
	if ri, ok := requestIdentityOf(r); ok {
		return ri.Identity
	}
	return nil
}

// tokenless are the paths Consul serves without looking at the token:
// bootstrap (a client may still send an old one) and the status reads.
var tokenless = map[string]bool{
	"/v1/acl/bootstrap": true,
	"/v1/status/leader": true,
	"/v1/status/peers":  true,
}

// resolveRequest attaches the request's resolved token; an unknown or
// expired one is Consul's 403 "ACL not found". On error it returns r as
// it came.
func (s *server) resolveRequest(r *http.Request, token string) (*http.Request, error) {
	secret := s.agent.EffectiveToken(token)
	id, err := s.agent.ResolveToken(secret)
	if errors.Is(err, agent.ErrACLNotFound) {
		if s.agent.State().ACLBootstrapIndex() == 0 {
			return r, errorf(http.StatusForbidden, "ACL system must be bootstrapped before making any requests that require authorization: %s", msgACLNotFound)
		}
		return r, errorf(http.StatusForbidden, msgACLNotFound)
	}
	if err != nil {
		return r, err
	}
	return r.WithContext(&requestIdentity{Context: r.Context(), Identity: id, carried: token != "", secret: secret}), nil
}

// writer makes the request's Raft writes with its token (none with ACLs
// off).
func (s *server) writer(r *http.Request) agent.Writer {
	if ri, ok := requestIdentityOf(r); ok {
		return s.agent.As(ri.secret)
	}
	return s.agent.As("")
}

// authorize refuses with Consul's 403 unless the request's token grants
// want on name of res.
func authorize(r *http.Request, res acl.Resource, name string, want acl.Access) error {
	if t, ok := checkerOf(r); ok {
		return t.Need(res, name, want)
	}
	return nil
}

// checkerOf is the request's token as the shared write rules (aclcheck)
// take it; false with ACLs off.
func checkerOf(r *http.Request) (aclcheck.Token, bool) {
	id := identityOf(r)
	if id == nil {
		return aclcheck.Token{}, false
	}
	return id.Checks(), true
}

// filteredHeader is Consul's header on a list that ACLs shortened.
const filteredHeader = "X-Consul-Results-Filtered-By-ACLs"

// aclFiltered wraps a list query: it keeps the items the token may read
// and, when it dropped some and the request carried a token, says so (a
// request without a token learns nothing of what is hidden, as Consul).
func aclFiltered[T any](w http.ResponseWriter, r *http.Request, fn queryFunc[[]T], readable func(*acl.Authorizer, T) bool) queryFunc[[]T] {
	ri, ok := requestIdentityOf(r)
	if !ok {
		return fn
	}
	return func(ws memdb.WatchSet) (uint64, []T, error) {
		idx, items, err := fn(ws)
		if err != nil {
			return idx, items, err
		}
		kept := filterReadable(ri.Authorizer, items, readable)
		markFiltered(w, ri, len(kept) < len(items))
		return idx, kept, nil
	}
}

func filterReadable[T any](authz *acl.Authorizer, items []T, readable func(*acl.Authorizer, T) bool) []T {
	kept := items[:0:0]
	for _, it := range items {
		if readable(authz, it) {
			kept = append(kept, it)
		}
	}
	return kept
}

func markFiltered(w http.ResponseWriter, ri *requestIdentity, filtered bool) {
	if filtered && ri.carried {
		w.Header().Set(filteredHeader, "true")
	} else {
		w.Header().Del(filteredHeader)
	}
}

// aclFilteredValue is aclFiltered for a result that is not a list: filter
// shortens it in place (or drops it, answering nil) and reports whether
// it hid anything.
func aclFilteredValue[T any](w http.ResponseWriter, r *http.Request, fn queryFunc[T], filter func(*acl.Authorizer, T) (T, bool)) queryFunc[T] {
	ri, ok := requestIdentityOf(r)
	if !ok {
		return fn
	}
	return func(ws memdb.WatchSet) (uint64, T, error) {
		idx, v, err := fn(ws)
		if err != nil {
			return idx, v, err
		}
		v, filtered := filter(ri.Authorizer, v)
		markFiltered(w, ri, filtered)
		return idx, v, nil
	}
}

// authorizerOf is the request's authorizer, nil with ACLs off: for the
// lists built outside a query function.
func authorizerOf(r *http.Request) *acl.Authorizer {
	if id := identityOf(r); id != nil {
		return id.Authorizer
	}
	return nil
}

// markRequestFiltered says that a list built outside a query function was
// shortened.
func markRequestFiltered(w http.ResponseWriter, r *http.Request) {
	if ri, ok := requestIdentityOf(r); ok {
		markFiltered(w, ri, true)
	}
}
