// Package acl is Consul's ACL rule language and the authorizer compiled
// from it.
//
// Rules are HCL or JSON, as Consul writes them (key_prefix "app/" {
// policy = "write" }, operator = "read"). Parse checks them at write time
// and names the line and column of what it refuses. Compile merges the
// rules of a token's policies into an Authorizer: per resource kind a map
// of exact names and a radix tree of prefixes, so that a check is a map
// lookup or one longest-prefix walk, whatever the number of rules.
//
// Precedence is Consul's: an exact rule beats a prefix rule, the longest
// matching prefix wins, and between rules for the same name (from several
// policies, or repeated) deny wins over anything, else the wider access
// (write over list over read), as Consul's policy merger does. No rule
// matching: the default policy decides.
package acl
