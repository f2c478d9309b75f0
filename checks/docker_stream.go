package checks

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
)

// Stream numbers in the Docker engine's multiplexed output.
const (
	dockerStdin     = 0
	dockerStdout    = 1
	dockerStderr    = 2
	dockerSystemErr = 3 // the engine's own error about the exec
)

// demuxDockerStream copies the payloads of a multiplexed exec output
// stream (frames of an 8-byte header: stream number, three zero bytes, a
// big-endian uint32 length; then that many bytes) to out, stdout and
// stderr alike, in the order they come. A system-error frame ends the copy
// with the engine's message.
//
// The engine hijacks the connection for the stream and closes it when the
// command's output ends, sometimes with a reset rather than a clean close;
// a reset between frames is taken as the end, which the exec's exit code,
// asked for next, confirms or not.
func demuxDockerStream(r io.Reader, out io.Writer) error {
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if err == io.EOF || errors.Is(err, syscall.ECONNRESET) {
				return nil
			}
			return fmt.Errorf("frame header: %w", err)
		}
		stream, size := hdr[0], binary.BigEndian.Uint32(hdr[4:])
		if stream > dockerSystemErr || hdr[1] != 0 || hdr[2] != 0 || hdr[3] != 0 {
			return fmt.Errorf("malformed output stream from the Docker engine (frame header % x)", hdr)
		}
		if stream == dockerSystemErr {
			var msg strings.Builder
			if _, err := io.Copy(&msg, io.LimitReader(r, min(int64(size), dockerMessageMax))); err != nil {
				return fmt.Errorf("engine error frame: %w", err)
			}
			return fmt.Errorf("the Docker engine: %s", strings.TrimSpace(strings.ToValidUTF8(msg.String(), "")))
		}
		// stdin (0) only appears for a TTY-less exec with stdin attached,
		// which we never ask for; its bytes are output like the others.
		if _, err := io.CopyN(out, r, int64(size)); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("frame of %d bytes: %w", size, err)
		}
	}
}
