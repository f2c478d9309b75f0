//go:build !unix

package cli

import (
	"os"
	"os/exec"
)

// setProcessGroup does nothing where there are no POSIX process groups.
func setProcessGroup(*exec.Cmd) {}

// signalProcess sends sig to p; where only killing is supported (Windows),
// any signal kills.
func signalProcess(p *os.Process, sig os.Signal, _ bool) error {
	if err := p.Signal(sig); err != nil {
		return p.Kill()
	}
	return nil
}

// exitCode is a finished child's exit code, -1 if it is unknown.
func exitCode(ps *os.ProcessState) int {
	if ps == nil {
		return -1
	}
	return ps.ExitCode()
}
