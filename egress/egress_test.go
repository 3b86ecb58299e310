package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"

	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/securo/webhooks/internal/receivertest"
)

// blockedExamples hold an address of every class deliveries may not reach.
var blockedExamples = []struct{ class, addr string }{
	{"IPv4 loopback", "127.0.0.1"},
	{"IPv4 loopback, top of the range", "127.255.255.254"},
	{"IPv4 private 10/8", "10.1.2.3"},
	{"IPv4 private 172.16/12", "172.31.255.1"},
	{"IPv4 private 192.168/16", "192.168.1.1"},
	{"IPv4 carrier-grade NAT", "100.64.0.1"},
	{"IPv4 link-local", "169.254.1.1"},
	{"IPv4 cloud metadata", "169.254.169.254"},
	{"IPv4 unspecified", "0.0.0.0"},
	{"IPv4 this network", "0.1.2.3"},
	{"IPv4 IETF protocol assignments", "192.0.0.170"},
	{"IPv4 documentation TEST-NET-1", "192.0.2.10"},
	{"IPv4 documentation TEST-NET-2", "198.51.100.10"},
	{"IPv4 documentation TEST-NET-3", "203.0.113.10"},
	{"IPv4 benchmarking", "198.18.0.1"},
	{"IPv4 6to4 relay", "192.88.99.1"},
	{"IPv4 multicast", "224.0.0.1"},
	{"IPv4 reserved", "240.0.0.1"},
	{"IPv4 broadcast", "255.255.255.255"},
	{"IPv6 loopback", "::1"},
	{"IPv6 unspecified", "::"},
	{"IPv6 unique local", "fd00::1"},
	{"IPv6 unique local, AWS metadata", "fd00:ec2::254"},
	{"IPv6 link-local", "fe80::1"},
	{"IPv6 site-local", "fec0::1"},
	{"IPv6 multicast", "ff02::1"},
	{"IPv6 documentation", "2001:db8::1"},
	{"IPv6 documentation 3fff::/20", "3fff::1"},
	{"IPv6 discard", "100::1"},
	{"IPv4-mapped loopback", "::ffff:127.0.0.1"},
	{"IPv4-mapped private", "::ffff:10.0.0.1"},
	{"IPv4-mapped metadata", "::ffff:169.254.169.254"},
	{"IPv4-compatible loopback", "::127.0.0.1"},
	{"IPv4-translated loopback", "::ffff:0:7f00:1"},
	{"NAT64 of loopback", "64:ff9b::7f00:1"},
	{"NAT64 of metadata", "64:ff9b::a9fe:a9fe"},
	{"local-use NAT64", "64:ff9b:1::a00:1"},
	{"6to4 of loopback", "2002:7f00:1::1"},
	{"Teredo", "2001:0:4136:e378::1"},
}

// publicExamples must stay reachable.
var publicExamples = []string{"93.184.215.14", "2606:4700::1111", "::ffff:93.184.215.14", "64:ff9b::5db8:d70e"}

func TestGuardRefusesEveryBlockedClassUnlessPrivateNetworksAreAllowed(t *testing.T) {
	for _, a := range append(blockedExamples, struct{ class, addr string }{"IPv6 link-local with a zone", "fe80::1%eth0"}) {
		t.Run(a.class, func(t *testing.T) {
			ip := netip.MustParseAddr(a.addr)
			if err := (&Guard{}).Check(ip); !errors.Is(err, ErrBlockedAddress) {
				t.Fatalf("Check(%s) = %v, want ErrBlockedAddress", a.addr, err)
			}
			if err := (&Guard{AllowPrivate: true}).Check(ip); err != nil {
				t.Fatalf("AllowPrivate Check(%s) = %v", a.addr, err)
			}
		})
	}
	for _, addr := range publicExamples {
		if err := (&Guard{}).Check(netip.MustParseAddr(addr)); err != nil {
			t.Errorf("public %s refused: %v", addr, err)
		}
	}
}

func TestAllowListOpensOneRange(t *testing.T) {
	g := &Guard{Allow: []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16")}}
	if err := g.Check(netip.MustParseAddr("10.20.1.1")); err != nil {
		t.Fatalf("allowed range refused: %v", err)
	}
	if err := g.Check(netip.MustParseAddr("10.21.1.1")); !errors.Is(err, ErrBlockedAddress) {
		t.Fatalf("range outside the allow-list: %v", err)
	}
}

func TestClientRefusesLoopbackAtDialTime(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs

	// "localhost" passes any check made on the URL; the dialer still refuses.
	url := "https://localhost:" + srv.URL[len("https://127.0.0.1:"):]
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	_, err := NewClient(Options{Guard: &Guard{}, RootCAs: pool}).Do(req)
	if !errors.Is(err, ErrBlockedAddress) {
		t.Fatalf("request to loopback: %v, want ErrBlockedAddress", err)
	}

	req, _ = http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL, nil)
	resp, err := NewClient(Options{Guard: &Guard{AllowPrivate: true}, RootCAs: pool}).Do(req)
	if err != nil {
		t.Fatalf("allowed request: %v", err)
	}
	resp.Body.Close()
}

func TestClientNeverFollowsRedirects(t *testing.T) {
	hit := false
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			hit = true
			return
		}
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	}))
	defer srv.Close()
	pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	resp, err := NewClient(Options{Guard: &Guard{AllowPrivate: true}, RootCAs: pool}).Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || hit {
		t.Fatalf("status %d, redirect followed: %v", resp.StatusCode, hit)
	}
}

func TestClientVerifiesCertificates(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	// Without the test CA in the pool the self-signed certificate is refused.
	_, err := NewClient(Options{Guard: &Guard{AllowPrivate: true}}).Get(srv.URL)
	if err == nil {
		t.Fatal("an unverifiable certificate was accepted")
	}
}

// countingTLSServer is a receiver that counts the connections it accepts,
// so a test can show a refused request never reached it.
func countingTLSServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, &conns
}

func portOf(srv *httptest.Server) string {
	return srv.URL[strings.LastIndex(srv.URL, ":")+1:]
}

func get(t *testing.T, c *http.Client, rawURL string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err == nil {
		resp.Body.Close()
	}
	return err
}

func TestClientRefusesEveryBlockedClassLiteralOrResolved(t *testing.T) {
	srv, conns := countingTLSServer(t)
	port := portOf(srv)
	// h<i>.victim.test resolves to blockedExamples[i].
	dns := newFakeDNS(t, func(name string, _ int) []netip.Addr {
		var i int
		if _, err := fmt.Sscanf(name, "h%d.victim.test", &i); err != nil || i >= len(blockedExamples) {
			return nil
		}
		return []netip.Addr{netip.MustParseAddr(blockedExamples[i].addr)}
	})
	client := NewClient(Options{Guard: &Guard{}, Resolver: dns.resolver()})
	for i, a := range blockedExamples {
		literal := "https://" + net.JoinHostPort(a.addr, port) + "/"
		resolved := fmt.Sprintf("https://h%d.victim.test:%s/", i, port)
		for _, u := range []string{literal, resolved} {
			t.Run(a.class+" "+u, func(t *testing.T) {
				if err := get(t, client, u); !errors.Is(err, ErrBlockedAddress) {
					t.Fatalf("GET %s: %v, want ErrBlockedAddress", u, err)
				}
			})
		}
	}
	t.Run("a link-local literal with a zone", func(t *testing.T) {
		if err := get(t, client, "https://[fe80::1%25lo]:"+port+"/"); !errors.Is(err, ErrBlockedAddress) {
			t.Fatalf("GET: %v, want ErrBlockedAddress", err)
		}
	})
	if n := conns.Load(); n != 0 {
		t.Errorf("the loopback receiver accepted %d connections", n)
	}
	if dns.queries() == 0 {
		t.Error("the fake DNS server was never asked: the resolved cases tested nothing")
	}
}

func TestRebindingNameIsRefusedAtDialTime(t *testing.T) {
	srv, conns := countingTLSServer(t)
	port := portOf(srv)
	// The first A answer is public, every later one loopback.
	dns := newFakeDNS(t, func(name string, aQueries int) []netip.Addr {
		if aQueries <= 1 {
			return []netip.Addr{netip.MustParseAddr("93.184.215.14")}
		}
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}
	})
	guard := &Guard{}
	// A check made at registration sees the public address and passes...
	addrs, err := dns.resolver().LookupNetIP(context.Background(), "ip4", "rebind.test")
	if err != nil || len(addrs) != 1 {
		t.Fatalf("lookup: %v %v", addrs, err)
	}
	if err := guard.Check(addrs[0]); err != nil {
		t.Fatalf("the first answer was refused: %v", err)
	}
	// ...and the delivery, resolving again, is refused in the dialer.
	err = get(t, NewClient(Options{Guard: guard, Resolver: dns.resolver()}), "https://rebind.test:"+port+"/")
	if !errors.Is(err, ErrBlockedAddress) {
		t.Fatalf("delivery to the rebound name: %v, want ErrBlockedAddress", err)
	}
	if n := conns.Load(); n != 0 {
		t.Errorf("the loopback receiver accepted %d connections", n)
	}
}

func TestAllowListOpensLoopbackForAResolvedName(t *testing.T) {
	srv, _ := countingTLSServer(t)
	port := portOf(srv)
	dns := newFakeDNS(t, func(string, int) []netip.Addr { return []netip.Addr{netip.MustParseAddr("127.0.0.1")} })
	pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	// httptest's certificate names example.com, so the name can be checked.
	guard := &Guard{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}
	if err := get(t, NewClient(Options{Guard: guard, RootCAs: pool, Resolver: dns.resolver()}), "https://example.com:"+port+"/"); err != nil {
		t.Fatalf("allowed loopback: %v", err)
	}
}

func TestEgressProxyCarriesEveryDeliveryAndIsExemptFromTheGuard(t *testing.T) {
	srv, _ := countingTLSServer(t)
	port := portOf(srv)
	pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	proxy := receivertest.NewConnectProxy(t, srv.Listener.Addr().String())
	proxyURL, err := ParseProxy(proxy.URL)
	if err != nil {
		t.Fatal(err)
	}
	// The guard refuses loopback, where the proxy listens: the proxy is exempt.
	client := NewClient(Options{Guard: &Guard{}, RootCAs: pool, Proxy: proxyURL})

	if err := get(t, client, "https://example.com:"+port+"/"); err != nil {
		t.Fatalf("delivery through the proxy: %v", err)
	}
	if got := proxy.Destinations(); len(got) != 1 || got[0] != "example.com:"+port {
		t.Fatalf("the proxy was asked for %v, want [example.com:%s]", got, port)
	}

	// A blocked literal is refused before it reaches the proxy.
	for _, host := range []string{"127.0.0.1", "[::1]", "169.254.169.254", "[::ffff:10.0.0.1]"} {
		if err := get(t, client, "https://"+host+":"+port+"/"); !errors.Is(err, ErrBlockedAddress) {
			t.Errorf("GET %s through the proxy: %v, want ErrBlockedAddress", host, err)
		}
	}
	if got := proxy.Destinations(); len(got) != 1 {
		t.Errorf("blocked literals reached the proxy: %v", got)
	}
}

func TestTheProxiedClientDialsNothingButTheProxy(t *testing.T) {
	dial := onlyTo("127.0.0.1:3128", &net.Dialer{})
	_, err := dial(context.Background(), "tcp", "93.184.215.14:443")
	if !errors.Is(err, ErrBlockedAddress) {
		t.Fatalf("dial past the proxy: %v, want ErrBlockedAddress", err)
	}
}

func TestParseProxy(t *testing.T) {
	for raw, want := range map[string]string{
		"http://smokescreen.internal:4750": "smokescreen.internal:4750",
		"http://10.0.0.5":                  "10.0.0.5:80",
		"https://proxy.example.com":        "proxy.example.com:443",
		"http://user:pw@[fd00::5]:3128":    "[fd00::5]:3128",
	} {
		u, err := ParseProxy(raw)
		if err != nil {
			t.Errorf("ParseProxy(%q): %v", raw, err)
			continue
		}
		if got := proxyAddr(u); got != want {
			t.Errorf("proxyAddr(%q) = %q, want %q", raw, got, want)
		}
	}
	for _, raw := range []string{"", "smokescreen:4750", "socks5://proxy:1080", "http://", "http://:3128", "ftp://proxy"} {
		if _, err := ParseProxy(raw); err == nil {
			t.Errorf("ParseProxy(%q) accepted", raw)
		}
	}
}

func TestANewConnectionToAReceiverSeenBeforeResumesItsTLSSession(t *testing.T) {
	var resumed []bool
	var mu sync.Mutex
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		resumed = append(resumed, r.TLS.DidResume)
		mu.Unlock()
		// A receiver that keeps no connection: every attempt dials anew.
		w.Header().Set("Connection", "close")
	}))
	defer srv.Close()
	pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	c := NewClient(Options{Guard: &Guard{AllowPrivate: true}, RootCAs: pool})
	for range 3 {
		if err := get(t, c, srv.URL); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []bool{false, true, true}; !slices.Equal(resumed, want) {
		t.Fatalf("sessions resumed %v, want %v", resumed, want)
	}
}
