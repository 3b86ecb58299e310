package egress

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestGuardRefusesEveryPrivateClassUnlessAllowed(t *testing.T) {
	tests := []struct {
		addr    string
		blocked bool
	}{
		{"127.0.0.1", true},
		{"10.1.2.3", true},
		{"172.16.0.1", true},
		{"192.168.1.1", true},
		{"100.64.0.1", true},
		{"169.254.169.254", true},
		{"0.0.0.0", true},
		{"224.0.0.1", true},
		{"192.0.2.10", true},
		{"::1", true},
		{"::", true},
		{"fd00::1", true},
		{"fe80::1", true},
		{"ff02::1", true},
		{"2001:db8::1", true},
		{"::ffff:127.0.0.1", true},
		{"::ffff:10.0.0.1", true},
		{"93.184.215.14", false},
		{"2606:4700::1111", false},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			ip := netip.MustParseAddr(tt.addr)
			err := (&Guard{}).Check(ip)
			if got := errors.Is(err, ErrBlockedAddress); got != tt.blocked {
				t.Fatalf("Check(%s) = %v, want blocked=%v", tt.addr, err, tt.blocked)
			}
			if err := (&Guard{AllowPrivate: true}).Check(ip); err != nil {
				t.Fatalf("AllowPrivate Check(%s) = %v", tt.addr, err)
			}
		})
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
