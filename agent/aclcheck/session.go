package aclcheck

import (
	"github.com/coredns-coord/coredns-coord/acl"
	"github.com/coredns-coord/coredns-coord/state"
)

// SessionOnNode: creating, destroying or renewing a session needs
// session:write on its node.
func (t Token) SessionOnNode(node string) error {
	return t.Need(acl.ResourceSession, node, acl.AccessWrite)
}

// SessionByID (destroy, renew) needs session:write on the session's node. An unknown
// session passes: destroying it changes nothing.
func (t Token) SessionByID(st *state.Store, id string) error {
	_, sess, err := st.SessionGet(nil, id)
	if err != nil || sess == nil {
		return err
	}
	return t.SessionOnNode(sess.Node)
}
