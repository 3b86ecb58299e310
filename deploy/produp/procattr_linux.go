package produp

import "syscall"

// childProcAttr puts each program in its own process group, so a terminal's
// Ctrl-C reaches the orchestrator alone and it stops things in order, and
// kills the program if the orchestrator itself dies.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
