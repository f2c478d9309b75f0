package checks

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/coredns-coord/coredns-coord/structs"
)

// Backoff between asks for the exit code of an exec whose output has ended
// but which the engine still reports as running.
const (
	dockerPollFirst = 5 * time.Millisecond
	dockerPollMax   = 200 * time.Millisecond
)

// dockerCheck runs ScriptArgs in a container through the Docker engine's
// exec API, as Consul does: the args are the command itself (no shell; as
// in Consul, Shell is not used with args). Exit 0 is passing, 1 warning,
// anything else critical, as for a script check, and stdout and stderr
// together are the output, of which the last OutputMaxSize bytes are kept.
// An engine that cannot be reached, a missing or stopped container, or a
// timeout is critical with the reason as the output.
//
// The engine has no call to kill an exec: one still running at the
// timeout is left to finish in the container.
type dockerCheck struct {
	id        string
	container string
	cmd       []string
	timeout   time.Duration
	maxOut    int
	engine    *dockerEngine
}

func newDocker(id string, ct *structs.CheckType, host string) (*dockerCheck, error) {
	engine, err := newDockerEngine(host)
	if err != nil {
		return nil, err
	}
	return &dockerCheck{
		id:        id,
		container: ct.DockerContainerID,
		cmd:       append([]string(nil), ct.ScriptArgs...),
		timeout:   checkTimeout(ct),
		maxOut:    outputMaxSize(ct),
		engine:    engine,
	}, nil
}

func (d *dockerCheck) close() { d.engine.close() }

func (d *dockerCheck) run(ctx context.Context) (string, string) {
	out := newTailBuffer(d.maxOut)
	code, err := d.exec(ctx, out)
	output := out.String()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		log.Warningf("check %q: command in container %q timed out after %s; it may still be running there", d.id, d.container, d.timeout)
		msg := "Timed out (" + d.timeout.String() + ") running check in container " + strconv.Quote(d.container)
		if output != "" {
			msg += "\n\n" + output
		}
		return structs.HealthCritical, msg
	}
	if err != nil {
		if output != "" {
			return structs.HealthCritical, err.Error() + "\n\n" + output
		}
		return structs.HealthCritical, err.Error()
	}
	switch code {
	case 0:
		return structs.HealthPassing, output
	case 1:
		return structs.HealthWarning, output
	default:
		return structs.HealthCritical, output
	}
}

// exec runs the command once, its output going to out, and returns its
// exit code.
func (d *dockerCheck) exec(ctx context.Context, out *tailBuffer) (int, error) {
	id, err := d.engine.createExec(ctx, d.container, d.cmd)
	if err != nil {
		return 0, fmt.Errorf("create exec in container %q: %w", d.container, err)
	}
	if err := d.engine.startExec(ctx, id, out); err != nil {
		return 0, fmt.Errorf("start exec in container %q: %w", d.container, err)
	}
	code, err := d.exitCode(ctx, id)
	if err != nil {
		return 0, fmt.Errorf("inspect exec in container %q: %w", d.container, err)
	}
	return code, nil
}

// exitCode asks for the exec's exit code until the engine has one: its
// bookkeeping may lag a moment behind the end of the output.
func (d *dockerCheck) exitCode(ctx context.Context, execID string) (int, error) {
	wait := dockerPollFirst
	for {
		running, code, err := d.engine.inspectExec(ctx, execID)
		if err != nil {
			return 0, err
		}
		if !running {
			if code == nil {
				return 0, errors.New("the Docker engine reported no exit code")
			}
			return *code, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, dockerPollMax)
	}
}
