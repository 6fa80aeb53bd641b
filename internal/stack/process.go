package stack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hiring-pipeline/hiring-pipeline/internal/function"
)

// Bounds of an instance's life.
const (
	// readyTimeout bounds the wait for a new instance to accept connections.
	readyTimeout = 30 * time.Second
	// readyPoll is how often a new instance's port is tried.
	readyPoll = 10 * time.Millisecond
	// stopGrace is how long an instance has to exit after SIGTERM before it
	// is killed.
	stopGrace = 3 * time.Second
	// portAttempts bounds the starts of one instance on ports that another
	// program took between the stack's finding them free and the instance's
	// listening on them.
	portAttempts = 3
)

// instance is one process serving a function.
type instance struct {
	id       string // the function's name and the instance's number, as InstanceVar
	pid      int
	host     string // 127.0.0.1:port
	url      string // http://host
	cmd      *exec.Cmd
	out      *output
	ready    time.Time // when its port first accepted a connection
	exited   chan struct{}
	waitErr  error // why it exited; set before exited is closed
	inFlight atomic.Int64
}

// snapshot describes the instance as Stack.Instances does.
func (i *instance) snapshot() Instance {
	return Instance{PID: i.pid, URL: i.url, InFlight: int(i.inFlight.Load())}
}

// exitStatus says how the instance ended, such as "signal: killed" or "exit
// status 1". It is only meaningful once exited is closed.
func (i *instance) exitStatus() string {
	if i.cmd.ProcessState != nil {
		return i.cmd.ProcessState.String()
	}
	return fmt.Sprint(i.waitErr)
}

// launcher starts the processes of instances.
type launcher struct {
	command []string
	env     []string // the stack's Config.Env, as KEY=value
	output  *syncWriter
	// ctx ends when the stack closes: instances get SIGTERM, then SIGKILL
	// after stopGrace.
	ctx context.Context
}

// start runs a new instance of d named id, and waits until it accepts
// connections. A process that exits first or does not listen within
// readyTimeout is an error that quotes its output.
func (l *launcher) start(d function.Definition, id string) (*instance, error) {
	for attempt := 1; ; attempt++ {
		inst, err := l.startOnce(d, id)
		if errors.Is(err, errPortTaken) && attempt < portAttempts {
			continue
		}
		return inst, err
	}
}

// errPortTaken reports an instance that could not listen on its port.
var errPortTaken = errors.New("its port was taken")

func (l *launcher) startOnce(d function.Definition, id string) (*instance, error) {
	port, err := freePort(l.ctx)
	if err != nil {
		return nil, err
	}
	inst := &instance{
		id:     id,
		host:   net.JoinHostPort("127.0.0.1", strconv.Itoa(port)),
		out:    &output{dest: l.output},
		exited: make(chan struct{}),
	}
	inst.url = "http://" + inst.host
	env := append(slices.Clone(l.env),
		"FUNCTION_TARGET="+d.EntryPoint,
		"PORT="+strconv.Itoa(port),
		"HOST=127.0.0.1",
		"K_SERVICE="+d.Name,
		function.InstanceVar+"="+id,
	)
	slices.Sort(env)
	cmd := exec.CommandContext(l.ctx, l.command[0], l.command[1:]...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = inst.out, inst.out
	cmd.SysProcAttr = procAttr()
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = stopGrace
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", strings.Join(l.command, " "), err)
	}
	inst.cmd, inst.pid = cmd, cmd.Process.Pid
	go func() {
		inst.waitErr = cmd.Wait()
		inst.out.flush()
		close(inst.exited)
	}()
	if err := inst.waitListening(l.ctx); err != nil {
		_ = cmd.Process.Kill()
		<-inst.exited
		return nil, fmt.Errorf("instance %s (pid %d, %s): %w; its output:\n%s", id, inst.pid, inst.url, err, inst.out.last())
	}
	inst.ready = time.Now()
	return inst, nil
}

// waitListening dials the instance's port until it accepts a connection,
// and fails when the process exits, ctx ends or readyTimeout passes first.
func (i *instance) waitListening(ctx context.Context) error {
	waitCtx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	d := net.Dialer{Timeout: time.Second}
	for {
		c, err := d.DialContext(waitCtx, "tcp", i.host)
		if err == nil {
			return c.Close()
		}
		select {
		case <-i.exited:
			if strings.Contains(i.out.last(), "address already in use") {
				return fmt.Errorf("exited before listening (%s): %w", i.exitStatus(), errPortTaken)
			}
			return fmt.Errorf("exited before listening (%s)", i.exitStatus())
		case <-waitCtx.Done():
			if ctx.Err() != nil {
				return fmt.Errorf("the stack closed before it listened: %w", ctx.Err())
			}
			return fmt.Errorf("did not listen within %v", readyTimeout)
		case <-time.After(readyPoll):
		}
	}
}

// freePort returns a port of 127.0.0.1 that was free a moment ago.
func freePort(ctx context.Context) (int, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
