// Package freeport finds a loopback TCP port for a process we are about to
// start (a Temporal dev server, the API) to bind.
package freeport

import (
	"fmt"
	"net"
)

// Get returns a port free on 127.0.0.1. Linux may hand a just-closed port
// out again to the next bind(:0), which can be another server starting at
// the same moment; so the port is left in TIME_WAIT (a connection closed by
// its server side), which keeps it from bind(:0) for a minute while an
// explicit bind to it still works (Go sets SO_REUSEADDR).
func Get() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		return port, nil
	}
	defer client.Close()
	if server, err := ln.Accept(); err == nil {
		server.Close() // the server side closes first: TIME_WAIT is on this port
	}
	return port, nil
}
