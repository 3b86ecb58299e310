package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.temporal.io/sdk/client"

	"github.com/securo/webhooks/internal/receivertest"
	"github.com/securo/webhooks/internal/temporaltest"
)

// pki is a CA with a server certificate for "temporal.test" and a client
// certificate, written as PEM files.
type pki struct {
	pool                                   *x509.CertPool
	server                                 tls.Certificate
	caFile, clientCert, clientKey, otherCA string
}

func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, usage x509.ExtKeyUsage, dns ...string) ([]byte, *ecdsa.PrivateKey) {
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "leaf"}, DNSNames: dns,
			ExtKeyUsage: []x509.ExtKeyUsage{usage}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, key
	}
	write := func(name, typ string, der []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	serverDER, serverKey := issue(2, x509.ExtKeyUsageServerAuth, "temporal.test")
	clientDER, clientKey := issue(3, x509.ExtKeyUsageClientAuth)
	clientKeyDER, _ := x509.MarshalECPrivateKey(clientKey)
	p := pki{pool: x509.NewCertPool(), server: tls.Certificate{Certificate: [][]byte{serverDER}, PrivateKey: serverKey},
		caFile: write("ca.pem", "CERTIFICATE", caDER), clientCert: write("client.pem", "CERTIFICATE", clientDER),
		clientKey: write("client.key", "EC PRIVATE KEY", clientKeyDER)}
	p.pool.AddCert(ca)
	other, _ := writeKeyPair(t)
	p.otherCA = other
	return p
}

// mtlsFront serves Temporal at target behind TLS that requires a client
// certificate of p's CA, as Temporal Cloud's mTLS does, and counts the
// connections that passed the handshake and the reasons of those refused.
func mtlsFront(t *testing.T, p pki, target string) (addr string, passed *atomic.Int32, refusals func() string) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{p.server}, ClientAuth: tls.RequireAndVerifyClientCert,
		ClientCAs: p.pool, NextProtos: []string{"h2"}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	passed = &atomic.Int32{}
	var mu sync.Mutex
	var refused []string
	refusals = func() string {
		mu.Lock()
		defer mu.Unlock()
		return strings.Join(refused, "; ")
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if err := c.(*tls.Conn).Handshake(); err != nil {
					mu.Lock()
					refused = append(refused, err.Error())
					mu.Unlock()
					return
				}
				passed.Add(1)
				up, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer up.Close()
				go io.Copy(up, c)
				io.Copy(c, up)
			}()
		}
	}()
	return ln.Addr().String(), passed, refusals
}

func TestTheServiceReachesTemporalOverMTLSWithAnAPIKey(t *testing.T) {
	p := newPKI(t)
	front, passed, refusals := mtlsFront(t, p, temporaltest.Shared(t).HostPort)
	withTLS := func(c *config) {
		c.TemporalAddress = front
		c.temporalConn = temporalConn{TemporalTLSCert: p.clientCert, TemporalTLSKey: p.clientKey, TemporalTLSCA: p.caFile,
			TemporalTLSServerName: "temporal.test", TemporalAPIKey: "tmprl-test-key"}
	}
	rc := receivertest.New(t)
	s := startService(t, "sqlite", []*receivertest.Receiver{rc}, serviceOptions{configure: withTLS})
	s.createEndpoint(`{"url": "` + rc.URL + `"}`)
	ev := s.emit(`{"type": "dex.swap", "data": {"n": 1}}`)
	if d := s.waitEvent(ev.ID).Deliveries[0]; d.Status != "succeeded" {
		t.Fatalf("delivery %+v", d)
	}
	if passed.Load() == 0 {
		t.Fatal("no connection went through the mTLS front")
	}

	// Without the client certificate, or trusting another CA, nothing gets
	// through. With TLS 1.3 the client may see the front's refusal of a
	// missing certificate as an alert or as a closed connection, so that
	// case reads the reason on the front's side.
	for _, tt := range []struct {
		name      string
		change    func(*config)
		says      string // in the client's error
		frontSays string // in the front's refusals
	}{
		{"no client certificate", func(c *config) { c.TemporalTLSCert, c.TemporalTLSKey = "", "" }, "", "didn't provide a certificate"},
		{"another CA", func(c *config) { c.TemporalTLSCA = p.otherCA }, "unknown authority", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := s.cfg
			withTLS(&cfg)
			tt.change(&cfg)
			opts, err := temporalOptions(cfg, newLogger(io.Discard), prometheus.NewRegistry())
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			before := passed.Load()
			c, err := client.DialContext(ctx, opts)
			if err == nil {
				c.Close()
				t.Fatal("connected")
			}
			if !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("refused with %v, want %q", err, tt.says)
			}
			// The front records its refusal after the client has given up.
			for deadline := time.Now().Add(5 * time.Second); !strings.Contains(refusals(), tt.frontSays); time.Sleep(10 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("the front refused with %q, want %q", refusals(), tt.frontSays)
				}
			}
			if passed.Load() != before {
				t.Fatal("a connection passed the front's handshake")
			}
		})
	}
}
