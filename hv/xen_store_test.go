package hv

import (
	"errors"
	"strings"
	"testing"

	"gozen/abi/xen"
	"gozen/loader"
	"gozen/xenstore"
)

// The xenstore hv serves, driven as a guest drives it: requests written
// into the ring page at HVM_PARAM_STORE_PFN, EVTCHNOP_send on the port at
// HVM_PARAM_STORE_EVTCHN, replies read back from the page.

// storeGuest is a guest's side of its xenstore ring.
type storeGuest struct {
	t       *testing.T
	d       *Domain
	reqID   uint32
	partial []byte // the start of a message split across ring fills
}

func newStoreDomain(t *testing.T, h *Hypervisor, name string) *storeGuest {
	t.Helper()
	d, err := h.CreateDomain(DomainConfig{Name: name, Mem: 4 << 20, Kernel: pvhELF(insnHLT), Cmdline: "x"})
	if err != nil {
		t.Fatal(err)
	}
	return &storeGuest{t: t, d: d}
}

func (g *storeGuest) page() *[4096]byte { return g.d.page(g.d.xen.params[xen.HVMParamStorePFN]) }

func (g *storeGuest) notify() {
	if e := g.d.ev.Send(uint32(g.d.xen.params[xen.HVMParamStoreEvtchn])); e != 0 {
		g.t.Fatalf("EVTCHNOP_send on the store port: %d", e)
	}
}

// put appends raw bytes to req[] (no notification).
func (g *storeGuest) put(b []byte) {
	p := g.page()
	prod := le.Uint32(p[xen.XenstoreReqProdOffset:])
	for _, c := range b {
		p[xen.XenstoreReqOffset+int(xen.MaskXenstoreIdx(prod))] = c
		prod++
	}
	le.PutUint32(p[xen.XenstoreReqProdOffset:], prod)
}

func storeMsg(typ, reqID uint32, payload string) []byte {
	b := make([]byte, xen.XsdSockmsgSize+len(payload))
	(&xen.XsdSockmsg{Type: typ, ReqID: reqID, Len: uint32(len(payload))}).Encode(b)
	copy(b[xen.XsdSockmsgSize:], payload)
	return b
}

// take reads every message in rsp[] as "TYPE payload" strings.
func (g *storeGuest) take() []string {
	p := g.page()
	cons := le.Uint32(p[xen.XenstoreRspConsOffset:])
	prod := le.Uint32(p[xen.XenstoreRspProdOffset:])
	var raw []byte
	for ; cons != prod; cons++ {
		raw = append(raw, p[xen.XenstoreRspOffset+int(xen.MaskXenstoreIdx(cons))])
	}
	le.PutUint32(p[xen.XenstoreRspConsOffset:], cons)
	raw = append(g.partial, raw...)
	var out []string
	for len(raw) >= xen.XsdSockmsgSize {
		var h xen.XsdSockmsg
		h.Decode(raw)
		if h.Len > xen.XenstorePayloadMax {
			g.t.Fatalf("bad message in rsp[]: %+v", h)
		}
		n := xen.XsdSockmsgSize + int(h.Len)
		if n > len(raw) {
			break
		}
		out = append(out, xen.XSTypeName(h.Type)+" "+strings.ReplaceAll(string(raw[xen.XsdSockmsgSize:n]), "\x00", "|"))
		raw = raw[n:]
	}
	g.partial = append([]byte(nil), raw...)
	return out
}

// call sends one request and returns everything that came back.
func (g *storeGuest) call(typ uint32, payload string) []string {
	g.t.Helper()
	g.reqID++
	g.put(storeMsg(typ, g.reqID, payload))
	g.notify()
	return g.take()
}

func (g *storeGuest) expect(typ uint32, payload string, want ...string) {
	g.t.Helper()
	if got := g.call(typ, payload); strings.Join(got, "\n") != strings.Join(want, "\n") {
		g.t.Fatalf("%s %q: got %q, want %q", xen.XSTypeName(typ), payload, got, want)
	}
}

// dom0 is a privileged client of hv's store, for checking what is there.
type dom0Client struct {
	t *testing.T
	c *xenstore.Conn
}

func (c dom0Client) call(typ uint32, payload string) string {
	c.t.Helper()
	if err := c.c.Process(storeMsg(typ, 1, payload)); err != nil {
		c.t.Fatal(err)
	}
	buf := make([]byte, c.c.Pending())
	buf = buf[:c.c.ReadOutput(buf)]
	var out []string
	for len(buf) >= xen.XsdSockmsgSize {
		var h xen.XsdSockmsg
		h.Decode(buf)
		n := xen.XsdSockmsgSize + int(h.Len)
		out = append(out, xen.XSTypeName(h.Type)+" "+strings.ReplaceAll(string(buf[xen.XsdSockmsgSize:n]), "\x00", "|"))
		buf = buf[n:]
	}
	return strings.Join(out, "\n")
}

func TestStoreRingServesTheDomain(t *testing.T) {
	h, _, _ := newTestHV()
	g := newStoreDomain(t, h, "guest")
	d := g.d
	if pfn := d.xen.params[xen.HVMParamStorePFN]; pfn != loader.StoreGFN {
		t.Fatalf("HVM_PARAM_STORE_PFN = %#x, want %#x", pfn, loader.StoreGFN)
	}
	if d.xen.params[xen.HVMParamStoreEvtchn] == 0 || d.xen.params[xen.HVMParamStoreEvtchn] == uint64(d.xen.consolePort) {
		t.Fatalf("HVM_PARAM_STORE_EVTCHN = %d (console port %d)", d.xen.params[xen.HVMParamStoreEvtchn], d.xen.consolePort)
	}
	if p := g.page(); le.Uint32(p[xen.XenstoreConnectionOffset:]) != xen.XenstoreConnected ||
		le.Uint32(p[xen.XenstoreServerFeaturesOffset:]) == 0 {
		t.Fatal("ring page not set up as connected with server features")
	}
	// The frame is pinned: the guest cannot give it back nor map over it.
	if h.decreaseReservation(d, loader.StoreGFN, 0) {
		t.Fatal("decrease_reservation gave back the xenstore ring")
	}
	if err := (grantMem{d}).MapForeign(loader.StoreGFN, 0x1234, false); err == nil {
		t.Fatal("a grant mapping covered the xenstore ring")
	}
	// What Linux does first (dom0-toolstack.md §D.5), with relative paths.
	g.expect(xen.XSRead, "control/platform-feature-xs_reset_watches\x00", "READ 1")
	g.expect(xen.XSResetWatches, "", "RESET_WATCHES OK|")
	g.expect(xen.XSRead, "name\x00", "READ guest")
	g.expect(xen.XSRead, "memory/target\x00", "READ 4096")
	g.expect(xen.XSRead, "cpu/0/availability\x00", "READ online")
	g.expect(xen.XSDirectory, "device\x00", "DIRECTORY suspend|")
	g.expect(xen.XSWrite, "control/feature-poweroff\x001", "WRITE OK|")
	g.expect(xen.XSWatch, "control/shutdown\x00tok\x00", "WATCH OK|", "WATCH_EVENT control/shutdown|tok|")
	// Its own home is dom0's: it may not rename itself.
	g.expect(xen.XSWrite, "name\x00evil", "ERROR EACCES|")
	g.expect(xen.XSWrite, "data/x\x00y", "WRITE OK|")

	// hv asks for a graceful shutdown: the watch fires in the ring at once
	// (the guest is notified), with the request in the node.
	if err := h.RequestShutdown(d, "poweroff"); err != nil {
		t.Fatal(err)
	}
	if got := g.take(); strings.Join(got, ";") != "WATCH_EVENT control/shutdown|tok|" {
		t.Fatalf("after RequestShutdown the ring holds %q", got)
	}
	g.expect(xen.XSRead, "control/shutdown\x00", "READ poweroff")
}

func TestStoreNodesPermissionsAndRelease(t *testing.T) {
	h, _, out := newTestHV()
	a := newStoreDomain(t, h, "a")
	b := newStoreDomain(t, h, "b")
	d0 := dom0Client{t, h.XenStore().Connect(0, true)}
	for _, c := range []struct {
		typ     uint32
		p, want string
	}{
		{xen.XSGetPerms, "/local/domain/1\x00", "GET_PERMS n0|r1|"},
		{xen.XSGetPerms, "/local/domain/1/name\x00", "GET_PERMS n0|r1|"},
		{xen.XSGetPerms, "/local/domain/1/control\x00", "GET_PERMS n0|r1|"},
		{xen.XSGetPerms, "/local/domain/1/control/shutdown\x00", "GET_PERMS n1|"},
		{xen.XSGetPerms, "/local/domain/1/data\x00", "GET_PERMS n1|"},
		{xen.XSGetPerms, "/local/domain/1/memory/target\x00", "GET_PERMS n0|r1|"},
		{xen.XSRead, "/local/domain/2/name\x00", "READ b"},
		{xen.XSRead, "/local/domain/2/store/ring-ref\x00", "READ 4"},
		{xen.XSRead, "/local/domain/2/domid\x00", "READ 2"},
		{xen.XSIsDomainIntroduced, "2\x00", "IS_DOMAIN_INTRODUCED T|"},
	} {
		if got := d0.call(c.typ, c.p); got != c.want {
			t.Errorf("%s %q: %q, want %q", xen.XSTypeName(c.typ), c.p, got, c.want)
		}
	}
	// Neither domain reaches the other's nodes.
	a.expect(xen.XSRead, "/local/domain/2/name\x00", "ERROR EACCES|")
	b.expect(xen.XSWrite, "/local/domain/1/control/shutdown\x00poweroff", "ERROR EACCES|")
	// A watch on the other's node is allowed (and fires once, as set), but
	// the other's writes do not reach it.
	a.expect(xen.XSWatch, "/local/domain/2/control/shutdown\x00spy\x00", "WATCH OK|", "WATCH_EVENT /local/domain/2/control/shutdown|spy|")
	b.expect(xen.XSWrite, "control/shutdown\x00x", "WRITE OK|")
	if got := a.take(); len(got) != 0 {
		t.Fatalf("domain 1 saw domain 2's write: %q", got)
	}

	// Destroy: @releaseDomain fires, the home and everything of the domain goes.
	if got := d0.call(xen.XSWatch, "@releaseDomain\x00rel\x00"); got != "WATCH OK|\nWATCH_EVENT @releaseDomain|rel|" {
		t.Fatalf("watch @releaseDomain: %q", got)
	}
	if err := h.Destroy(b.d); err != nil {
		t.Fatal(err)
	}
	if got := d0.call(xen.XSRead, "/local/domain/2\x00"); got != "WATCH_EVENT @releaseDomain|rel|\nERROR ENOENT|" {
		t.Fatalf("after destroy: %q", got)
	}
	if u := h.XenStore().DomainUsage(2); u != (xenstore.Usage{}) || h.XenStore().Introduced(2) {
		t.Fatalf("domain 2 still in the store: %+v", u)
	}
	// Shutdown fires it too, and the domain's connection is gone with its memory.
	h.exec(func() { h.shutdownDomain(a.d, xen.ShutdownPoweroff) })
	if got := d0.call(xen.XSRead, "/local/domain/1/name\x00"); !strings.HasPrefix(got, "WATCH_EVENT @releaseDomain|rel|") ||
		!strings.HasSuffix(got, "READ a") {
		t.Fatalf("after shutdown: %q", got)
	}
	if h.XenStore().Introduced(1) || a.d.xs.ring != nil {
		t.Fatal("shut-down domain still connected")
	}
	if err := h.RequestShutdown(a.d, "poweroff"); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("RequestShutdown of a shut-down domain: %v", err)
	}
	if strings.Contains(out.String(), "broken") {
		t.Fatalf("log: %s", out)
	}
	// Destroying the shut-down domain removes its home: the store is back
	// to what it held before any domain (/, /local, /local/domain, /tool).
	if err := h.Destroy(a.d); err != nil {
		t.Fatal(err)
	}
	if n := h.XenStore().NodeCount(); n != 4 {
		t.Fatalf("%d nodes left after every domain was destroyed", n)
	}
}

func TestRequestShutdownNeedsPVControl(t *testing.T) {
	h, _, _ := newTestHV()
	g := newStoreDomain(t, h, "g")
	if err := h.RequestShutdown(g.d, "poweroff"); !errors.Is(err, ErrNoPVControl) {
		t.Fatalf("no feature-poweroff: %v", err)
	}
	if err := h.RequestShutdown(g.d, "suspend"); err == nil {
		t.Fatal("suspend accepted")
	}
	g.expect(xen.XSWrite, "control/feature-reboot\x001", "WRITE OK|")
	if err := h.RequestShutdown(g.d, "reboot"); err != nil {
		t.Fatal(err)
	}
	g.expect(xen.XSRead, "control/shutdown\x00", "READ reboot")
	if err := h.RequestShutdown(nil, "reboot"); !errors.Is(err, ErrNoDomain) {
		t.Fatalf("nil domain: %v", err)
	}
}

// A guest that breaks its ring (indexes far apart, an oversized length,
// garbage) loses its xenstore and nothing else: hv does not crash or spin,
// and another domain's ring keeps working.
func TestStoreHostileRing(t *testing.T) {
	for _, tc := range []struct {
		name   string
		break_ func(g *storeGuest)
		code   uint32
	}{
		{"req_prod far ahead", func(g *storeGuest) {
			le.PutUint32(g.page()[xen.XenstoreReqProdOffset:], 0x80000000)
		}, xen.XenstoreErrorRingidx},
		{"rsp_cons far behind", func(g *storeGuest) {
			le.PutUint32(g.page()[xen.XenstoreRspConsOffset:], 0x12345678)
			g.put(storeMsg(xen.XSRead, 1, "name\x00"))
		}, xen.XenstoreErrorRingidx},
		{"oversized length", func(g *storeGuest) {
			b := storeMsg(xen.XSWrite, 1, "")
			le.PutUint32(b[12:], 0xffffffff)
			g.put(b)
		}, xen.XenstoreErrorProto},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _, out := newTestHV()
			bad := newStoreDomain(t, h, "bad")
			good := newStoreDomain(t, h, "good")
			tc.break_(bad)
			for range 1000 {
				bad.notify()
			}
			if got := le.Uint32(bad.page()[xen.XenstoreErrorOffset:]); got != tc.code {
				t.Errorf("error word %d, want %d", got, tc.code)
			}
			if n := strings.Count(out.String(), "xenstore ring broken"); n != 1 {
				t.Errorf("%d log lines about the broken ring:\n%s", n, out)
			}
			good.expect(xen.XSRead, "name\x00", "READ good")
			if bad.d.State() != DomainRunning {
				t.Errorf("the bad domain is %s", bad.d.State())
			}
		})
	}
	// Random bytes as requests: a reply or a broken ring, never a panic.
	h, _, _ := newTestHV()
	bad := newStoreDomain(t, h, "noise")
	good := newStoreDomain(t, h, "good")
	seed := uint32(1)
	for i := 0; i < 200; i++ {
		var b [64]byte
		for j := range b {
			seed = seed*1664525 + 1013904223
			b[j] = byte(seed >> 24)
		}
		if i%3 == 0 {
			le.PutUint32(b[12:], uint32(b[12])%40) // plausible lengths too
		}
		bad.put(b[:])
		bad.notify()
		bad.take()
	}
	good.expect(xen.XSRead, "name\x00", "READ good")
}

// A flood of watch events for a domain that never reads its ring is bounded
// by the server's queue; hv keeps serving others.
func TestStoreEventFloodIsBounded(t *testing.T) {
	h, _, _ := newTestHV()
	victim := newStoreDomain(t, h, "victim")
	loud := newStoreDomain(t, h, "loud")
	loud.expect(xen.XSSetPerms, "data\x00n2\x00r1\x00", "SET_PERMS OK|")
	victim.expect(xen.XSWatch, "/local/domain/2/data\x00w\x00", "WATCH OK|", "WATCH_EVENT /local/domain/2/data|w|")
	for i := range 3000 {
		loud.expect(xen.XSWrite, "data/k\x00"+strings.Repeat("v", i%100), "WRITE OK|")
	}
	if h.XenStore().DomainUsage(1).Watches != 1 {
		t.Fatal("watch lost")
	}
	// The victim's rsp[] filled; the rest waited in the server's queue,
	// which is bounded (64 KiB of events: later ones were dropped). The
	// victim drains it, notifying after each read as Linux does.
	total := 0
	for range 10000 {
		got := victim.take()
		if len(got) == 0 && len(victim.partial) == 0 {
			break
		}
		total += len(got)
		victim.notify()
	}
	if total < 1000 || total >= 3000 {
		t.Fatalf("the victim got %d of 3000 events", total)
	}
	victim.expect(xen.XSRead, "name\x00", "READ victim")
}

// dom0 is domain 0 and gets no xenstore from hv: HVM_PARAM_STORE_EVTCHN
// is 0, so its Linux picks XS_LOCAL, and what XS_LOCAL does works: the
// kernel's alloc_unbound(SELF, SELF) and its xenstored's
// bind_interdomain(0, port) make a loopback channel whose two ends signal
// each other. The domUs keep hv's store.
func TestDom0StoreIsLocal(t *testing.T) {
	h, _, c := dom0HV(t)
	d, err := h.CreateDomain(DomainConfig{Name: "dom0", Kernel: pvhELF(insnHLT), Dom0: c})
	if err != nil {
		t.Fatal(err)
	}
	if d.id != 0 {
		t.Fatalf("dom0 is domain %d, want 0", d.id)
	}
	if pfn, port := d.xen.params[xen.HVMParamStorePFN], d.xen.params[xen.HVMParamStoreEvtchn]; pfn != 0 || port != 0 {
		t.Fatalf("dom0's STORE_PFN %#x STORE_EVTCHN %d, want 0 and 0 (XS_LOCAL)", pfn, port)
	}
	if h.XenStore().Introduced(0) {
		t.Error("hv's store connected dom0")
	}
	kernel, e := d.ev.AllocUnbound(xen.DomIDSelf, xen.DomIDSelf) // xenstored_local_init
	if e != 0 {
		t.Fatalf("alloc_unbound(SELF, SELF): %d", e)
	}
	daemon, e := d.ev.BindInterdomain(0, kernel) // IOCTL_EVTCHN_BIND_INTERDOMAIN(0, port)
	if e != 0 {
		t.Fatalf("bind_interdomain(0, %d): %d", kernel, e)
	}
	st, e := d.ev.Status(xen.DomIDSelf, daemon)
	if e != 0 || st.State != xen.EvtchnStatInterdomain || st.RemoteDom != 0 || st.RemotePort != kernel {
		t.Fatalf("xenstored's port: %+v, %d", st, e)
	}
	if d.ev.Table.IsPending(kernel) {
		t.Fatal("kernel's port pending before anyone sent")
	}
	if e := d.ev.Send(daemon); e != 0 || !d.ev.Table.IsPending(kernel) {
		t.Fatalf("send on xenstored's port %d: %d, kernel's port %d pending %v", daemon, e, kernel, d.ev.Table.IsPending(kernel))
	}
	if e := d.ev.Send(kernel); e != 0 || !d.ev.Table.IsPending(daemon) {
		t.Fatalf("send on the kernel's port: %d, xenstored's pending %v", e, d.ev.Table.IsPending(daemon))
	}
	u := newStoreDomain(t, h, "u")
	if u.d.id == 0 {
		t.Fatal("a domU got ID 0")
	}
	u.expect(xen.XSRead, "name\x00", "READ u")
	if _, err := h.CreateDomain(DomainConfig{Name: "again", Kernel: pvhELF(insnHLT), Dom0: c}); err == nil {
		t.Fatal("a second dom0")
	}
}
