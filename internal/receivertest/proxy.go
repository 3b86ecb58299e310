package receivertest

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// ConnectProxy is an HTTP CONNECT proxy, as an egress proxy such as
// smokescreen is, that tunnels every destination to one target address and
// records the destinations it was asked for.
type ConnectProxy struct {
	*httptest.Server
	mu    sync.Mutex
	asked []string
}

// NewConnectProxy starts a proxy that lives as long as the test.
func NewConnectProxy(t testing.TB, target string) *ConnectProxy {
	p := &ConnectProxy{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		p.mu.Lock()
		p.asked = append(p.asked, r.Host)
		p.mu.Unlock()
		upstream, err := net.Dial("tcp", target)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			upstream.Close()
			return
		}
		conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
		go func() { io.Copy(upstream, conn); upstream.Close() }()
		io.Copy(conn, upstream)
		conn.Close()
	}))
	t.Cleanup(p.Close)
	return p
}

// Destinations are the host:port pairs CONNECT asked for, in order.
func (p *ConnectProxy) Destinations() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.asked...)
}
