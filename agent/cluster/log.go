package cluster

import "github.com/coredns-coord/coredns-coord/internal/logging"

// Log is the log of an agent's cluster duties. The roles write their lines
// under the agent's name, as before they were split from it: the lines
// are the agent's, whichever package holds the code.
var Log = logging.New("agent")
