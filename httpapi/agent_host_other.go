//go:build !linux

package httpapi

import (
	"fmt"
	"runtime"
)

// diskUsage is only read on Linux.
func diskUsage(path string) (*hostDisk, error) {
	return nil, fmt.Errorf("disk usage of %s: not supported on %s", path, runtime.GOOS)
}
