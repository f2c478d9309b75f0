package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"

	"github.com/coredns-coord/coredns-coord/structs"
)

// tableAutopilot holds the one autopilot configuration row.
const tableAutopilot = "autopilot"

// autopilotRow is the stored configuration; ID is always autopilotID.
type autopilotRow struct {
	ID     string
	Config structs.AutopilotConfig
}

const autopilotID = "autopilot"

func autopilotSchema() *memdb.TableSchema {
	return &memdb.TableSchema{
		Name: tableAutopilot,
		Indexes: map[string]*memdb.IndexSchema{
			indexID: {Name: indexID, Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
		},
	}
}

// AutopilotConfig is the stored autopilot configuration, or nil before the
// first leader has written one.
func (s *Store) AutopilotConfig() (*structs.AutopilotConfig, error) {
	tx := s.db.Txn(false)
	defer tx.Abort()
	raw, err := tx.First(tableAutopilot, indexID, autopilotID)
	if err != nil {
		return nil, fmt.Errorf("state: autopilot config: %w", err)
	}
	if raw == nil {
		return nil, nil
	}
	c := raw.(*autopilotRow).Config
	return &c, nil
}

// AutopilotApply stores the configuration at idx and answers true, or
// answers false for a check-and-set that no longer matches. A CAS at
// index 0 stores only when there is no configuration yet (what the first
// leader writes); as in Consul, no other CAS creates one.
func (s *Store) AutopilotApply(idx uint64, req *structs.AutopilotRequest) (bool, error) {
	tx := s.db.Txn(true)
	defer tx.Abort()
	raw, err := tx.First(tableAutopilot, indexID, autopilotID)
	if err != nil {
		return false, fmt.Errorf("state: autopilot config: %w", err)
	}
	c := req.Config
	c.CreateIndex, c.ModifyIndex = idx, idx
	if raw != nil {
		existing := raw.(*autopilotRow).Config
		if req.CAS && existing.ModifyIndex != req.CASIndex {
			return false, nil
		}
		c.CreateIndex = existing.CreateIndex
	} else if req.CAS && req.CASIndex != 0 {
		return false, nil
	}
	if err := tx.Insert(tableAutopilot, &autopilotRow{ID: autopilotID, Config: c}); err != nil {
		return false, fmt.Errorf("state: autopilot config: %w", err)
	}
	tx.Commit()
	return true, nil
}
