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
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/securo/webhooks/signing"
)

// The receivers in examples/ run as real processes behind their own TLS,
// and the real service (API, worker, Temporal) delivers to them exactly
// what customers get.

// tlsFiles is a self-signed certificate for 127.0.0.1, written as the PEM
// files a receiver serves with; the service trusts it through
// SECURO_CA_FILE, as it would a private PKI.
type tlsFiles struct {
	cert, key string
	pool      *x509.CertPool
}

func newTLSFiles(t *testing.T) tlsFiles {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "example receiver"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	f := tlsFiles{cert: filepath.Join(dir, "cert.pem"), key: filepath.Join(dir, "key.pem"), pool: x509.NewCertPool()}
	if err := os.WriteFile(f.cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	f.pool.AddCert(cert)
	return f
}

// exampleReceiver is one receiver of examples/ running as a process.
type exampleReceiver struct {
	url    string
	out    *syncBuffer
	exited chan error
}

// receiverCommand is how to run one example: the command line, and the
// environment that makes it listen on port.
type receiverCommand struct {
	argv []string
	dir  string
	env  func(port int) []string
}

// goReceiver builds examples/go-receiver, as `go build` does for a customer.
func goReceiver(t *testing.T) receiverCommand {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "go-receiver")
	build := exec.Command("go", "build", "-o", bin, "./examples/go-receiver")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/go-receiver: %v\n%s", err, out)
	}
	return receiverCommand{argv: []string{bin}, env: func(port int) []string {
		return []string{"RECEIVER_ADDR=127.0.0.1:" + strconv.Itoa(port)}
	}}
}

// debianPython is Debian's interpreter, where apt-get installs Flask (a
// python3 earlier on PATH may be another one, without it).
const debianPython = "/usr/bin/python3"

// flaskReceiver runs examples/flask-receiver/app.py; without Flask the test
// skips, unless SECURO_REQUIRE_FLASK=1 (as in CI) makes that a failure.
func flaskReceiver(t *testing.T) receiverCommand {
	t.Helper()
	if out, err := exec.Command(debianPython, "-c", "import flask").CombinedOutput(); err != nil {
		msg := "Flask is not installed for " + debianPython + " (" + strings.TrimSpace(string(out)) + "): apt-get install python3-flask to run this test"
		if os.Getenv("SECURO_REQUIRE_FLASK") == "1" {
			t.Fatal(msg + "; SECURO_REQUIRE_FLASK=1 requires it")
		}
		t.Skip(msg)
	}
	return receiverCommand{argv: []string{debianPython, "app.py"}, dir: filepath.Join("..", "..", "examples", "flask-receiver"),
		env: func(port int) []string {
			return []string{"RECEIVER_HOST=127.0.0.1", "RECEIVER_PORT=" + strconv.Itoa(port), "PYTHONUNBUFFERED=1"}
		}}
}

// startReceiver runs the example with the endpoint's secret and the TLS
// files, and waits until it answers HTTPS.
func startReceiver(t *testing.T, rc receiverCommand, port int, secret string, files tlsFiles) *exampleReceiver {
	t.Helper()
	cmd := exec.Command(rc.argv[0], rc.argv[1:]...)
	cmd.Dir = rc.dir
	cmd.Env = append(os.Environ(), append(rc.env(port),
		"SECURO_WEBHOOK_SECRET="+secret, "TLS_CERT_FILE="+files.cert, "TLS_KEY_FILE="+files.key)...)
	r := &exampleReceiver{url: "https://127.0.0.1:" + strconv.Itoa(port) + "/securo-webhooks", out: &syncBuffer{}, exited: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = r.out, r.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-r.exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-r.exited
		}
		if t.Failed() {
			t.Logf("receiver output:\n%s", r.out.String())
		}
	})
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: files.pool}}}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(r.url)
		if err == nil {
			resp.Body.Close()
			return r // any answer (a GET is not allowed): it serves
		}
		select {
		case err := <-r.exited:
			t.Fatalf("%v exited before serving: %v\n%s", rc.argv, err, r.out.String())
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%v does not answer at %s: %v\n%s", rc.argv, r.url, err, r.out.String())
		}
	}
}

// waitOutput waits until the receiver has printed s.
func (r *exampleReceiver) waitOutput(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(r.out.String(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("the receiver did not print %q:\n%s", s, r.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestExampleReceiversVerifyAndAcceptWhatTheServiceSends(t *testing.T) {
	receivers := []struct {
		name    string
		command func(*testing.T) receiverCommand
	}{
		{"go", goReceiver},
		{"flask", flaskReceiver},
	}
	for _, tt := range receivers {
		t.Run(tt.name, func(t *testing.T) {
			command := tt.command(t)
			files := newTLSFiles(t)
			s := startService(t, "sqlite", nil, serviceOptions{configure: func(c *config) { c.CAFile = files.cert }})
			// The endpoint is registered before the receiver starts, since
			// the receiver needs its secret; its port is known already.
			port := freePort(t)
			url := "https://127.0.0.1:" + strconv.Itoa(port) + "/securo-webhooks"
			ep := s.createEndpoint(`{"url": "` + url + `", "description": "example receiver"}`)
			rcv := startReceiver(t, command, port, ep.Secret, files)

			ev := s.emit(`{"type": "dex.swap", "data": ` + swapData + `}`)
			d := s.waitEvent(ev.ID).Deliveries
			if len(d) != 1 || d[0].Status != "succeeded" || len(d[0].Attempts) != 1 || *d[0].Attempts[0].StatusCode != http.StatusNoContent {
				t.Fatalf("deliveries %+v, want one that succeeded with the receiver's 204", d)
			}
			received := "received dex.swap " + ev.ID
			rcv.waitOutput(t, received)
			// The 256-bit amount reached the receiver's code exactly.
			if !strings.Contains(rcv.out.String(), "115792089237316195423570985008687907853269984665640564039457584007913129639935") {
				t.Fatalf("the amount lost precision:\n%s", rcv.out.String())
			}

			// A resend has the same webhook-id: acknowledged, not processed again.
			if code := s.call("POST", "/v1/events/"+ev.ID+"/resend", "", nil); code != http.StatusAccepted {
				t.Fatalf("resend: %d", code)
			}
			d = s.waitEvent(ev.ID).Deliveries
			if len(d) != 2 || d[0].Status != "succeeded" || d[1].Status != "succeeded" {
				t.Fatalf("after the resend: %+v", d)
			}
			rcv.waitOutput(t, "duplicate "+ev.ID)
			if n := strings.Count(rcv.out.String(), received); n != 1 {
				t.Fatalf("the event was processed %d times, want once:\n%s", n, rcv.out.String())
			}

			// Requests Securo did not sign, or not just now, are refused.
			refusedAreRefused(t, rcv, files, ep.Secret)
		})
	}
}

// refusedAreRefused sends forged and replayed requests straight to the
// receiver: each must get a 4xx and never reach its business logic.
func refusedAreRefused(t *testing.T, rcv *exampleReceiver, files tlsFiles, secret string) {
	t.Helper()
	other, err := signing.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	sign := func(secret, id string, at time.Time, body string) string {
		s, err := signing.NewSigner(secret)
		if err != nil {
			t.Fatal(err)
		}
		return s.Sign(id, at, []byte(body))
	}
	body := func(id string) string {
		return `{"id":"` + id + `","type":"dex.swap","created_at":"2026-12-04T12:00:00Z","sandbox":false,"data":{"amount_in":1}}`
	}
	tests := []struct {
		name, id, body, timestamp, signature string
	}{
		{"a body changed after signing", "evt_tampered", strings.Replace(body("evt_tampered"), `"amount_in":1`, `"amount_in":1000`, 1),
			strconv.FormatInt(now.Unix(), 10), sign(secret, "evt_tampered", now, body("evt_tampered"))},
		{"a signature by another secret", "evt_othersecret", body("evt_othersecret"),
			strconv.FormatInt(now.Unix(), 10), sign(other, "evt_othersecret", now, body("evt_othersecret"))},
		{"a signature changed by one character", "evt_flipped", body("evt_flipped"),
			strconv.FormatInt(now.Unix(), 10), flip(sign(secret, "evt_flipped", now, body("evt_flipped")))},
		{"a timestamp more than 5 minutes old", "evt_replayed", body("evt_replayed"),
			strconv.FormatInt(now.Add(-6*time.Minute).Unix(), 10), sign(secret, "evt_replayed", now.Add(-6*time.Minute), body("evt_replayed"))},
		{"a timestamp more than 5 minutes ahead", "evt_future", body("evt_future"),
			strconv.FormatInt(now.Add(6*time.Minute).Unix(), 10), sign(secret, "evt_future", now.Add(6*time.Minute), body("evt_future"))},
		{"no signature", "evt_unsigned", body("evt_unsigned"), strconv.FormatInt(now.Unix(), 10), ""},
		{"an id other than the signed one", "evt_otherid", body("evt_otherid"),
			strconv.FormatInt(now.Unix(), 10), sign(secret, "evt_signedid", now, body("evt_otherid"))},
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: files.pool}}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(context.Background(), "POST", rcv.url, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("webhook-id", tt.id)
			req.Header.Set("webhook-timestamp", tt.timestamp)
			if tt.signature != "" {
				req.Header.Set("webhook-signature", tt.signature)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode < 400 || resp.StatusCode > 499 {
				t.Fatalf("status %d, want 4xx", resp.StatusCode)
			}
		})
	}
	for _, tt := range tests {
		if strings.Contains(rcv.out.String(), "received dex.swap "+tt.id) {
			t.Errorf("%s reached the receiver's business logic", tt.name)
		}
	}
}

// flip changes the first character of the signature's base64 (after
// "v1,"): the last one may carry only padding bits, which decoders ignore.
func flip(sig string) string {
	b := []byte(sig)
	if b[3] == 'A' {
		b[3] = 'B'
	} else {
		b[3] = 'A'
	}
	return string(b)
}
