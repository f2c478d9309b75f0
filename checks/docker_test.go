package checks

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"testing/iotest"
	"time"

	"github.com/coredns-coord/coredns-coord/structs"
)

// dockerOn allows Docker checks and points them at the fake engine.
func dockerOn(f *fakeDocker) Options { return Options{EnableScripts: true, DockerHost: f.host} }

func dockerCT(container string, args ...string) *structs.CheckType {
	return &structs.CheckType{DockerContainerID: container, ScriptArgs: args, Shell: "/bin/bash", Interval: ms(50), Timeout: ms(5000)}
}

func TestDockerExitCodes(t *testing.T) {
	cases := []struct {
		code   int
		status string
	}{
		{0, structs.HealthPassing},
		{1, structs.HealthWarning},
		{2, structs.HealthCritical},
		{126, structs.HealthCritical},
	}
	containers := map[string]fakeCommand{}
	for _, tc := range cases {
		containers["c"+strconv.Itoa(tc.code)] = fakeCommand{
			frames: []fakeFrame{{dockerStdout, "to stdout\n"}, {dockerStderr, "to stderr\n"}},
			exit:   tc.code,
		}
	}
	f := startFakeDocker(t, containers)
	for _, tc := range cases {
		var r recorder
		start(t, "d"+strconv.Itoa(tc.code), dockerCT("c"+strconv.Itoa(tc.code), "/usr/bin/check", "-v"), &r, dockerOn(f))
		waitLast(t, &r, tc.status, equals("to stdout\nto stderr\n"))
	}

	// What reached the engine: the args as the command, no shell; both
	// streams attached, no TTY (so the output comes multiplexed), and an
	// attached start.
	creates, starts, _ := f.requests()
	if len(creates) == 0 || len(starts) == 0 {
		t.Fatalf("engine saw %d creates, %d starts", len(creates), len(starts))
	}
	for _, c := range creates {
		want := fakeCreate{Container: c.Container, AttachStdout: true, AttachStderr: true, Cmd: []string{"/usr/bin/check", "-v"}}
		if !reflect.DeepEqual(c, want) || containers[c.Container].frames == nil {
			t.Fatalf("create exec %+v, want %+v", c, want)
		}
	}
	for _, s := range starts {
		if s.Detach || s.Tty {
			t.Fatalf("start exec %+v, want attached without a TTY", s)
		}
	}
}

func TestDockerOutputKeepsTail(t *testing.T) {
	// 10,000 bytes of digits over both streams, then a final line.
	var frames []fakeFrame
	for i := range 1000 {
		frames = append(frames, fakeFrame{byte(dockerStdout + i%2), "0123456789"})
	}
	frames = append(frames, fakeFrame{dockerStdout, "\n"}, fakeFrame{dockerStderr, "the end\n"})
	f := startFakeDocker(t, map[string]fakeCommand{"loud": {frames: frames}})
	var r recorder
	ct := dockerCT("loud", "loud.sh")
	ct.OutputMaxSize = 100
	start(t, "loud", ct, &r, dockerOn(f))
	got := waitLast(t, &r, structs.HealthPassing, nil)
	head, tail, ok := strings.Cut(got.output, "\n...\n")
	if !ok || head != "Captured 100 of 10009 bytes" || len(tail) != 100 || !strings.HasSuffix(tail, "0123456789\nthe end\n") {
		t.Fatalf("output %q", got.output)
	}
}

func TestDockerEngineUnreachable(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "none.sock")
	var r recorder
	start(t, "gone", dockerCT("web", "true"), &r, Options{EnableScripts: true, DockerHost: "unix://" + sock})
	got := waitLast(t, &r, structs.HealthCritical, nil)
	want := `create exec in container "web": cannot reach the Docker engine at unix://` + sock + ": dial unix " + sock
	if !strings.HasPrefix(got.output, want) {
		t.Fatalf("output %q, want it to start with %q", got.output, want)
	}
}

func TestDockerContainerNotFound(t *testing.T) {
	f := startFakeDocker(t, map[string]fakeCommand{"other": {}})
	var r recorder
	start(t, "nf", dockerCT("nope", "true"), &r, dockerOn(f))
	waitLast(t, &r, structs.HealthCritical, equals(`create exec in container "nope": container not found (No such container: nope)`))
}

// The output can end before the engine has recorded the exit code; the
// check asks again rather than taking the running exec's answer.
func TestDockerWaitsForExitCode(t *testing.T) {
	f := startFakeDocker(t, map[string]fakeCommand{"lag": {frames: []fakeFrame{{dockerStdout, "slow\n"}}, exit: 1, running: 3}})
	var r recorder
	start(t, "lag", dockerCT("lag", "true"), &r, dockerOn(f))
	waitLast(t, &r, structs.HealthWarning, equals("slow\n"))
	if _, _, inspects := f.requests(); inspects < 4 {
		t.Fatalf("a warning after %d inspections; the first three said running", inspects)
	}
}

func TestDockerTimeout(t *testing.T) {
	f := startFakeDocker(t, map[string]fakeCommand{"slow": {hang: true}})
	var r recorder
	ct := dockerCT("slow", "sleep", "60")
	ct.Interval, ct.Timeout = structs.Duration(time.Hour), ms(200)
	begin := time.Now()
	c := start(t, "slow", ct, &r, dockerOn(f))
	// An hour's interval: run now rather than after a random stagger.
	c.(*intervalCheck).timer.Reset(0)
	waitLast(t, &r, structs.HealthCritical, equals(`Timed out (200ms) running check in container "slow"`))
	if d := time.Since(begin); d > 5*time.Second {
		t.Fatalf("critical only after %s", d)
	}
}

func TestDockerBadStreams(t *testing.T) {
	f := startFakeDocker(t, map[string]fakeCommand{
		"garbled": {raw: []byte("not a frame header\n")},
		"syserr":  {frames: []fakeFrame{{dockerStdout, "partial\n"}, {dockerSystemErr, "exec failed: no such file\n"}}},
		"cut":     {raw: []byte{dockerStdout, 0, 0, 0, 0, 0, 0, 100, 'a', 'b'}},
	})
	cases := map[string]func(string) bool{
		"garbled": contains(`start exec in container "garbled": read output: malformed output stream from the Docker engine (frame header 6e 6f 74 20`),
		"syserr":  equals("start exec in container \"syserr\": read output: the Docker engine: exec failed: no such file\n\npartial\n"),
		"cut":     equals("start exec in container \"cut\": read output: frame of 100 bytes: unexpected EOF\n\nab"),
	}
	for container, match := range cases {
		var r recorder
		start(t, container, dockerCT(container, "true"), &r, dockerOn(f))
		waitLast(t, &r, structs.HealthCritical, match)
	}
}

// With no engine configured, DOCKER_HOST names it, as for Consul.
func TestDockerHostFromEnvironment(t *testing.T) {
	f := startFakeDocker(t, map[string]fakeCommand{"env": {frames: []fakeFrame{{dockerStdout, "via DOCKER_HOST\n"}}}})
	t.Setenv("DOCKER_HOST", f.host)
	var r recorder
	start(t, "env", dockerCT("env", "true"), &r, Options{EnableScripts: true})
	waitLast(t, &r, structs.HealthPassing, equals("via DOCKER_HOST\n"))

	if got := dockerHost("unix:///configured.sock"); got != "unix:///configured.sock" {
		t.Errorf("configured host: got %q", got)
	}
	t.Setenv("DOCKER_HOST", "")
	if got := dockerHost(""); got != DefaultDockerHost {
		t.Errorf("default host: got %q", got)
	}
}

func TestDockerRefused(t *testing.T) {
	noop := func(string, string, string) {}
	ct := dockerCT("web", "true")
	if ct.Kind() != structs.CheckDocker {
		t.Fatalf("kind %q, want docker", ct.Kind())
	}
	_, err := New("d", "", ct, noop, Options{})
	if !errors.Is(err, ErrDockerDisabled) {
		t.Fatalf("scripts off: got %v, want ErrDockerDisabled", err)
	}
	if !strings.Contains(err.Error(), "enable_script_checks") {
		t.Errorf("ErrDockerDisabled does not say how to enable Docker checks: %q", err)
	}
	for _, host := range []string{"tcp://127.0.0.1:2375", "unix://", "/var/run/docker.sock"} {
		_, err := New("d", "", ct, noop, Options{EnableScripts: true, DockerHost: host})
		if err == nil || !strings.Contains(err.Error(), "only a unix:///path socket") {
			t.Errorf("host %q: got %v", host, err)
		}
	}
	invalid := map[string]*structs.CheckType{
		"container without args":  {DockerContainerID: "web", Interval: ms(100)},
		"container with http":     {DockerContainerID: "web", HTTP: "http://x/", Interval: ms(100)},
		"shell without container": {ScriptArgs: []string{"true"}, Shell: "/bin/sh", Interval: ms(100)},
		"no interval":             {DockerContainerID: "web", ScriptArgs: []string{"true"}},
	}
	for name, ct := range invalid {
		if _, err := New("d", "", ct, noop, Options{EnableScripts: true}); !errors.Is(err, structs.ErrInvalidCheck) {
			t.Errorf("%s: got %v, want ErrInvalidCheck", name, err)
		}
	}
	// Without a container, args are a script check; the default timeout
	// of both is the script one.
	script := &structs.CheckType{ScriptArgs: []string{"true"}, Interval: structs.Duration(time.Minute)}
	if script.Kind() != structs.CheckScript {
		t.Fatalf("kind %q, want script", script.Kind())
	}
	ct = dockerCT("web", "true")
	ct.Interval, ct.Timeout = structs.Duration(time.Minute), 0
	ct.Normalize()
	if time.Duration(ct.Timeout) != structs.DefaultScriptTimeout {
		t.Errorf("default Docker timeout %s, want %s", time.Duration(ct.Timeout), structs.DefaultScriptTimeout)
	}
}

// frame is one multiplexed-stream frame as the engine writes it.
func frame(stream byte, data string) string {
	var hdr [8]byte
	hdr[0] = stream
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(data)))
	return string(hdr[:]) + data
}

// resetReader returns its data, then the error a reset connection gives.
type resetReader struct{ r io.Reader }

func (r resetReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if err == io.EOF {
		return n, &net.OpError{Op: "read", Net: "unix", Err: os.NewSyscallError("read", syscall.ECONNRESET)}
	}
	return n, err
}

func TestDemuxDockerStream(t *testing.T) {
	stream := frame(dockerStdout, "out 1\n") + frame(dockerStderr, "err 1\n") + frame(dockerStdout, "") + frame(dockerStdout, "out 2\n")
	for name, r := range map[string]io.Reader{
		"whole":         strings.NewReader(stream),
		"a byte a time": iotest.OneByteReader(strings.NewReader(stream)),
		"reset at end":  resetReader{strings.NewReader(stream)},
	} {
		var out strings.Builder
		if err := demuxDockerStream(r, &out); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if out.String() != "out 1\nerr 1\nout 2\n" {
			t.Fatalf("%s: output %q", name, out.String())
		}
	}
	var out strings.Builder
	err := demuxDockerStream(strings.NewReader(stream[:3]), &out)
	if err == nil || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("cut header: got %v, want unexpected EOF", err)
	}
	err = demuxDockerStream(strings.NewReader(frame(4, "x")), &out)
	if err == nil || !strings.Contains(err.Error(), "malformed") {
		t.Fatalf("stream 4: got %v", err)
	}
}
