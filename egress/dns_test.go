package egress

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// fakeDNS is a DNS server on loopback that answers every A and AAAA query
// with what answer returns for the name, so a test controls what a
// receiver's name resolves to, and when.
type fakeDNS struct {
	addr   string
	mu     sync.Mutex
	answer func(name string, aQueries int) []netip.Addr
	// aQueries counts A queries per name.
	aQueries map[string]int
}

func newFakeDNS(t *testing.T, answer func(name string, aQueries int) []netip.Addr) *fakeDNS {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	d := &fakeDNS{addr: pc.LocalAddr().String(), answer: answer, aQueries: map[string]int{}}
	go d.serve(pc)
	return d
}

// resolver is a Go resolver that asks only this server.
func (d *fakeDNS) resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "udp", d.addr)
	}}
}

// queries counts the A queries answered so far.
func (d *fakeDNS) queries() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, q := range d.aQueries {
		n += q
	}
	return n
}

func (d *fakeDNS) serve(pc net.PacketConn) {
	buf := make([]byte, 1500)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		if out, ok := d.reply(buf[:n]); ok {
			pc.WriteTo(out, from)
		}
	}
}

func (d *fakeDNS) reply(query []byte) ([]byte, bool) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, false
	}
	q, err := p.Question()
	if err != nil {
		return nil, false
	}
	name := strings.TrimSuffix(q.Name.String(), ".")
	d.mu.Lock()
	if q.Type == dnsmessage.TypeA {
		d.aQueries[name]++
	}
	addrs := d.answer(name, d.aQueries[name])
	d.mu.Unlock()

	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionAvailable: true})
	b.EnableCompression()
	b.StartQuestions()
	b.Question(q)
	b.StartAnswers()
	rh := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 0}
	for _, a := range addrs {
		switch {
		case q.Type == dnsmessage.TypeA && a.Is4():
			b.AResource(rh, dnsmessage.AResource{A: a.As4()})
		case q.Type == dnsmessage.TypeAAAA && a.Is6():
			b.AAAAResource(rh, dnsmessage.AAAAResource{AAAA: a.As16()})
		}
	}
	out, err := b.Finish()
	return out, err == nil
}
