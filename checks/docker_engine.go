package checks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// DefaultDockerHost is the Docker engine's socket when neither
// Options.DockerHost nor DOCKER_HOST names one, as for Consul and the
// docker CLI.
const DefaultDockerHost = "unix:///var/run/docker.sock"

// dockerHost is the engine a Docker check talks to: the configured one,
// else $DOCKER_HOST, else the default socket.
func dockerHost(configured string) string {
	if configured != "" {
		return configured
	}
	if env := os.Getenv("DOCKER_HOST"); env != "" {
		return env
	}
	return DefaultDockerHost
}

// Limits on what the engine sends besides the exec's output, which goes
// through the check's tail buffer.
const (
	dockerReplyMax   = 64 << 10 // a create or inspect answer
	dockerMessageMax = 1 << 10  // an error message quoted in the output
)

// dockerEngine is a client for the three Docker Engine API calls a Docker
// check makes (create, start and inspect an exec), over the engine's unix
// socket with net/http rather than the Docker SDK and its dependencies.
type dockerEngine struct {
	host   string // as configured, for messages
	client *http.Client
}

func newDockerEngine(host string) (*dockerEngine, error) {
	path, ok := strings.CutPrefix(host, "unix://")
	if !ok || path == "" {
		return nil, fmt.Errorf("checks: Docker host %q: only a unix:///path socket is supported (set DOCKER_HOST)", host)
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
		// One connection serves a check's create and inspect calls; the
		// start call's connection is the engine's to close.
		MaxIdleConnsPerHost: 1,
		IdleConnTimeout:     30 * time.Second,
		DisableCompression:  true,
	}
	return &dockerEngine{host: host, client: &http.Client{Transport: tr}}, nil
}

func (e *dockerEngine) close() { e.client.CloseIdleConnections() }

// call sends one request. The host part of the URL means nothing on a
// unix socket; "docker" is what the docker CLI sends.
func (e *dockerEngine) call(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://docker"+path, rd)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := e.client.Do(req)
	if err != nil {
		// The url.Error would name http://docker, which is no address.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("cannot reach the Docker engine at %s: %w", e.host, err)
	}
	return resp, nil
}

// createExec prepares cmd to run in the container and returns the exec's
// ID. Without a TTY the engine sends stdout and stderr multiplexed, which
// keeps the output free of terminal control codes.
func (e *dockerEngine) createExec(ctx context.Context, container string, cmd []string) (string, error) {
	req := struct {
		AttachStdin  bool
		AttachStdout bool
		AttachStderr bool
		Tty          bool
		Cmd          []string
	}{AttachStdout: true, AttachStderr: true, Cmd: cmd}
	resp, err := e.call(ctx, http.MethodPost, "/containers/"+url.PathEscape(container)+"/exec", req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusCreated, http.StatusOK:
	case http.StatusNotFound:
		return "", fmt.Errorf("container not found (%s)", engineMessage(resp))
	case http.StatusConflict:
		return "", fmt.Errorf("container is paused or not running (%s)", engineMessage(resp))
	default:
		return "", fmt.Errorf("the Docker engine answered %s (%s)", resp.Status, engineMessage(resp))
	}
	var created struct{ ID string }
	if err := json.NewDecoder(io.LimitReader(resp.Body, dockerReplyMax)).Decode(&created); err != nil {
		return "", fmt.Errorf("read the Docker engine's answer: %w", err)
	}
	if created.ID == "" {
		return "", errors.New("the Docker engine returned no exec ID")
	}
	return created.ID, nil
}

// startExec runs the exec attached and copies its stdout and stderr, in
// the order written, to out. It returns when the command's output ends.
func (e *dockerEngine) startExec(ctx context.Context, execID string, out io.Writer) error {
	req := struct{ Detach, Tty bool }{}
	resp, err := e.call(ctx, http.MethodPost, "/exec/"+url.PathEscape(execID)+"/start", req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return fmt.Errorf("exec not found (%s)", engineMessage(resp))
	case http.StatusConflict:
		return fmt.Errorf("container is paused or not running (%s)", engineMessage(resp))
	default:
		return fmt.Errorf("the Docker engine answered %s (%s)", resp.Status, engineMessage(resp))
	}
	if err := demuxDockerStream(resp.Body, out); err != nil {
		return fmt.Errorf("read output: %w", err)
	}
	return nil
}

// inspectExec reports whether the exec is still running and, once it is
// not, its exit code (nil if the engine gave none).
func (e *dockerEngine) inspectExec(ctx context.Context, execID string) (running bool, exitCode *int, err error) {
	resp, err := e.call(ctx, http.MethodGet, "/exec/"+url.PathEscape(execID)+"/json", nil)
	if err != nil {
		return false, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, nil, fmt.Errorf("the Docker engine answered %s (%s)", resp.Status, engineMessage(resp))
	}
	var info struct {
		Running  bool
		ExitCode *int
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, dockerReplyMax)).Decode(&info); err != nil {
		return false, nil, fmt.Errorf("read the Docker engine's answer: %w", err)
	}
	return info.Running, info.ExitCode, nil
}

// engineMessage is the reason in an error answer: the engine's JSON
// {"message": ...}, else the start of the body, else the status line.
func engineMessage(resp *http.Response) string {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, dockerMessageMax))
	var m struct{ Message string }
	if json.Unmarshal(b, &m) == nil && m.Message != "" {
		return m.Message
	}
	if s := strings.TrimSpace(strings.ToValidUTF8(string(b), "")); s != "" {
		return s
	}
	return resp.Status
}
