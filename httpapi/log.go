package httpapi

import "github.com/coredns-coord/coredns-coord/internal/logging"

// httpLog is the HTTP API's log: "[LEVEL] httpapi: ...".
var httpLog = logging.New("httpapi")
