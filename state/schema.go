// Package state is the catalog and KV state store, owned by either role: a
// server's Raft FSM and a client's replica apply the same commands to it.
// It is go-memdb tables with an index table that records, per table, the
// Raft index of its last change. Every query adds its iterators' watch
// channels to a memdb.WatchSet, which is what blocking queries wait on.
// Readers outside ask for a table's change index by its typed name
// (TableNodes, ...), never by a string.
package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"
)

const (
	tableNodes    = "nodes"
	tableServices = "services"
	tableChecks   = "checks"
	tableKVs      = "kvs"
	tableSessions = "sessions"
	// tableSessionChecks maps each check a session is bound to back to the
	// session, so that a check turning critical finds its sessions.
	tableSessionChecks = "session_checks"
	tableIndex         = "index"
	// ACL tables (acl.go).
	tableACLTokens   = "acl_tokens"
	tableACLPolicies = "acl_policies"
	tableACLRoles    = "acl_roles"

	indexID          = "id"
	indexNode        = "node"
	indexService     = "service"
	indexStatus      = "status"
	indexNodeService = "node_service"
	indexNodeCheck   = "node_check"
	indexSession     = "session"
	indexSecret      = "secret"
	indexName        = "name"
)

// aclTables hold tokens, policies and roles; their changes do not alter
// DNS answers but do invalidate resolved tokens.
var aclTables = []string{tableACLTokens, tableACLPolicies, tableACLRoles}

// catalogTables are the tables whose changes alter DNS answers.
var catalogTables = []string{tableNodes, tableServices, tableChecks}

// IndexEntry records the last Raft index that changed a table.
type IndexEntry struct {
	Key   string
	Value uint64
}

func lower(field string) memdb.Indexer {
	return &memdb.StringFieldIndex{Field: field, Lowercase: true}
}

func schema() *memdb.DBSchema {
	return &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{
		tableNodes: {
			Name: tableNodes,
			Indexes: map[string]*memdb.IndexSchema{
				indexID: {Name: indexID, Unique: true, Indexer: lower("Node")},
			},
		},
		tableServices: {
			Name: tableServices,
			Indexes: map[string]*memdb.IndexSchema{
				indexID: {Name: indexID, Unique: true, Indexer: &memdb.CompoundIndex{
					Indexes: []memdb.Indexer{lower("Node"), lower("ServiceID")},
				}},
				indexNode:    {Name: indexNode, Indexer: lower("Node")},
				indexService: {Name: indexService, Indexer: lower("ServiceName")},
			},
		},
		tableChecks: {
			Name: tableChecks,
			Indexes: map[string]*memdb.IndexSchema{
				indexID: {Name: indexID, Unique: true, Indexer: &memdb.CompoundIndex{
					Indexes: []memdb.Indexer{lower("Node"), lower("CheckID")},
				}},
				indexNode:    {Name: indexNode, Indexer: lower("Node")},
				indexStatus:  {Name: indexStatus, Indexer: lower("Status")},
				indexService: {Name: indexService, AllowMissing: true, Indexer: lower("ServiceName")},
				indexNodeService: {Name: indexNodeService, AllowMissing: true, Indexer: &memdb.CompoundIndex{
					Indexes: []memdb.Indexer{lower("Node"), lower("ServiceID")},
				}},
			},
		},
		tableKVs: {
			Name: tableKVs,
			Indexes: map[string]*memdb.IndexSchema{
				indexID:      {Name: indexID, Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Key"}},
				indexSession: {Name: indexSession, AllowMissing: true, Indexer: &memdb.StringFieldIndex{Field: "Session"}},
			},
		},
		tableSessions: {
			Name: tableSessions,
			Indexes: map[string]*memdb.IndexSchema{
				indexID:   {Name: indexID, Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
				indexNode: {Name: indexNode, Indexer: lower("Node")},
			},
		},
		tableSessionChecks: {
			Name: tableSessionChecks,
			Indexes: map[string]*memdb.IndexSchema{
				indexID: {Name: indexID, Unique: true, Indexer: &memdb.CompoundIndex{
					Indexes: []memdb.Indexer{lower("Node"), lower("CheckID"), &memdb.StringFieldIndex{Field: "Session"}},
				}},
				indexNodeCheck: {Name: indexNodeCheck, Indexer: &memdb.CompoundIndex{
					Indexes: []memdb.Indexer{lower("Node"), lower("CheckID")},
				}},
				indexSession: {Name: indexSession, Indexer: &memdb.StringFieldIndex{Field: "Session"}},
			},
		},
		tableACLTokens: {
			Name: tableACLTokens,
			Indexes: map[string]*memdb.IndexSchema{
				indexID:     {Name: indexID, Unique: true, Indexer: &memdb.StringFieldIndex{Field: "AccessorID"}},
				indexSecret: {Name: indexSecret, Unique: true, Indexer: &memdb.StringFieldIndex{Field: "SecretID"}},
			},
		},
		tableACLPolicies: {
			Name: tableACLPolicies,
			Indexes: map[string]*memdb.IndexSchema{
				indexID:   {Name: indexID, Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
				indexName: {Name: indexName, Unique: true, Indexer: lower("Name")},
			},
		},
		tableACLRoles: {
			Name: tableACLRoles,
			Indexes: map[string]*memdb.IndexSchema{
				indexID:   {Name: indexID, Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
				indexName: {Name: indexName, Unique: true, Indexer: lower("Name")},
			},
		},
		tableAutopilot: autopilotSchema(),
		tableIndex: {
			Name: tableIndex,
			Indexes: map[string]*memdb.IndexSchema{
				indexID: {Name: indexID, Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Key"}},
			},
		},
	}}
}

func newDB() *memdb.MemDB {
	db, err := memdb.NewMemDB(schema())
	if err != nil {
		// The schema is static; an error here is a programming mistake.
		panic(fmt.Sprintf("state: invalid schema: %v", err))
	}
	return db
}
