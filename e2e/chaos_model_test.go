package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/anishathalye/porcupine"
)

// A register per key, checked with porcupine. Every value written is
// unique, so a CAS made at the ModifyIndex of a read names the value it
// expects: it applies if and only if the register still holds that value.
type regInput struct {
	Op       string // read, write, cas
	Key      string
	Value    string // written (write, cas)
	Expected string // cas
}

type regOutput struct {
	Value   string // read
	OK      bool   // cas
	Unknown bool   // a write whose outcome is unknown
}

// regInit is every key's value before the workload starts.
const regInit = "init"

// unknownReturn is the return time of an operation whose outcome is
// unknown: it may take effect at any time after its call, or never (as
// Jepsen does, it can be linearized after everything else).
const unknownReturn = math.MaxInt64 / 2

var registerModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range history {
			k := op.Input.(regInput).Key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		sort.Strings(keys)
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return regInit },
	Step: func(state, input, output any) (bool, any) {
		s, in, out := state.(string), input.(regInput), output.(regOutput)
		switch in.Op {
		case "read":
			return out.Value == s, s
		case "write":
			return true, in.Value
		case "cas":
			matches := s == in.Expected
			switch {
			case out.Unknown && matches:
				return true, in.Value
			case out.Unknown:
				return true, s
			case out.OK:
				return matches, in.Value
			default:
				return !matches, s
			}
		}
		return false, s
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(regInput), output.(regOutput)
		result := ""
		switch {
		case out.Unknown:
			result = "unknown"
		case in.Op == "read":
			result = fmt.Sprintf("%q", out.Value)
		case in.Op == "cas":
			result = fmt.Sprint(out.OK)
		default:
			result = "ok"
		}
		switch in.Op {
		case "read":
			return fmt.Sprintf("get(%s) -> %s", in.Key, result)
		case "cas":
			return fmt.Sprintf("cas(%s, %q -> %q) -> %s", in.Key, in.Expected, in.Value, result)
		}
		return fmt.Sprintf("put(%s, %q) -> %s", in.Key, in.Value, result)
	},
	DescribeState: func(state any) string { return fmt.Sprintf("%q", state) },
}

// checkLinearizable checks the history; on a violation (or a check that
// does not finish in time) it keeps the history (history.jsonl) and writes
// porcupine's HTML visualization beside it, and returns the latter's path.
func checkLinearizable(history []porcupine.Operation, timeout time.Duration) (porcupine.CheckResult, string, error) {
	res, info := porcupine.CheckOperationsVerbose(registerModel, history, timeout)
	if res == porcupine.Ok {
		return res, "", nil
	}
	dir, err := os.MkdirTemp("", "coredns-coord-chaos-")
	if err != nil {
		return res, "", err
	}
	// The history itself, one operation a line, beside the visualization.
	var lines []byte
	for _, op := range history {
		line, err := json.Marshal(op)
		if err != nil {
			return res, "", err
		}
		lines = append(append(lines, line...), '\n')
	}
	if err := os.WriteFile(filepath.Join(dir, "history.jsonl"), lines, 0o644); err != nil {
		return res, "", err
	}
	path := filepath.Join(dir, "history.html")
	if err := porcupine.VisualizePath(registerModel, info, path); err != nil {
		return res, "", fmt.Errorf("visualize: %w", err)
	}
	return res, path, nil
}
