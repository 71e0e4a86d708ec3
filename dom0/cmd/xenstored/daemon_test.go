package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"gozen/abi/xen"
	"gozen/dom0/xc"
	"gozen/dom0/xs"
	"gozen/xenstore"
)

var le = binary.LittleEndian

// fakeEvents is an in-memory /dev/xen/evtchn: it records bindings and
// counts the notifications each bound port sends to its guest.
type fakeEvents struct {
	mu       sync.Mutex
	next     uint32
	bound    map[uint32][2]uint32 // local port -> {remote domain, remote port}
	notified map[uint32]int
	refuse   map[uint32]bool // remote domains whose ports cannot be bound
}

func newFakeEvents() *fakeEvents {
	return &fakeEvents{next: 10, bound: map[uint32][2]uint32{}, notified: map[uint32]int{}, refuse: map[uint32]bool{}}
}

func (f *fakeEvents) BindInterdomain(dom, port uint32) (uint32, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.refuse[dom] {
		return 0, errors.New("EINVAL")
	}
	f.next++
	f.bound[f.next] = [2]uint32{dom, port}
	return f.next, nil
}

func (f *fakeEvents) Unbind(port uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.bound[port]; !ok {
		return errors.New("EINVAL")
	}
	delete(f.bound, port)
	return nil
}

func (f *fakeEvents) Notify(port uint32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.bound[port]; !ok {
		return errors.New("EINVAL")
	}
	f.notified[port]++
	return nil
}

// local returns the daemon-side port bound to (dom, port).
func (f *fakeEvents) local(t testing.TB, dom, port uint32) uint32 {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for l, b := range f.bound {
		if b == [2]uint32{dom, port} {
			return l
		}
	}
	t.Fatalf("nothing bound to port %d of domain %d", port, dom)
	return 0
}

func (f *fakeEvents) count(port uint32) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.notified[port]
}

// fakeMapper hands out in-memory pages, one per domain, and counts
// unmaps.
type fakeMapper struct {
	mu      sync.Mutex
	pages   map[uint32][]byte
	unmaps  map[uint32]int
	missing map[uint32]bool
}

func newFakeMapper() *fakeMapper {
	return &fakeMapper{pages: map[uint32][]byte{}, unmaps: map[uint32]int{}, missing: map[uint32]bool{}}
}

func (m *fakeMapper) MapRing(domid uint32, gfn uint64) ([]byte, func() error, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.missing[domid] {
		return nil, nil, errors.New("no such grant")
	}
	p := m.pages[domid]
	if p == nil {
		p = alignedPage()
		m.pages[domid] = p
	}
	return p, func() error { m.mu.Lock(); m.unmaps[domid]++; m.mu.Unlock(); return nil }, nil
}

func (m *fakeMapper) page(domid uint32) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := m.pages[domid]
	if p == nil {
		p = alignedPage()
		m.pages[domid] = p
	}
	return p
}

// guest is a domain's side of a ring page: it writes requests into req[],
// "sends" on its port by calling Daemon.Event with the daemon's end, and
// reads rsp[].
type guest struct {
	t       testing.TB
	d       *Daemon
	page    []byte
	port    func() uint32 // the daemon's end
	reqID   uint32
	partial []byte
	events  []string
}

func (g *guest) put(b []byte) {
	prod := le.Uint32(g.page[xen.XenstoreReqProdOffset:])
	for _, c := range b {
		g.page[xen.XenstoreReqOffset+int(xen.MaskXenstoreIdx(prod))] = c
		prod++
	}
	le.PutUint32(g.page[xen.XenstoreReqProdOffset:], prod)
}

func msg(typ, reqID uint32, payload string) []byte {
	b := make([]byte, xen.XsdSockmsgSize+len(payload))
	(&xen.XsdSockmsg{Type: typ, ReqID: reqID, Len: uint32(len(payload))}).Encode(b)
	copy(b[xen.XsdSockmsgSize:], payload)
	return b
}

// take returns the replies in rsp[] as "TYPE payload" (NULs as '|') and
// keeps watch events in g.events.
func (g *guest) take() []string {
	cons := le.Uint32(g.page[xen.XenstoreRspConsOffset:])
	prod := le.Uint32(g.page[xen.XenstoreRspProdOffset:])
	raw := g.partial
	for ; cons != prod; cons++ {
		raw = append(raw, g.page[xen.XenstoreRspOffset+int(xen.MaskXenstoreIdx(cons))])
	}
	le.PutUint32(g.page[xen.XenstoreRspConsOffset:], cons)
	var out []string
	for len(raw) >= xen.XsdSockmsgSize {
		var h xen.XsdSockmsg
		h.Decode(raw)
		n := xen.XsdSockmsgSize + int(h.Len)
		if n > len(raw) {
			break
		}
		s := xen.XSTypeName(h.Type) + " " + strings.ReplaceAll(string(raw[xen.XsdSockmsgSize:n]), "\x00", "|")
		if h.Type == xen.XSWatchEvent {
			g.events = append(g.events, s)
		} else {
			out = append(out, s)
		}
		raw = raw[n:]
	}
	g.partial = append([]byte(nil), raw...)
	return out
}

func (g *guest) expect(typ uint32, payload string, want ...string) {
	g.t.Helper()
	g.reqID++
	g.put(msg(typ, g.reqID, payload))
	g.d.Event(g.port())
	if got := g.take(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		g.t.Fatalf("%s %q: got %q, want %q", xen.XSTypeName(typ), payload, got, want)
	}
}

type testDaemon struct {
	d    *Daemon
	ev   *fakeEvents
	maps *fakeMapper
	log  *strings.Builder
	mu   sync.Mutex
	sock string
}

func (td *testDaemon) logf(format string, args ...any) {
	td.mu.Lock()
	defer td.mu.Unlock()
	fmt.Fprintf(td.log, format+"\n", args...)
}

func (td *testDaemon) logged() string {
	td.mu.Lock()
	defer td.mu.Unlock()
	return td.log.String()
}

// newTestDaemon starts a daemon with dom0's kernel ring attached (its
// kernel port is 3) and a socket.
func newTestDaemon(t testing.TB) (*testDaemon, *guest) {
	td := &testDaemon{ev: newFakeEvents(), maps: newFakeMapper(), log: &strings.Builder{}}
	td.d = NewDaemon(td.ev, td.maps, td.logf)
	k := &guest{t: t, d: td.d, page: alignedPage()}
	if err := td.d.AttachLocal(k.page, 3); err != nil {
		t.Fatal(err)
	}
	k.port = func() uint32 { return td.ev.local(t, 0, 3) }
	td.sock = filepath.Join(t.TempDir(), "socket")
	l, err := net.Listen("unix", td.sock)
	if err != nil {
		t.Fatal(err)
	}
	go td.d.Serve(l)
	t.Cleanup(func() { l.Close() })
	return td, k
}

func (td *testDaemon) client(t testing.TB) *xs.Client {
	nc, err := net.Dial("unix", td.sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return xs.New(nc)
}

// dom0's kernel xenbus: the daemon binds bind_interdomain(0, xsd_port),
// notifies the kernel at once (its xenbus_probe thread waits for that),
// and serves requests from the kernel's ring as privileged dom0's.
func TestLocalRing(t *testing.T) {
	td, k := newTestDaemon(t)
	lp := k.port()
	if td.ev.count(lp) != 1 {
		t.Fatalf("kernel notified %d times at attach, want 1", td.ev.count(lp))
	}
	if f := le.Uint32(k.page[xen.XenstoreServerFeaturesOffset:]); f&xen.XenstoreServerFeatureReconnection == 0 {
		t.Errorf("server_features %#x", f)
	}
	k.expect(xen.XSWrite, "/local/domain/0/name\x00Domain-0", "WRITE OK|")
	k.expect(xen.XSRead, "name\x00", "READ Domain-0")
	k.expect(xen.XSWatch, "/local/domain/0\x00t\x00", "WATCH OK|")
	if len(k.events) != 1 || k.events[0] != "WATCH_EVENT /local/domain/0|t|" {
		t.Fatalf("initial watch fire: %q", k.events)
	}
	// A socket client's write fires the kernel's watch: its ring is
	// serviced and the kernel notified.
	before := td.ev.count(lp)
	c := td.client(t)
	if err := c.Write("/local/domain/0/domid", "0"); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Read("/local/domain/0/name"); err != nil || v != "Domain-0" {
		t.Fatalf("socket read: %q, %v", v, err)
	}
	k.take()
	if len(k.events) != 2 || k.events[1] != "WATCH_EVENT /local/domain/0/domid|t|" || td.ev.count(lp) <= before {
		t.Fatalf("kernel's events %q, notifications %d -> %d", k.events, before, td.ev.count(lp))
	}
}

// XS_INTRODUCE from a dom0 client maps the domain's ring (grant 1), binds
// its port, notifies it, and serves it with a domU's permissions;
// XS_RELEASE unbinds and unmaps it.
func TestIntroduceServesDomain(t *testing.T) {
	td, _ := newTestDaemon(t)
	c := td.client(t)
	if err := c.Mkdir("/local/domain/5"); err != nil {
		t.Fatal(err)
	}
	if err := c.SetPerms("/local/domain/5", "n0", "r5"); err != nil {
		t.Fatal(err)
	}
	if err := c.Write("/local/domain/5/name", "guest"); err != nil {
		t.Fatal(err)
	}
	if err := c.Write("/local/domain/5/data", ""); err != nil {
		t.Fatal(err)
	}
	if err := c.SetPerms("/local/domain/5/data", "n5"); err != nil {
		t.Fatal(err)
	}
	u := &guest{t: t, d: td.d, page: td.maps.page(5)}
	// A domain waiting for a late xenstore asks for a reconnection.
	le.PutUint32(u.page[xen.XenstoreConnectionOffset:], xen.XenstoreReconnect)
	introduce(t, c, 5, 77, 4)
	u.port = func() uint32 { return td.ev.local(t, 5, 4) }
	lp := u.port()
	if td.ev.count(lp) == 0 {
		t.Fatal("introduced domain not notified")
	}
	if le.Uint32(u.page[xen.XenstoreConnectionOffset:]) != xen.XenstoreConnected {
		t.Fatal("reconnection not acknowledged")
	}
	u.expect(xen.XSRead, "name\x00", "READ guest")
	u.expect(xen.XSWrite, "name\x00evil", "ERROR EACCES|")
	u.expect(xen.XSWrite, "data/x\x00ok", "WRITE OK|")
	u.expect(xen.XSRead, "/local/domain/0/name\x00", "ERROR EACCES|")
	if v, err := c.Read("/local/domain/5/data/x"); err != nil || v != "ok" {
		t.Fatalf("dom0 reads the domain's write: %q, %v", v, err)
	}
	if ok, err := isIntroduced(c, 5); err != nil || !ok {
		t.Fatalf("IS_DOMAIN_INTRODUCED: %v, %v", ok, err)
	}
	if err := release(c, 5); err != nil {
		t.Fatal(err)
	}
	td.ev.mu.Lock()
	_, still := td.ev.bound[lp]
	td.ev.mu.Unlock()
	if still || td.maps.unmaps[5] != 1 {
		t.Fatalf("after release: port bound %v, unmaps %d", still, td.maps.unmaps[5])
	}
	td.d.Event(lp) // a stale notification does nothing
	// A domain whose ring cannot be mapped is refused, and nothing stays bound.
	td.maps.missing[6] = true
	if err := introduceErr(c, 6, 1, 4); !xs.IsErrno(err, "EINVAL") {
		t.Fatalf("introduce of an unmappable domain: %v", err)
	}
	td.ev.refuse[7] = true
	if err := introduceErr(c, 7, 1, 4); !xs.IsErrno(err, "EINVAL") || td.maps.unmaps[7] != 1 {
		t.Fatalf("introduce with an unbindable port: %v, unmaps %d", err, td.maps.unmaps[7])
	}
	if !strings.Contains(td.logged(), "domain 5 introduced") || !strings.Contains(td.logged(), "domain 5 released") {
		t.Fatalf("log:\n%s", td.logged())
	}
}

// A guest that breaks its ring (a producer index far ahead) loses its
// connection with one log line; dom0 and another domain keep working.
func TestHostileRing(t *testing.T) {
	td, k := newTestDaemon(t)
	c := td.client(t)
	for _, id := range []uint32{5, 6} {
		if err := c.Write(fmt.Sprintf("/local/domain/%d/name", id), fmt.Sprint("d", id)); err != nil {
			t.Fatal(err)
		}
		introduce(t, c, id, 1, 4)
	}
	bad := &guest{t: t, d: td.d, page: td.maps.page(5), port: func() uint32 { return td.ev.local(t, 5, 4) }}
	good := &guest{t: t, d: td.d, page: td.maps.page(6), port: func() uint32 { return td.ev.local(t, 6, 4) }}
	le.PutUint32(bad.page[xen.XenstoreReqProdOffset:], 0x7fffffff)
	td.d.Event(bad.port())
	td.d.Event(bad.port())
	if n := strings.Count(td.logged(), "domain 5: xenstore ring broken"); n != 1 {
		t.Fatalf("%d log lines for the broken ring:\n%s", n, td.logged())
	}
	// An oversized message from the other one is refused the same way...
	hdr := msg(xen.XSRead, 1, "")
	le.PutUint32(hdr[12:], 100000)
	good.put(hdr)
	td.d.Event(good.port())
	if !strings.Contains(td.logged(), "domain 6: xenstore ring broken") {
		t.Fatalf("oversized message not caught:\n%s", td.logged())
	}
	// ... and dom0, its kernel ring and its socket, carry on.
	k.expect(xen.XSRead, "/local/domain/6/name\x00", "READ d6")
	if err := c.Write("/tool/x", "1"); err != nil {
		t.Fatal(err)
	}
}

// A socket client sending an oversized message is disconnected; the daemon
// and other clients carry on.
func TestSocketOversized(t *testing.T) {
	td, _ := newTestDaemon(t)
	nc, err := net.Dial("unix", td.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	hdr := msg(xen.XSRead, 1, "")
	le.PutUint32(hdr[12:], 5000)
	nc.Write(hdr)
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := nc.Read(make([]byte, 16)); err == nil {
		t.Fatalf("read %d bytes after an oversized message", n)
	} else if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("connection not closed")
	}
	c := td.client(t)
	if err := c.Write("/tool/y", "2"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(td.logged(), "over XENSTORE_PAYLOAD_MAX") {
		t.Fatalf("log:\n%s", td.logged())
	}
}

// Watches over the socket: the writer goroutine delivers events caused by
// another connection's request.
func TestSocketWatchEvents(t *testing.T) {
	td, k := newTestDaemon(t)
	nc, err := net.Dial("unix", td.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.Write(msg(xen.XSWatch, 1, "/tool\x00tok\x00"))
	got := readMsgs(t, nc, 2)
	if got[0] != "WATCH OK|" || got[1] != "WATCH_EVENT /tool|tok|" {
		t.Fatalf("watch: %q", got)
	}
	k.expect(xen.XSWrite, "/tool/z\x003", "WRITE OK|")
	if got := readMsgs(t, nc, 1); got[0] != "WATCH_EVENT /tool/z|tok|" {
		t.Fatalf("event from the kernel's write: %q", got)
	}
}

func readMsgs(t *testing.T, nc net.Conn, n int) []string {
	t.Helper()
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	var out []string
	for range n {
		var h [16]byte
		if _, err := ioReadFull(nc, h[:]); err != nil {
			t.Fatal(err)
		}
		var m xen.XsdSockmsg
		m.Decode(h[:])
		b := make([]byte, m.Len)
		if _, err := ioReadFull(nc, b); err != nil {
			t.Fatal(err)
		}
		out = append(out, xen.XSTypeName(m.Type)+" "+strings.ReplaceAll(string(b), "\x00", "|"))
	}
	return out
}

func ioReadFull(nc net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := nc.Read(b[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func introduceErr(c *xs.Client, domid uint32, gfn uint64, port uint32) error {
	return c.Introduce(domid, gfn, port)
}

func release(c *xs.Client, domid uint32) error { return c.Release(domid) }

func isIntroduced(c *xs.Client, domid uint32) (bool, error) { return c.IsIntroduced(domid) }

func introduce(t *testing.T, c *xs.Client, domid uint32, gfn uint64, port uint32) {
	t.Helper()
	if err := introduceErr(c, domid, gfn, port); err != nil {
		t.Fatal(err)
	}
}

// alignedPage returns a 4-byte aligned page, as a mapped page always is.
func alignedPage() []byte {
	w := make([]uint32, 1024)
	return unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), 4096)
}

// A socket client that sends requests and never reads its replies holds
// at most its "outstanding" limit of them: the daemon stops reading its
// requests, and other clients carry on.
func TestSocketClientThatNeverReads(t *testing.T) {
	td, _ := newTestDaemon(t)
	nc, err := net.Dial("unix", td.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	long := strings.Repeat("v", 4000)
	go func() {
		req := msg(xen.XSWrite, 1, "/tool/big\x00"+long)
		for i := 0; i < 3000; i++ {
			nc.Write(msg(xen.XSRead, uint32(i), "/tool/big\x00"))
			if i == 0 {
				nc.Write(req)
			}
		}
	}()
	time.Sleep(time.Second)
	c := td.client(t)
	if err := c.Write("/tool/other", "1"); err != nil {
		t.Fatal(err)
	}
	if p := td.d.Server().DomainUsage(0); p.Entries > 100 {
		t.Fatalf("usage %+v", p)
	}
	var queued int
	td.d.mu.Lock()
	for sc := range td.d.sockets {
		queued += sc.Pending()
	}
	td.d.mu.Unlock()
	if queued > (xenstore.PrivilegedLimits.Outstanding+2)*(4000+16) {
		t.Fatalf("%d bytes queued for clients", queued)
	}
}

// BenchmarkSocketRead: XS_READ round trips from a dom0 client over the
// daemon's unix socket (what xl and the xenstore tools in dom0 pay).
func BenchmarkSocketRead(b *testing.B) {
	td, _ := newTestDaemon(b)
	nc, err := net.Dial("unix", td.sock)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	c := xs.New(nc)
	if err := c.Write("/tool/bench", "value"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Read("/tool/bench"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRingRead: XS_READ round trips through a ring page and Event, as
// dom0's kernel xenbus or a domU's makes them (without the event channel's
// own cost).
func BenchmarkRingRead(b *testing.B) {
	_, k := newTestDaemon(b)
	req := msg(xen.XSRead, 1, "/local/domain\x00")
	port := k.port()
	b.ReportAllocs()
	for b.Loop() {
		k.put(req)
		k.d.Event(port)
		if got := k.take(); len(got) != 1 {
			b.Fatalf("replies %q", got)
		}
	}
}

// XS_INTRODUCE can also come through dom0's kernel ring (/dev/xen/xenbus
// forwards it): the new ring is attached and kicked within the same
// notification's servicing.
func TestIntroduceThroughKernelRing(t *testing.T) {
	td, k := newTestDaemon(t)
	k.expect(xen.XSIntroduce, "9\x001\x005\x00", "INTRODUCE OK|")
	lp := td.ev.local(t, 9, 5)
	if td.ev.count(lp) != 1 {
		t.Fatalf("domain 9 notified %d times", td.ev.count(lp))
	}
	u := &guest{t: t, d: td.d, page: td.maps.page(9), port: func() uint32 { return lp }}
	u.expect(xen.XSGetDomainPath, "9\x00", "GET_DOMAIN_PATH /local/domain/9|")
	k.expect(xen.XSIsDomainIntroduced, "9\x00", "IS_DOMAIN_INTRODUCED T|")
}

// fakeDomains is getdomaininfolist for DomainsChanged.
type fakeDomains struct {
	list []xc.DomainInfo
	err  error
}

func (f *fakeDomains) ListDomains() ([]xc.DomainInfo, error) { return f.list, f.err }

// VIRQ_DOM_EXC: a domain that died is released (ring unmapped, port
// unbound, its nodes and watches gone, @releaseDomain fired); one that
// only shut down fires @releaseDomain once and stays; a dying one goes.
func TestDomainsChangedReleasesDeadDomains(t *testing.T) {
	td, k := newTestDaemon(t)
	k.expect(xen.XSWatch, "@releaseDomain\x00rel\x00", "WATCH OK|")
	k.take()
	k.events = nil
	c := td.client(t)
	for _, id := range []uint32{5, 6} {
		home := fmt.Sprintf("/local/domain/%d", id)
		if err := c.Write(home+"/data", ""); err != nil {
			t.Fatal(err)
		}
		if err := c.SetPerms(home+"/data", fmt.Sprintf("n%d", id)); err != nil {
			t.Fatal(err)
		}
		introduce(t, c, id, 1, 4)
	}
	u5 := &guest{t: t, d: td.d, page: td.maps.page(5)}
	lp5 := td.ev.local(t, 5, 4)
	u5.port = func() uint32 { return lp5 }
	u5.expect(xen.XSWrite, "data/x\x00mine", "WRITE OK|")
	u5.expect(xen.XSWatch, "/local/domain/5/data\x00w\x00", "WATCH OK|")

	doms := &fakeDomains{err: errors.New("EPERM")}
	if err := td.d.DomainsChanged(doms); err == nil {
		t.Fatal("DomainsChanged without a domain list succeeded")
	}
	if v, err := c.Read("/local/domain/5/data/x"); err != nil || v != "mine" {
		t.Fatalf("a failed list changed the store: %q, %v", v, err)
	}

	// Domain 5 is gone, 6 shut down.
	doms = &fakeDomains{list: []xc.DomainInfo{{ID: 0}, {ID: 6, Flags: xc.DomInfShutdown}}}
	if err := td.d.DomainsChanged(doms); err != nil {
		t.Fatal(err)
	}
	td.ev.mu.Lock()
	_, bound := td.ev.bound[lp5]
	td.ev.mu.Unlock()
	if bound || td.maps.unmaps[5] != 1 {
		t.Fatalf("dead domain 5: port bound %v, unmaps %d", bound, td.maps.unmaps[5])
	}
	if _, err := c.Read("/local/domain/5/data/x"); !xs.IsErrno(err, "ENOENT") {
		t.Fatalf("dead domain 5's node: %v", err)
	}
	if ok, err := isIntroduced(c, 5); err != nil || ok {
		t.Fatalf("domain 5 still introduced: %v, %v", ok, err)
	}
	if ok, err := isIntroduced(c, 6); err != nil || !ok {
		t.Fatalf("shut-down domain 6 released: %v, %v", ok, err)
	}
	if td.d.Server().DomainUsage(5).Watches != 0 {
		t.Fatal("dead domain 5 keeps its watch")
	}
	k.take()
	if n := strings.Count(strings.Join(k.events, "\n"), "WATCH_EVENT @releaseDomain|rel|"); n != 2 {
		t.Fatalf("@releaseDomain fired %d times (want 2: 5 gone, 6 shut down): %q", n, k.events)
	}
	// Again with nothing new: no event. Then 6 dying: released.
	k.events = nil
	td.d.DomainsChanged(doms)
	k.take()
	if len(k.events) != 0 {
		t.Fatalf("events with nothing changed: %q", k.events)
	}
	doms.list[1].Flags |= xc.DomInfDying
	td.d.DomainsChanged(doms)
	if ok, _ := isIntroduced(c, 6); ok || td.maps.unmaps[6] != 1 {
		t.Fatalf("dying domain 6: introduced %v, unmaps %d", ok, td.maps.unmaps[6])
	}
	if !strings.Contains(td.logged(), "domain 5 is gone") {
		t.Fatalf("log:\n%s", td.logged())
	}
}

// BenchmarkSocketWriteBatch: a domain's xenstore skeleton as xl writes it
// (xs.Client.WriteBatch: 26 nodes, 15 with permissions, pipelined) over
// the daemon's unix socket; one op is the whole batch.
func BenchmarkSocketWriteBatch(b *testing.B) {
	td, _ := newTestDaemon(b)
	c := td.client(b)
	var ws []xs.Write
	for i := range 26 {
		w := xs.Write{Path: fmt.Sprintf("/local/domain/5/node%d", i), Value: "value"}
		if i%2 == 0 || i < 4 {
			w.Perms = []string{"n0", "r5"}
		}
		ws = append(ws, w)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := c.WriteBatch(ws); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSocketWriteBatch: a pipelined batch over the socket (each window of
// requests in one write, answered together) writes every node and
// permission in order, reports a refused request by its path, and leaves
// the connection in step.
func TestSocketWriteBatch(t *testing.T) {
	td, _ := newTestDaemon(t)
	c := td.client(t)
	var ws []xs.Write
	for i := range 40 {
		w := xs.Write{Path: fmt.Sprintf("/local/domain/5/n%d", i), Value: strings.Repeat("v", i)}
		if i%3 == 0 {
			w.Perms = []string{"n5", "r0"}
		}
		ws = append(ws, w)
	}
	ws[21].Path = "/local/domain/5/bad//path"
	err := c.WriteBatch(ws)
	if err == nil || !strings.Contains(err.Error(), "bad//path") {
		t.Fatalf("batch with an invalid path: %v", err)
	}
	for i, w := range ws {
		if i == 21 {
			continue
		}
		if v, err := c.Read(w.Path); err != nil || v != w.Value {
			t.Fatalf("node %d: %q, %v", i, v, err)
		}
		if w.Perms != nil {
			if p, err := c.Perms(w.Path); err != nil || strings.Join(p, ",") != "n5,r0" {
				t.Errorf("node %d perms %v, %v", i, p, err)
			}
		}
	}
}

// A domain that never reads its watch events loses the ones beyond its
// queue (xenstore.Limits.EventBytes), and the daemon says so in its log
// rather than dropping them silently.
func TestDroppedEventsAreLogged(t *testing.T) {
	td, _ := newTestDaemon(t)
	c := td.client(t)
	for _, step := range []func() error{
		func() error { return c.Mkdir("/local/domain/5") },
		func() error { return c.SetPerms("/local/domain/5", "n5") },
	} {
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	u := &guest{t: t, d: td.d, page: td.maps.page(5)}
	introduce(t, c, 5, 77, 4)
	u.port = func() uint32 { return td.ev.local(t, 5, 4) }
	u.take()
	u.expect(xen.XSWatch, "data\x00w\x00", "WATCH OK|")
	name := strings.Repeat("n", 100)
	for i := 0; i < 1000; i++ {
		if err := c.Write(fmt.Sprintf("/local/domain/5/data/%s%d", name, i), "x"); err != nil {
			t.Fatal(err)
		}
	}
	dropped := td.d.byDom[5].r.Conn().Dropped()
	lines := strings.Count(td.logged(), "watch events dropped so far")
	if dropped == 0 || !strings.Contains(td.logged(), "domain 5: 1 watch events dropped so far") {
		t.Fatalf("%d events dropped; log:\n%s", dropped, td.logged())
	}
	// Logged at 1, 2, 4, ...: about log2(dropped) lines, not one each.
	if lines > 12 {
		t.Fatalf("%d log lines for %d dropped events", lines, dropped)
	}
}
