package main

import "syscall"

// childProcAttr puts the Temporal server in its own process group, so a
// terminal's Ctrl-C reaches securo alone and securo stops things in order,
// and kills it if securo itself dies.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
