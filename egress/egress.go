// Package egress is the one place that decides where Securo's outbound
// requests may go. The check runs in the dialer, on the address actually
// dialled after DNS resolution, so a name that resolves to a private address
// later (DNS rebinding) is caught too.
package egress

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrBlockedAddress is returned when a request would reach an address that
// deliveries may not (loopback, private, link-local, ...).
var ErrBlockedAddress = errors.New("blocked address")

// blocked are the ranges no delivery may reach unless allowed.
var blocked = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range []string{
		"0.0.0.0/8",       // "this" network, unspecified
		"10.0.0.0/8",      // private
		"100.64.0.0/10",   // carrier-grade NAT
		"127.0.0.0/8",     // loopback
		"169.254.0.0/16",  // link-local, cloud metadata
		"172.16.0.0/12",   // private
		"192.0.0.0/24",    // IETF protocol assignments
		"192.0.2.0/24",    // documentation
		"192.168.0.0/16",  // private
		"198.18.0.0/15",   // benchmarking
		"198.51.100.0/24", // documentation
		"203.0.113.0/24",  // documentation
		"224.0.0.0/4",     // multicast
		"240.0.0.0/4",     // reserved, broadcast
		"::/128",          // unspecified
		"::1/128",         // loopback
		"64:ff9b::/96",    // NAT64 (embeds IPv4)
		"100::/64",        // discard
		"2001:db8::/32",   // documentation
		"fc00::/7",        // unique local
		"fe80::/10",       // link-local
		"ff00::/8",        // multicast
	} {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// Guard decides which addresses may be dialled.
type Guard struct {
	// AllowPrivate opens every range above (securo dev, tests).
	AllowPrivate bool
	// Allow opens specific ranges even when AllowPrivate is false.
	Allow []netip.Prefix
}

// Check reports ErrBlockedAddress for an address the guard refuses.
func (g *Guard) Check(ip netip.Addr) error {
	ip = ip.Unmap() // IPv4-mapped IPv6 is judged as the IPv4 it carries
	if g.AllowPrivate {
		return nil
	}
	for _, p := range g.Allow {
		if p.Contains(ip) {
			return nil
		}
	}
	for _, p := range blocked {
		if p.Contains(ip) {
			return fmt.Errorf("%s: %w", ip, ErrBlockedAddress)
		}
	}
	return nil
}

// control runs after DNS resolution, just before connect.
func (g *Guard) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dial %s: %w", address, ErrBlockedAddress)
	}
	return g.Check(ap.Addr())
}

// Options configure the delivery HTTP client.
type Options struct {
	Guard   *Guard
	RootCAs *x509.CertPool // nil: the system roots
	Timeout time.Duration  // whole request; 0: 15 s
	// MaxConnsPerHost caps connections to one receiver; 0: 64.
	MaxConnsPerHost int
}

// NewClient returns the one HTTP client deliveries share: it never follows
// redirects, always verifies certificates and keeps enough idle connections
// per host for concurrent deliveries to one receiver.
func NewClient(o Options) *http.Client {
	if o.Guard == nil {
		o.Guard = &Guard{}
	}
	if o.Timeout == 0 {
		o.Timeout = 15 * time.Second
	}
	if o.MaxConnsPerHost == 0 {
		o.MaxConnsPerHost = 64
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: o.Guard.control}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: o.RootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   10 * time.Second,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   o.MaxConnsPerHost,
		MaxConnsPerHost:       o.MaxConnsPerHost,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: o.Timeout,
	}
	return &http.Client{
		Transport:     transport,
		Timeout:       o.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// DialContext is exposed for callers that need the guarded dialer alone.
func (g *Guard) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 10 * time.Second, Control: g.control}
	return d.DialContext(ctx, network, address)
}
