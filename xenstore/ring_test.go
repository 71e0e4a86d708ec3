package xenstore

import (
	"encoding/binary"
	"strings"
	"testing"

	"gozen/abi/xen"
)

// guest plays Linux's xenbus side of a ring page: xb_write into req[],
// xb_read from rsp[].
type guest struct {
	t    testing.TB
	page []byte
	r    *Ring
	in   []byte // response bytes read so far
}

func newGuest(t testing.TB, s *Server, domid uint32) *guest {
	page := make([]byte, 4096)
	r, err := NewRing(page, s.Connect(domid, false))
	if err != nil {
		t.Fatal(err)
	}
	return &guest{t: t, page: page, r: r}
}

func (g *guest) u32(off int) uint32    { return binary.LittleEndian.Uint32(g.page[off:]) }
func (g *guest) set(off int, v uint32) { binary.LittleEndian.PutUint32(g.page[off:], v) }
func (g *guest) reqSpace() int         { return 1024 - int(g.u32(2052)-g.u32(2048)) }
func (g *guest) rspAvail() int         { return int(g.u32(2060) - g.u32(2056)) }
func (g *guest) service() bool         { return g.r.Service() }
func (g *guest) send(b []byte) (n int) { return g.sendMax(b, len(b)) }
func (g *guest) sendMax(b []byte, max int) (n int) {
	for n < len(b) && n < max && g.reqSpace() > 0 {
		prod := g.u32(2052)
		g.page[prod&1023] = b[n]
		g.set(2052, prod+1)
		n++
	}
	return n
}

// recv takes everything in rsp[].
func (g *guest) recv() {
	for g.rspAvail() > 0 {
		cons := g.u32(2056)
		g.in = append(g.in, g.page[1024+cons&1023])
		g.set(2056, cons+1)
	}
}

// msgs returns the complete messages received so far.
func (g *guest) msgs() (hs []xen.XsdSockmsg, ps []string) {
	b := g.in
	for len(b) >= 16 {
		var h xen.XsdSockmsg
		h.Decode(b)
		if len(b) < 16+int(h.Len) {
			break
		}
		hs = append(hs, h)
		ps = append(ps, string(b[16:16+h.Len]))
		b = b[16+h.Len:]
	}
	return
}

// roundTrip sends one request the way xenbus does, servicing as the ring
// fills and empties, and returns the reply payload (or "!ERR").
func (g *guest) roundTrip(typ, reqID, tx uint32, payload string) string {
	g.t.Helper()
	m := msg(typ, reqID, tx, payload)
	start := len(g.in)
	for sent := 0; sent < len(m); {
		sent += g.send(m[sent:])
		g.service()
		g.recv()
	}
	for i := 0; i < 10; i++ {
		g.service()
		g.recv()
	}
	b := g.in[start:]
	for len(b) >= 16 {
		var h xen.XsdSockmsg
		h.Decode(b)
		p := string(b[16 : 16+h.Len])
		b = b[16+h.Len:]
		if h.Type == xen.XSWatchEvent {
			continue
		}
		if h.ReqID != reqID || h.TxID != tx {
			g.t.Fatalf("reply ids %+v", h)
		}
		if h.Type == xen.XSError {
			return "!" + strings.TrimSuffix(p, "\x00")
		}
		return p
	}
	g.t.Fatalf("no reply to %s", xen.XSTypeName(typ))
	return ""
}

func TestRingWrapAndPartial(t *testing.T) {
	s, d0 := newTestServer(t)
	setupDomain(t, d0, "1")
	g := newGuest(t, s, 1)
	if g.u32(2064) != xen.XenstoreServerFeatureReconnection|xen.XenstoreServerFeatureError {
		t.Fatalf("server_features %#x", g.u32(2064))
	}
	// Start the indexes near the uint32 wrap and off the ring's start, so
	// messages wrap in the ring and the counters overflow.
	for _, off := range []int{2048, 2052, 2056, 2060} {
		g.set(off, 0xFFFFFD00+44)
	}
	// Many round trips of growing sizes: every alignment of the wrap.
	for i := 0; i < 200; i++ {
		v := strings.Repeat(string(rune('a'+i%26)), i*7%1500)
		if r := g.roundTrip(xen.XSWrite, uint32(i), 0, "data/k\x00"+v); r != "OK\x00" {
			t.Fatalf("write %d: %q", i, r)
		}
		if r := g.roundTrip(xen.XSRead, uint32(i), 0, "data/k\x00"); r != v {
			t.Fatalf("read %d: %d bytes, want %d", i, len(r), len(v))
		}
	}
	// A message trickling in a byte at a time is handled once complete.
	m := msg(xen.XSRead, 999, 0, "data/k\x00")
	for i := range m {
		g.sendMax(m[i:], 1)
		g.service()
		g.recv()
		if hs, _ := g.msgs(); i < len(m)-1 && len(hs) != 400 {
			t.Fatalf("reply before the message was complete (%d msgs)", len(hs))
		}
	}
	for i := 0; i < 3; i++ { // the reply is longer than rsp[]
		g.service()
		g.recv()
	}
	if hs, _ := g.msgs(); len(hs) != 401 || hs[400].ReqID != 999 {
		t.Fatalf("%d messages after trickled request (in %d, broken %v, req %d/%d)", len(hs), len(g.in), g.r.Broken(), g.u32(2048), g.u32(2052))
	}
	if g.r.Broken() {
		t.Fatal("ring broken")
	}
}

func TestRingFullResponses(t *testing.T) {
	s, d0 := newTestServer(t)
	setupDomain(t, d0, "1")
	g := newGuest(t, s, 1)
	d0.expect(d0.write("/local/domain/1/data/big", strings.Repeat("z", 3000)), "OK\x00")
	d0.expect(d0.setPerms("/local/domain/1/data/big", "n1"), "OK\x00")
	// Reads whose replies overflow rsp[]: while the guest does not
	// consume, replies queue, and past "outstanding" the ring stops taking
	// requests.
	var stream []byte
	for i := 0; i < 100; i++ {
		stream = append(stream, msg(xen.XSRead, uint32(i), 0, "data/big\x00")...)
	}
	sent := 0
	for i := 0; i < 100; i++ {
		sent += g.send(stream[sent:])
		g.service()
	}
	if g.rspAvail() != 1024 {
		t.Fatalf("rsp not full: %d", g.rspAvail())
	}
	if sent == len(stream) || g.reqSpace() == 1024 {
		t.Fatal("ring kept taking requests with the reply queue over its limit")
	}
	if q := g.r.Conn().Pending(); q > DefaultLimits.Outstanding*(16+3000) {
		t.Fatalf("%d bytes queued", q)
	}
	// Consuming lets everything through, in order.
	for i := 0; i < 10000; i++ {
		sent += g.send(stream[sent:])
		g.service()
		g.recv()
		if hs, _ := g.msgs(); len(hs) == 100 {
			break
		}
	}
	hs, ps := g.msgs()
	if len(hs) != 100 {
		t.Fatalf("%d replies", len(hs))
	}
	for i, h := range hs {
		if h.ReqID != uint32(i) || len(ps[i]) != 3000 {
			t.Fatalf("reply %d: %+v len %d", i, h, len(ps[i]))
		}
	}
}

func TestRingHostileIndexes(t *testing.T) {
	cases := []struct {
		name  string
		setup func(g *guest)
		code  uint32
	}{
		{"req_prod far ahead", func(g *guest) { g.set(2052, 5000) }, xen.XenstoreErrorRingidx},
		{"req_prod behind cons", func(g *guest) { g.set(2048, 10); g.set(2052, 5) }, xen.XenstoreErrorRingidx},
		{"rsp_cons ahead of prod", func(g *guest) { g.set(2056, 100) }, xen.XenstoreErrorRingidx},
		{"rsp_prod far ahead", func(g *guest) { g.set(2060, 3000) }, xen.XenstoreErrorRingidx},
		{"oversize len", func(g *guest) {
			h := msg(xen.XSRead, 1, 0, "")
			binary.LittleEndian.PutUint32(h[12:], xen.XenstorePayloadMax+1)
			g.send(h)
		}, xen.XenstoreErrorProto},
		{"huge len", func(g *guest) {
			h := msg(xen.XSWrite, 1, 0, "")
			binary.LittleEndian.PutUint32(h[12:], 0xFFFFFFFF)
			g.send(h)
		}, xen.XenstoreErrorProto},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, _ := newTestServer(t)
			g := newGuest(t, s, 1)
			c.setup(g)
			g.service()
			if !g.r.Broken() || g.u32(2072) != c.code {
				t.Fatalf("broken=%v error=%d, want error %d", g.r.Broken(), g.u32(2072), c.code)
			}
			// Broken: never touched again, and the rest of the server works.
			snap := append([]byte(nil), g.page...)
			g.service()
			if string(snap) != string(g.page) {
				t.Fatal("broken ring written")
			}
			other := newGuest(t, s, 2)
			if r := other.roundTrip(xen.XSGetDomainPath, 1, 0, "2\x00"); r != "/local/domain/2\x00" {
				t.Fatalf("other domain: %q", r)
			}
		})
	}
}

func TestRingReconnect(t *testing.T) {
	s, d0 := newTestServer(t)
	setupDomain(t, d0, "1")
	g := newGuest(t, s, 1)
	if r := g.roundTrip(xen.XSWatch, 1, 0, "data\x00t\x00"); r != "OK\x00" {
		t.Fatal(r)
	}
	g.send(msg(xen.XSRead, 2, 0, "data")[:10]) // half a header
	g.service()
	g.set(2068, xen.XenstoreReconnect)
	if !g.service() {
		t.Fatal("reconnect did not notify")
	}
	if g.u32(2068) != xen.XenstoreConnected || g.u32(2048) != 0 || g.u32(2052) != 0 ||
		g.u32(2056) != 0 || g.u32(2060) != 0 {
		t.Fatal("reconnect did not reset the page")
	}
	if u := s.DomainUsage(1); u.Watches != 0 {
		t.Fatalf("watches survive reconnect: %+v", u)
	}
	g.in = nil
	if r := g.roundTrip(xen.XSRead, 3, 0, "/local/domain/1/name\x00"); r != "guest1" {
		t.Fatalf("after reconnect: %q", r)
	}
}

func TestNewRingChecks(t *testing.T) {
	s, _ := newTestServer(t)
	c := s.Connect(1, false)
	if _, err := NewRing(make([]byte, 100), c); err != ErrPageSize {
		t.Fatal(err)
	}
	b := make([]byte, 4100)
	if _, err := NewRing(b[1:], c); err != ErrPageAlign {
		t.Fatal(err)
	}
}

func TestProcessFraming(t *testing.T) {
	s, _ := newTestServer(t)
	c := s.Connect(1, false)
	if err := c.Process([]byte{1, 2, 3}); err != ErrShort {
		t.Fatal(err)
	}
	m := msg(xen.XSRead, 1, 0, "x\x00")
	if err := c.Process(m[:len(m)-1]); err != ErrLength {
		t.Fatal(err)
	}
	big := msg(xen.XSWrite, 1, 0, strings.Repeat("a", xen.XenstorePayloadMax+1))
	if err := c.Process(big); err != ErrTooLong {
		t.Fatal(err)
	}
	if c.Pending() != 0 {
		t.Fatal("framing errors produced output")
	}
}

// midHooks makes a request arrive in req[] while Service is handling the
// one before (during XS_INTRODUCE's hook), with no notification: what
// Linux's xb_write does when it finds req_cons behind its req_prod.
type midHooks struct{ g *guest }

func (h midHooks) Introduce(*Conn, uint64, uint32) error {
	h.g.send(msg(xen.XSRead, 8, 0, "/late\x00"))
	return nil
}
func (midHooks) Release(uint32) {}
func (midHooks) Notify(*Conn)   {}

// A request that arrives while Service is taking the ones before it is
// served by that same call (Service reads req_prod again after publishing
// req_cons), not left waiting for a notification the guest never sends.
func TestRingRequestArrivingDuringService(t *testing.T) {
	h := midHooks{}
	s := NewServer(&h, DefaultLimits, PrivilegedLimits)
	page := make([]byte, 4096)
	r, err := NewRing(page, s.Connect(0, true))
	if err != nil {
		t.Fatal(err)
	}
	g := &guest{t: t, page: page, r: r}
	h.g = g
	if n := len(msg(xen.XSWrite, 0, 0, "/late\x00v")); g.send(msg(xen.XSWrite, 1, 0, "/late\x00v")) != n {
		t.Fatal("write not sent")
	}
	g.service()
	g.recv()
	g.send(msg(xen.XSIntroduce, 7, 0, "5\x0077\x004\x00"))
	g.service() // one call: the introduce, then the read the hook added
	g.recv()
	hs, ps := g.msgs()
	if len(hs) != 3 || hs[2].ReqID != 8 || ps[2] != "v" {
		t.Fatalf("replies %+v %q: the request that came during Service was not served", hs, ps)
	}
	if r.Waiting() {
		t.Fatal("Waiting with nothing left in req[]")
	}
}

// Service handles at most serviceBudget requests a call; Waiting reports
// the rest, and further calls serve them in order.
func TestRingServiceBudget(t *testing.T) {
	s := NewServer(nil, DefaultLimits, PrivilegedLimits)
	page := make([]byte, 4096)
	r, err := NewRing(page, s.Connect(0, true))
	if err != nil {
		t.Fatal(err)
	}
	g := &guest{t: t, page: page, r: r}
	const n = serviceBudget + 10
	sent := 0
	for calls := 0; sent < n || r.Waiting(); calls++ {
		for sent < n {
			m := msg(xen.XSRead, uint32(sent+1), 0, "/\x00")
			if g.reqSpace() < len(m) {
				break
			}
			g.send(m)
			sent++
		}
		g.service()
		g.recv()
		if calls > 100 {
			t.Fatal("requests never all served")
		}
	}
	hs, _ := g.msgs()
	if len(hs) != n {
		t.Fatalf("%d replies, want %d", len(hs), n)
	}
	for i, h := range hs {
		if h.ReqID != uint32(i+1) {
			t.Fatalf("reply %d for request %d", i, h.ReqID)
		}
	}
}
