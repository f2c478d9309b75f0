package raftstore

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	wal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
)

// BenchmarkLogStore compares the two durable log stores we could use, each
// appending one 256-byte entry per call with fsync, as a single-server
// Raft does for every write. The result picked raft-wal (see the note in
// the README's Durability section); "+checksum" is what a server runs.
func BenchmarkLogStore(b *testing.B) {
	stores := map[string]func(dir string) (raft.LogStore, func(), error){
		"raft-wal": func(dir string) (raft.LogStore, func(), error) {
			w, err := wal.Open(dir)
			if err != nil {
				return nil, nil, err
			}
			return w, func() { w.Close() }, nil
		},
		"raft-wal+checksum": func(dir string) (raft.LogStore, func(), error) {
			meta := &metadb.BoltMetaDB{}
			w, err := openLog(dir, meta, hclog.NewNullLogger())
			if err != nil {
				return nil, nil, err
			}
			return checkedLogs{w}, func() { w.Close(); meta.Close() }, nil
		},
		"raft-boltdb": func(dir string) (raft.LogStore, func(), error) {
			s, err := raftboltdb.NewBoltStore(filepath.Join(dir, "raft.db"))
			if err != nil {
				return nil, nil, err
			}
			return s, func() { s.Close() }, nil
		},
	}
	for name, open := range stores {
		for _, batch := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/batch=%d", name, batch), func(b *testing.B) {
				s, closeFn, err := open(b.TempDir())
				if err != nil {
					b.Fatal(err)
				}
				defer closeFn()
				data := make([]byte, 256)
				logs := make([]*raft.Log, batch)
				idx := uint64(0)
				b.SetBytes(int64(len(data) * batch))
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					for j := range logs {
						idx++
						logs[j] = &raft.Log{Index: idx, Term: 1, Type: raft.LogCommand, Data: data}
					}
					if err := s.StoreLogs(logs); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
