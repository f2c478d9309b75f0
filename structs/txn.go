package structs

// Txn verbs beyond the KV write ops of KVOp, as Consul's /v1/txn spells
// them.
const (
	KVLock           KVOp = "lock"
	KVUnlock         KVOp = "unlock"
	KVGet            KVOp = "get"
	KVGetTree        KVOp = "get-tree"
	KVCheckIndex     KVOp = "check-index"
	KVCheckSession   KVOp = "check-session"
	KVCheckNotExists KVOp = "check-not-exists"
)

// Catalog verbs of the Node, Service and Check operations of a txn.
const (
	TxnGet       = "get"
	TxnSet       = "set"
	TxnCAS       = "cas"
	TxnDelete    = "delete"
	TxnDeleteCAS = "delete-cas"
)

// MaxTxnOps is the most operations one transaction may hold.
const MaxTxnOps = 128

// TxnKVOp is one KV operation of a transaction: Verb with the entry it
// works on (DirEnt.ModifyIndex is the index for cas and check-index,
// DirEnt.Session the session for lock, unlock and check-session).
type TxnKVOp struct {
	Verb   KVOp
	DirEnt DirEntry
}

// TxnNodeOp is a node operation; Node.ModifyIndex is the index for cas.
type TxnNodeOp struct {
	Verb string
	Node Node
}

// TxnServiceOp is a service operation on Node.
type TxnServiceOp struct {
	Verb    string
	Node    string
	Service NodeService
}

// TxnCheckOp is a check operation.
type TxnCheckOp struct {
	Verb  string
	Check HealthCheck
}

// TxnOp is one operation: exactly one field is set.
type TxnOp struct {
	KV      *TxnKVOp      `json:",omitempty"`
	Node    *TxnNodeOp    `json:",omitempty"`
	Service *TxnServiceOp `json:",omitempty"`
	Check   *TxnCheckOp   `json:",omitempty"`
}

// TxnOps is a whole transaction.
type TxnOps []*TxnOp

// TxnResult is what one operation returns; reads and writes of KV entries
// return the entry (without its value for writes, as Consul).
type TxnResult struct {
	KV      *DirEntry    `json:",omitempty"`
	Node    *Node        `json:",omitempty"`
	Service *NodeService `json:",omitempty"`
	Check   *HealthCheck `json:",omitempty"`
}

// TxnError says which operation failed and why.
type TxnError struct {
	OpIndex int
	What    string
}

// TxnResponse is the outcome: Results when it committed, Errors when it
// did not (and then nothing was written).
type TxnResponse struct {
	Results []*TxnResult
	Errors  []*TxnError
}

// TxnRequest is the Raft command for a transaction with writes.
type TxnRequest struct {
	Ops TxnOps
}
