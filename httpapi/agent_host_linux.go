package httpapi

import (
	"fmt"
	"syscall"
)

// diskUsage is the usage of the file system that holds path.
func diskUsage(path string) (*hostDisk, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return nil, fmt.Errorf("statfs %s: %w", path, err)
	}
	bs := uint64(st.Bsize)
	d := &hostDisk{
		Path:        path,
		Total:       st.Blocks * bs,
		Free:        st.Bavail * bs,
		InodesTotal: st.Files,
		InodesFree:  st.Ffree,
	}
	// Used counts what root's reserve hides from Free, as df does.
	d.Used = (st.Blocks - st.Bfree) * bs
	if total := d.Used + d.Free; total > 0 {
		d.UsedPercent = 100 * float64(d.Used) / float64(total)
	}
	d.InodesUsed = d.InodesTotal - min(d.InodesFree, d.InodesTotal)
	if d.InodesTotal > 0 {
		d.InodesUsedPercent = 100 * float64(d.InodesUsed) / float64(d.InodesTotal)
	}
	return d, nil
}
