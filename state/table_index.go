package state

// Table names a table whose change index a reader may ask for. It is not a
// string, so that a misspelt table fails to compile instead of answering
// index 0.
type Table uint8

// The tables readers ask for.
const (
	TableNodes Table = iota + 1
	TableServices
	TableChecks
	TableKVs
	TableSessions
)

// tableNames are the memdb names of the Tables.
var tableNames = [...]string{
	TableNodes:    tableNodes,
	TableServices: tableServices,
	TableChecks:   tableChecks,
	TableKVs:      tableKVs,
	TableSessions: tableSessions,
}

func (t Table) String() string {
	if int(t) < len(tableNames) {
		return tableNames[t]
	}
	return ""
}

// MaxIndex is the highest change index of the given tables.
func (s *Store) MaxIndex(tables ...Table) uint64 {
	tx := s.db.Txn(false)
	defer tx.Abort()
	var highest uint64
	for _, t := range tables {
		highest = max(highest, maxIndex(tx, t.String()))
	}
	return highest
}
