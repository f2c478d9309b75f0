// Package aclcheck holds what each write needs of a token: the HTTP API
// checks a request with it before it sends the write, and the server that
// applies a forwarded write checks the command with it again, against its
// own ACL state, so that the server port is no way around the ACLs. One
// set of rules for both, so that they cannot drift apart.
package aclcheck
