package rpc

import "github.com/coredns-coord/coredns-coord/internal/logging"

// rpcLog is the server port's log: "[LEVEL] rpc: ...".
var rpcLog = logging.New("rpc")
