package rpc

import "encoding/json"

// jsonCodec encodes gRPC messages as JSON: the request and state types
// already carry Consul's JSON shape, and a write's cost is dominated by the
// Raft fsync, not by encoding.
type jsonCodec struct{}

func (jsonCodec) Marshal(v any) ([]byte, error)      { return json.Marshal(v) }
func (jsonCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }
func (jsonCodec) Name() string                       { return "json" }
