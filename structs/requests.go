package structs

// RegisterRequest is catalog/register's body and the Raft command that every
// registration (agent or catalog) becomes.
type RegisterRequest struct {
	Datacenter      string
	ID              string
	Node            string
	Address         string
	TaggedAddresses map[string]string
	NodeMeta        map[string]string
	Locality        *Locality `json:",omitempty"`
	Service         *NodeService
	Check           *HealthCheck
	Checks          HealthChecks
	SkipNodeUpdate  bool
}

// DeregisterRequest is catalog/deregister's body: the node alone removes it
// with everything on it, ServiceID or CheckID narrow that down.
type DeregisterRequest struct {
	Datacenter string
	Node       string
	ServiceID  string
	CheckID    string
}

// DirEntry is a KV entry, with Consul's JSON shape (Value is base64 in JSON).
type DirEntry struct {
	LockIndex uint64
	Key       string
	Flags     uint64
	Value     []byte
	Session   string `json:",omitempty"`
	RaftIndex
}

// KVOp names a KV operation, as Consul's txn API does.
type KVOp string

const (
	KVSet        KVOp = "set"
	KVCAS        KVOp = "cas"
	KVDelete     KVOp = "delete"
	KVDeleteCAS  KVOp = "delete-cas"
	KVDeleteTree KVOp = "delete-tree"
)

// KVRequest is the Raft command for one KV write. For cas and delete-cas,
// DirEnt.ModifyIndex holds the expected index (0: the key must not exist).
type KVRequest struct {
	Op     KVOp
	DirEnt DirEntry
}

// AllChecks is Check and Checks together.
func (r *RegisterRequest) AllChecks() HealthChecks {
	if r.Check == nil {
		return r.Checks
	}
	return append(HealthChecks{r.Check}, r.Checks...)
}
