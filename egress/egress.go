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
	"net/url"
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
		"192.88.99.0/24",  // 6to4 relay anycast (deprecated)
		"192.168.0.0/16",  // private
		"198.18.0.0/15",   // benchmarking
		"198.51.100.0/24", // documentation
		"203.0.113.0/24",  // documentation
		"224.0.0.0/4",     // multicast
		"240.0.0.0/4",     // reserved, broadcast
		"::/128",          // unspecified
		"::1/128",         // loopback
		"::/96",           // IPv4-compatible (deprecated): may reach the IPv4 it embeds
		"::ffff:0:0:0/96", // IPv4-translated
		"64:ff9b:1::/48",  // local-use NAT64: its mapping is the operator's
		"100::/64",        // discard
		"2001::/32",       // Teredo (embeds IPv4)
		"2001:db8::/32",   // documentation
		"2002::/16",       // 6to4 (embeds IPv4)
		"3fff::/20",       // documentation
		"fc00::/7",        // unique local
		"fe80::/10",       // link-local
		"fec0::/10",       // site-local (deprecated)
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

// nat64 is the well-known NAT64 prefix (RFC 6052): an address in it reaches
// the IPv4 address in its last four bytes, and is judged as that address.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// Check reports ErrBlockedAddress for an address the guard refuses.
func (g *Guard) Check(ip netip.Addr) error {
	// A zone (fe80::1%eth0) would make every Prefix.Contains false.
	ip = ip.WithZone("").Unmap() // IPv4-mapped IPv6 is judged as the IPv4 it carries
	if nat64.Contains(ip) {
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte(b[12:]))
	}
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
	// MaxConnsPerHost caps connections to one receiver host; 0: 256.
	MaxConnsPerHost int
	// Proxy, when set, carries every delivery (CONNECT for https): the
	// client then dials only the proxy, whose address the guard does not
	// judge, and the proxy must check destinations itself.
	Proxy *url.URL
	// Resolver looks up receivers' names; nil: the system's. Tests use it.
	Resolver *net.Resolver
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
		// Above the per-endpoint cap of attempts in flight (64), so several
		// endpoints on one host do not queue behind each other here.
		o.MaxConnsPerHost = 256
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Control: o.Guard.control, Resolver: o.Resolver}
	transport := &http.Transport{
		Proxy:       nil,
		DialContext: dialer.DialContext,
		// Session resumption: a new connection to a receiver seen before
		// skips the certificate exchange, which is most of a handshake's CPU
		// on both sides. A receiver that hangs holds every connection it
		// gets, so each of its attempts dials anew.
		TLSClientConfig:       &tls.Config{RootCAs: o.RootCAs, MinVersion: tls.VersionTLS12, ClientSessionCache: tls.NewLRUClientSessionCache(4096)},
		TLSHandshakeTimeout:   10 * time.Second,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   o.MaxConnsPerHost,
		MaxConnsPerHost:       o.MaxConnsPerHost,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: o.Timeout,
	}
	if o.Proxy != nil {
		transport.Proxy = o.Guard.viaProxy(o.Proxy)
		dialer.Control = nil
		transport.DialContext = onlyTo(proxyAddr(o.Proxy), dialer)
	}
	return &http.Client{
		Transport:     transport,
		Timeout:       o.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// viaProxy sends every request to proxy. The proxy resolves names, so only
// a literal address can be judged here; it is, so that a blocked literal
// never leaves even when the proxy is lax.
func (g *Guard) viaProxy(proxy *url.URL) func(*http.Request) (*url.URL, error) {
	return func(r *http.Request) (*url.URL, error) {
		if ip, err := netip.ParseAddr(r.URL.Hostname()); err == nil {
			if err := g.Check(ip); err != nil {
				return nil, err
			}
		}
		return proxy, nil
	}
}

// onlyTo dials addr and refuses every other address, so a request can never
// bypass the proxy.
func onlyTo(addr string, d *net.Dialer) func(ctx context.Context, network, address string) (net.Conn, error) {
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		if address != addr {
			return nil, fmt.Errorf("dial %s: only the egress proxy %s may be dialled: %w", address, addr, ErrBlockedAddress)
		}
		return d.DialContext(ctx, network, address)
	}
}

// proxyAddr is the host:port net/http dials for proxy.
func proxyAddr(proxy *url.URL) string {
	if port := proxy.Port(); port != "" {
		return net.JoinHostPort(proxy.Hostname(), port)
	}
	if proxy.Scheme == "https" {
		return net.JoinHostPort(proxy.Hostname(), "443")
	}
	return net.JoinHostPort(proxy.Hostname(), "80")
}

// ParseProxy checks an egress proxy URL: http:// or https://, with a host.
func ParseProxy(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("egress proxy %q: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return nil, fmt.Errorf("egress proxy %q: want http://host:port or https://host:port", raw)
	}
	return u, nil
}
