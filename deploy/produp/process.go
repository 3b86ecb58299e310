package produp

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Process is one program of the topology, started again after it stops with
// the same arguments, environment and log file.
type Process struct {
	Name    string
	LogPath string
	Addr    string // what it serves, for people reading the addresses

	path string
	args []string
	env  []string

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	state  *os.ProcessState
	marker *markerWriter
}

// start runs the program; its stdout and stderr go to its log file, which
// restarts append to. ready, if not empty, is a line the program prints on
// stdout when it is up.
func (p *Process) start(ready string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && p.state == nil {
		return fmt.Errorf("%s is running already", p.Name)
	}
	logFile, err := os.OpenFile(p.LogPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("%s log: %w", p.Name, err)
	}
	cmd := exec.Command(p.path, p.args...)
	cmd.Env = p.env
	cmd.Stderr = logFile
	p.marker = &markerWriter{w: logFile, marker: []byte(ready), seen: make(chan struct{}), none: ready == ""}
	cmd.Stdout = p.marker
	cmd.SysProcAttr = childProcAttr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done, p.state = cmd, done, nil
	go func() {
		cmd.Wait()
		logFile.Close()
		p.mu.Lock()
		p.state = cmd.ProcessState
		p.mu.Unlock()
		close(done)
	}()
	return nil
}

// printedReady reports whether the program printed its ready line (false
// when it has none).
func (p *Process) printedReady() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.marker == nil || p.marker.none {
		return false
	}
	select {
	case <-p.marker.seen:
		return true
	default:
		return false
	}
}

// Pid is the process id of the running program.
func (p *Process) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Signal sends sig to the running program.
func (p *Process) Signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.state != nil {
		return fmt.Errorf("%s is not running", p.Name)
	}
	return p.cmd.Process.Signal(sig)
}

// Done is closed when the program exits.
func (p *Process) Done() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

// Running reports whether the program was started and has not exited.
func (p *Process) Running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd != nil && p.state == nil
}

// ExitState is how the program ended ("" while it runs).
func (p *Process) ExitState() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == nil {
		return ""
	}
	return p.state.String()
}

// Wait waits for the program to exit and returns its exit code (-1 when a
// signal ended it).
func (p *Process) Wait(ctx context.Context) (int, error) {
	done := p.Done()
	if done == nil {
		return 0, fmt.Errorf("%s was never started", p.Name)
	}
	select {
	case <-done:
	case <-ctx.Done():
		return 0, fmt.Errorf("wait for %s to exit: %w", p.Name, ctx.Err())
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.state.ExitCode(), nil
}

// Stop sends SIGTERM and waits up to grace for the program to exit, then
// kills it. It is a no-op when the program is not running.
func (p *Process) Stop(grace time.Duration) error {
	if !p.Running() {
		return nil
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		return nil // it exited in between
	}
	select {
	case <-p.Done():
		return nil
	case <-time.After(grace):
	}
	p.Signal(syscall.SIGKILL)
	<-p.Done()
	return fmt.Errorf("%s did not stop within %s of SIGTERM and was killed", p.Name, grace)
}

// Kill ends the program at once, as a crash or an OOM kill would, and waits
// for it to be gone.
func (p *Process) Kill() error {
	if err := p.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	<-p.Done()
	return nil
}

// markerWriter writes through and closes seen once the marker went by.
type markerWriter struct {
	w      interface{ Write([]byte) (int, error) }
	marker []byte
	seen   chan struct{}
	none   bool // no marker to look for
	tail   []byte
	once   sync.Once
}

func (m *markerWriter) Write(b []byte) (int, error) {
	if len(m.marker) > 0 {
		m.tail = append(m.tail, b...)
		if bytes.Contains(m.tail, m.marker) {
			m.once.Do(func() { close(m.seen) })
			m.marker = nil
			m.tail = nil
		} else if len(m.tail) > 4096 {
			m.tail = m.tail[len(m.tail)-len(m.marker):]
		}
	}
	return m.w.Write(b)
}
