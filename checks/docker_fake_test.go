package checks

import (
	"encoding/binary"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
)

// fakeDocker is a Docker engine that knows the three exec calls a Docker
// check makes, served on a unix socket in a temporary directory. Like the
// real engine, it answers an exec start by hijacking the connection,
// writing the multiplexed output and closing it.
type fakeDocker struct {
	host string // unix:///.../d.sock

	mu         sync.Mutex
	containers map[string]fakeCommand // by container ID
	execs      map[string]string      // exec ID -> container ID
	running    map[string]int         // exec ID -> inspections left that say running
	creates    []fakeCreate
	starts     []fakeStart
	inspects   int
}

// fakeCommand is what an exec in a container does.
type fakeCommand struct {
	frames  []fakeFrame
	raw     []byte // sent instead of frames: a malformed stream
	exit    int
	running int  // inspections that report it still running before it exits
	hang    bool // the start call answers nothing until the client leaves
}

type fakeFrame struct {
	stream byte
	data   string
}

// fakeCreate and fakeStart are the request bodies the fake received.
type fakeCreate struct {
	Container                               string
	AttachStdin, AttachStdout, AttachStderr bool
	Tty                                     bool
	Cmd                                     []string
}

type fakeStart struct{ Detach, Tty bool }

func startFakeDocker(t *testing.T, containers map[string]fakeCommand) *fakeDocker {
	t.Helper()
	path := filepath.Join(t.TempDir(), "d.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatalf("listen on %s: %v", path, err)
	}
	f := &fakeDocker{
		host:       "unix://" + path,
		containers: containers,
		execs:      map[string]string{},
		running:    map[string]int{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /containers/{id}/exec", f.create)
	mux.HandleFunc("POST /exec/{id}/start", f.start)
	mux.HandleFunc("GET /exec/{id}/json", f.inspect)
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return f
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func notFound(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusNotFound, map[string]string{"message": msg})
}

func (f *fakeDocker) create(w http.ResponseWriter, r *http.Request) {
	var req fakeCreate
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": err.Error()})
		return
	}
	id := r.PathValue("id")
	req.Container = id
	f.mu.Lock()
	defer f.mu.Unlock()
	f.creates = append(f.creates, req)
	cmd, ok := f.containers[id]
	if !ok {
		notFound(w, "No such container: "+id)
		return
	}
	execID := "exec-" + strconv.Itoa(len(f.execs)+1)
	f.execs[execID] = id
	f.running[execID] = cmd.running
	writeJSON(w, http.StatusCreated, map[string]string{"Id": execID})
}

func (f *fakeDocker) start(w http.ResponseWriter, r *http.Request) {
	var req fakeStart
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"message": err.Error()})
		return
	}
	execID := r.PathValue("id")
	f.mu.Lock()
	f.starts = append(f.starts, req)
	container, ok := f.execs[execID]
	cmd := f.containers[container]
	f.mu.Unlock()
	if !ok {
		notFound(w, "No such exec instance: "+execID)
		return
	}
	if cmd.hang {
		<-r.Context().Done()
		return
	}
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	rw.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\n\r\n")
	if cmd.raw != nil {
		rw.Write(cmd.raw)
	}
	for _, fr := range cmd.frames {
		var hdr [8]byte
		hdr[0] = fr.stream
		binary.BigEndian.PutUint32(hdr[4:], uint32(len(fr.data)))
		rw.Write(hdr[:])
		rw.WriteString(fr.data)
	}
	rw.Flush()
}

func (f *fakeDocker) inspect(w http.ResponseWriter, r *http.Request) {
	execID := r.PathValue("id")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.inspects++
	container, ok := f.execs[execID]
	if !ok {
		notFound(w, "No such exec instance: "+execID)
		return
	}
	if f.running[execID] > 0 {
		f.running[execID]--
		writeJSON(w, http.StatusOK, map[string]any{"ID": execID, "Running": true, "ExitCode": nil})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ID": execID, "Running": false, "ExitCode": f.containers[container].exit})
}

func (f *fakeDocker) requests() ([]fakeCreate, []fakeStart, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeCreate(nil), f.creates...), append([]fakeStart(nil), f.starts...), f.inspects
}
