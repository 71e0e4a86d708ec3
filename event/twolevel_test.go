package event

import (
	"testing"

	"gozen/abi/xen"
)

const shGFN = 3 // where the tests put shared_info

// TestTwoLevelSetPendingBits checks evtchn_2l_set_pending at exact byte
// offsets: pending bit in shared_info+2048, selector bit port/64 in
// vcpu_info+8, upcall_pending at vcpu_info+0, one kick per 0→1 edge.
func TestTwoLevelSetPendingBits(t *testing.T) {
	e := newEnv(t)
	a := e.add(1, 2, 8, false)
	ok(t, "shared", a.SetSharedInfo(shGFN))
	sh := a.mem.Page(shGFN)

	// Ports 1..130 as IPIs to vCPU 1; we want 130 (word 2, bit 2).
	var p uint32
	for i := 0; i < 130; i++ {
		p = port(t)(a.BindIPI(1))
	}
	if p != 130 {
		t.Fatalf("130th IPI got port %d", p)
	}
	ok(t, "send", a.Send(130))

	if sh[2048+16] != 1<<2 {
		t.Fatalf("evtchn_pending byte 2048+16 = %#x, want %#x", sh[2048+16], 1<<2)
	}
	vi := sh[64 : 64+64] // vCPU 1's legacy slot
	if u64(vi[8:]) != 1<<2 {
		t.Fatalf("pending_sel = %#x, want 1<<2", u64(vi[8:]))
	}
	if vi[0] != 1 || vi[1] != 0 {
		t.Fatalf("upcall_pending/mask = %d/%d, want 1/0", vi[0], vi[1])
	}
	if sh[0] != 0 || u64(sh[8:]) != 0 {
		t.Fatal("vCPU 0's vcpu_info was touched")
	}
	if len(a.rec.kicks) != 1 || a.rec.kicks[0] != (kick{uint16(1), 1}) {
		t.Fatalf("kicks %v, want one of vCPU 1", a.rec.kicks)
	}
	if !a.UpcallPending(1) || a.UpcallPending(0) || a.UpcallMasked(1) {
		t.Fatal("UpcallPending/UpcallMasked disagree with vcpu_info")
	}
	if len(a.rec.ports) != 1 || a.rec.ports[0] != 130 {
		t.Fatalf("PortPending calls %v", a.rec.ports)
	}

	// Already pending: nothing changes, no kick.
	a.rec.reset()
	ok(t, "send again", a.Send(130))
	if len(a.rec.kicks) != 0 || len(a.rec.ports) != 0 {
		t.Fatal("second send of a pending port notified")
	}

	// Another port in the same word: selector already set, no kick.
	ok(t, "send 129", a.Send(129))
	if len(a.rec.kicks) != 0 || !bit(sh, 2048, 129) {
		t.Fatal("port 129")
	}

	// Guest handles: clears upcall, selector, pending. A new event in
	// another word kicks again.
	vi[0] = 0
	clear(vi[8:16])
	clear(sh[2048 : 2048+512])
	ok(t, "send 5", a.Send(5))
	if u64(vi[8:]) != 1 || vi[0] != 1 || len(a.rec.kicks) != 1 {
		t.Fatalf("after re-arm: sel %#x upcall %d kicks %d", u64(vi[8:]), vi[0], len(a.rec.kicks))
	}

	// An upcall already pending (guest has not run yet): new selector bit
	// but no second kick, as Xen's vcpu_mark_events_pending.
	a.rec.reset()
	ok(t, "send 70", a.Send(70))
	if u64(vi[8:]) != 1|2 || len(a.rec.kicks) != 0 {
		t.Fatalf("sel %#x kicks %d", u64(vi[8:]), len(a.rec.kicks))
	}
}

// TestTwoLevelMaskAndUnmask: a masked port gets its pending bit but no
// selector/upcall; Unmask re-signals it; Unmask of a pending port that was
// not masked does nothing.
func TestTwoLevelMaskAndUnmask(t *testing.T) {
	e := newEnv(t)
	a := e.add(1, 1, 8, false)
	ok(t, "shared", a.SetSharedInfo(shGFN))
	sh := a.mem.Page(shGFN)
	p := port(t)(a.BindIPI(0))

	setBit(sh, 2560, p, true) // guest masks
	ok(t, "send", a.Send(p))
	if !bit(sh, 2048, p) || u64(sh[8:]) != 0 || sh[0] != 0 || len(a.rec.kicks) != 0 {
		t.Fatal("masked port signalled")
	}
	if !a.IsPending(p) || !a.IsMasked(p) {
		t.Fatal("IsPending/IsMasked")
	}
	ok(t, "unmask", a.Unmask(p))
	if bit(sh, 2560, p) || u64(sh[8:]) != 1 || sh[0] != 1 || len(a.rec.kicks) != 1 {
		t.Fatal("unmask did not re-signal")
	}
	// Not masked: Unmask is a no-op even though pending.
	sh[0] = 0
	clear(sh[8:16])
	a.rec.reset()
	ok(t, "unmask again", a.Unmask(p))
	if sh[0] != 0 || len(a.rec.kicks) != 0 {
		t.Fatal("unmask of an unmasked port signalled")
	}
	// Masked and not pending: just unmasks.
	setBit(sh, 2048, p, false)
	setBit(sh, 2560, p, true)
	ok(t, "unmask not pending", a.Unmask(p))
	if bit(sh, 2560, p) || sh[0] != 0 {
		t.Fatal("unmask of a non-pending port")
	}
	// Port 0 is valid but reserved: Unmask is accepted and does nothing.
	setBit(sh, 2560, 0, true)
	ok(t, "unmask 0", a.Unmask(0))
	if !bit(sh, 2560, 0) {
		t.Fatal("unmask touched port 0")
	}
	wantErr(t, "unmask huge", a.Unmask(1<<31), int(xen.EINVAL))
	wantErr(t, "unmask beyond table", a.Unmask(64), int(xen.EINVAL))
}

// TestRegisteredVCPUInfo: after VCPUOP_register_vcpu_info, upcalls go to the
// registered area, which gets the old contents, all selector bits and an
// upcall.
func TestRegisteredVCPUInfo(t *testing.T) {
	e := newEnv(t)
	a := e.add(1, 2, 8, false)
	ok(t, "shared", a.SetSharedInfo(shGFN))
	sh := a.mem.Page(shGFN)
	sh[64+32] = 0xAB // vCPU 1 legacy slot: some time field
	sh[64+1] = 1     // and upcall_mask

	wantErr(t, "bad vcpu", a.RegisterVCPUInfo(2, 5, 0), int(xen.ENOENT))
	wantErr(t, "offset beyond page", a.RegisterVCPUInfo(1, 5, 4096), int(xen.EINVAL))
	wantErr(t, "huge gfn", a.RegisterVCPUInfo(1, 1<<52, 0), int(xen.EINVAL))
	wantErr(t, "crosses page", a.RegisterVCPUInfo(1, 5, 4096-56), int(xen.ENXIO))
	wantErr(t, "misaligned", a.RegisterVCPUInfo(1, 5, 4), int(xen.ENXIO))
	wantErr(t, "not RAM", a.RegisterVCPUInfo(1, 100, 0), int(xen.EINVAL))
	if len(a.rec.kicks) != 0 {
		t.Fatal("failed registration kicked")
	}

	ok(t, "register", a.RegisterVCPUInfo(1, 5, 4096-64))
	wantErr(t, "again", a.RegisterVCPUInfo(1, 6, 0), int(xen.EBUSY))
	vi := a.mem.Page(5)[4096-64:]
	if vi[32] != 0xAB || vi[1] != 1 {
		t.Fatal("old vcpu_info not copied")
	}
	if u64(vi[8:]) != ^uint64(0) || vi[0] != 1 {
		t.Fatal("registration did not mark everything pending")
	}
	if len(a.rec.kicks) != 1 || a.rec.kicks[0].vcpu != 1 {
		t.Fatalf("kicks %v", a.rec.kicks)
	}
	if !a.UpcallPending(1) || !a.UpcallMasked(1) {
		t.Fatal("queries must read the registered area")
	}

	// Events for vCPU 1 now land in the registered area only.
	vi[0] = 0
	clear(vi[8:16])
	legacy := sh[64:128]
	legacyBefore := [64]byte(legacy)
	p := port(t)(a.BindIPI(1))
	ok(t, "send", a.Send(p))
	if u64(vi[8:]) != 1 || vi[0] != 1 {
		t.Fatal("event not in registered vcpu_info")
	}
	if [64]byte(legacy) != legacyBefore {
		t.Fatal("legacy slot written after registration")
	}

	// Registration of a vCPU beyond the 32 legacy slots: no vcpu_info
	// before (events only reach shared_info), Xen's dummy contents after.
	b := e.add(2, 40, 8, false)
	ok(t, "shared b", b.SetSharedInfo(shGFN))
	q := port(t)(b.BindIPI(39))
	ok(t, "send 39", b.Send(q))
	if len(b.rec.kicks) != 0 || b.UpcallPending(39) || !b.UpcallMasked(39) {
		t.Fatal("vCPU 39 has no vcpu_info yet")
	}
	if !bit(b.mem.Page(shGFN), 2048, q) {
		t.Fatal("pending bit missing")
	}
	ok(t, "register 39", b.RegisterVCPUInfo(39, 6, 128))
	vi39 := b.mem.Page(6)[128:192]
	if vi39[1] != 1 || vi39[0] != 1 || u64(vi39[8:]) != ^uint64(0) || len(b.rec.kicks) != 1 {
		t.Fatal("vCPU 39 registration")
	}
}

// TestNoSharedInfoYet: events before XENMEM_add_to_physmap are recorded and
// delivered when the page appears; the page's event fields are cleared but
// the rest of the page is left alone.
func TestNoSharedInfoYet(t *testing.T) {
	e := newEnv(t)
	a := e.add(1, 2, 8, false)
	p := port(t)(a.BindIPI(1))
	ok(t, "send", a.Send(p))
	if len(a.rec.kicks) != 0 || a.UpcallPending(1) {
		t.Fatal("signalled without shared_info")
	}
	if !a.IsPending(p) {
		t.Fatal("event not recorded")
	}
	if _, set := a.SharedInfo(); set {
		t.Fatal("SharedInfo set")
	}

	sh := a.mem.Page(shGFN)
	for i := range sh {
		sh[i] = 0xEE // whatever the guest had there
	}
	wantErr(t, "not RAM", a.SetSharedInfo(99), int(xen.EINVAL))
	ok(t, "shared", a.SetSharedInfo(shGFN))
	if g, set := a.SharedInfo(); !set || g != shGFN {
		t.Fatal("SharedInfo")
	}
	for i := 2048; i < 3072; i++ {
		want := byte(0)
		if i == 2048+int(p/8) {
			want = 1 << (p % 8)
		}
		if sh[i] != want {
			t.Fatalf("byte %d = %#x, want %#x", i, sh[i], want)
		}
	}
	if sh[3072] != 0xEE || sh[32] != 0xEE || sh[16] != 0xEE {
		t.Fatal("non-event fields cleared")
	}
	if sh[0] != 0 || u64(sh[8:]) != 0 {
		t.Fatal("vCPU 0 got vCPU 1's event")
	}
	if sh[64] != 1 || u64(sh[64+8:]) != 1 || len(a.rec.kicks) != 1 || a.rec.kicks[0].vcpu != 1 {
		t.Fatal("recorded event not delivered")
	}

	// Same frame again: nothing happens. Another frame: the page moves.
	ok(t, "same", a.SetSharedInfo(shGFN))
	ok(t, "move", a.SetSharedInfo(4))
	if *a.mem.Page(4) != *sh {
		t.Fatal("moved page differs")
	}
}

// TestInterdomainPingPong: two domains exchange events over one channel.
func TestInterdomainPingPong(t *testing.T) {
	e := newEnv(t)
	a := e.add(1, 1, 8, false)
	b := e.add(2, 2, 8, false)
	ok(t, "a shared", a.SetSharedInfo(shGFN))
	ok(t, "b shared", b.SetSharedInfo(shGFN))
	ash, bsh := a.mem.Page(shGFN), b.mem.Page(shGFN)

	ap := port(t)(a.AllocUnbound(xen.DomIDSelf, 2))
	st, rc := a.Status(xen.DomIDSelf, ap)
	ok(t, "status", rc)
	if st != (Status{State: xen.EvtchnStatUnbound, RemoteDom: 2}) {
		t.Fatalf("unbound status %+v", st)
	}
	// Sending on an unbound port is dropped silently.
	ok(t, "send unbound", a.Send(ap))
	if bit(ash, 2048, ap) {
		t.Fatal("unbound send set pending")
	}

	bp := port(t)(b.BindInterdomain(1, ap))
	// Xen marks the new local end pending.
	if !bit(bsh, 2048, bp) || len(b.rec.kicks) != 1 {
		t.Fatal("bind did not mark the local end pending")
	}
	st, _ = a.Status(xen.DomIDSelf, ap)
	if st != (Status{State: xen.EvtchnStatInterdomain, RemoteDom: 2, RemotePort: bp}) {
		t.Fatalf("a status %+v", st)
	}
	st, _ = b.Status(xen.DomIDSelf, bp)
	if st != (Status{State: xen.EvtchnStatInterdomain, RemoteDom: 1, RemotePort: ap}) {
		t.Fatalf("b status %+v", st)
	}

	ok(t, "bind vcpu", b.BindVCPU(bp, 1))
	for i := 0; i < 10; i++ {
		// Both guests consume everything.
		clear(ash[2048:2560])
		clear(bsh[2048:2560])
		ash[0], bsh[64] = 0, 0
		clear(ash[8:16])
		clear(bsh[64+8 : 64+16])
		a.rec.reset()
		b.rec.reset()

		ok(t, "a→b", a.Send(ap))
		if !bit(bsh, 2048, bp) || bsh[64] != 1 || len(b.rec.kicks) != 1 || b.rec.kicks[0] != (kick{uint16(2), 1}) {
			t.Fatalf("round %d: b not signalled on vCPU 1 (%v)", i, b.rec.kicks)
		}
		if bit(ash, 2048, ap) || len(a.rec.kicks) != 0 {
			t.Fatalf("round %d: sender signalled", i)
		}
		ok(t, "b→a", b.Send(bp))
		if !bit(ash, 2048, ap) || ash[0] != 1 || len(a.rec.kicks) != 1 || a.rec.kicks[0] != (kick{uint16(1), 0}) {
			t.Fatalf("round %d: a not signalled", i)
		}
	}

	// A channel to oneself works too.
	p1 := port(t)(a.AllocUnbound(xen.DomIDSelf, xen.DomIDSelf))
	p2 := port(t)(a.BindInterdomain(xen.DomIDSelf, p1))
	clear(ash[2048:2560])
	ok(t, "self send", a.Send(p1))
	if !bit(ash, 2048, p2) || bit(ash, 2048, p1) {
		t.Fatal("loopback channel")
	}
	if err := e.sys.check(); err != nil {
		t.Fatal(err)
	}
}

// TestBindInterdomainChecks: a domain can only bind a port offered to it.
func TestBindInterdomainChecks(t *testing.T) {
	e := newEnv(t)
	a := e.add(1, 1, 8, false)
	b := e.add(2, 1, 8, false)
	c := e.add(3, 1, 8, false)
	ap := port(t)(a.AllocUnbound(xen.DomIDSelf, 2))

	_, rc := c.BindInterdomain(1, ap)
	wantErr(t, "offered to someone else", rc, int(xen.EINVAL))
	_, rc = b.BindInterdomain(9, ap)
	wantErr(t, "unknown domain", rc, int(xen.ESRCH))
	_, rc = b.BindInterdomain(1, 1<<30)
	wantErr(t, "huge port", rc, int(xen.EINVAL))
	_, rc = b.BindInterdomain(1, 0)
	wantErr(t, "port 0", rc, int(xen.EINVAL))
	ipi := port(t)(a.BindIPI(0))
	_, rc = b.BindInterdomain(1, ipi)
	wantErr(t, "not unbound", rc, int(xen.EINVAL))
	port(t)(b.BindInterdomain(1, ap))
	_, rc = b.BindInterdomain(1, ap)
	wantErr(t, "already bound", rc, int(xen.EINVAL))
	// A failed bind leaves no port allocated in the caller.
	st, rc := c.Status(xen.DomIDSelf, 1)
	ok(t, "status", rc)
	if st.State != xen.EvtchnStatClosed {
		t.Fatal("failed bind leaked a port")
	}
}

// TestAllocUnboundChecks covers ESRCH, EPERM, ENOSPC and DOMID_SELF.
func TestAllocUnboundChecks(t *testing.T) {
	e := newEnv(t)
	a := e.add(1, 1, 8, false)
	b := e.add(2, 1, 8, false)
	priv := e.add(0, 1, 8, true)

	_, rc := a.AllocUnbound(7, 2)
	wantErr(t, "unknown dom", rc, int(xen.ESRCH))
	_, rc = a.AllocUnbound(2, 1)
	wantErr(t, "other dom", rc, int(xen.EPERM))
	bp := port(t)(priv.AllocUnbound(2, 1))
	st, _ := b.Status(xen.DomIDSelf, bp)
	if st.State != xen.EvtchnStatUnbound || st.RemoteDom != 1 {
		t.Fatalf("status %+v", st)
	}
	// DOMID_SELF as remote means the caller, not the target.
	bp2 := port(t)(priv.AllocUnbound(2, xen.DomIDSelf))
	st, _ = b.Status(xen.DomIDSelf, bp2)
	if st.RemoteDom != 0 {
		t.Fatalf("remote %d, want the caller 0", st.RemoteDom)
	}
	port(t)(a.BindInterdomain(2, bp))

	small, err := e.sys.AddDomain(Config{ID: 5, VCPUs: 1, Mem: newMem(1), MaxPort: 3})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		if p, rc := small.AllocUnbound(xen.DomIDSelf, 0); rc != 0 || p != uint32(i) {
			t.Fatalf("alloc %d: %d %d", i, p, rc)
		}
	}
	_, rc = small.AllocUnbound(xen.DomIDSelf, 0)
	wantErr(t, "full", rc, int(xen.ENOSPC))
	_, rc = small.BindIPI(0)
	wantErr(t, "full ipi", rc, int(xen.ENOSPC))
	ok(t, "close", small.Close(2))
	if p, rc := small.BindIPI(0); rc != 0 || p != 2 {
		t.Fatal("freed port not reused")
	}
	if small.MaxPort() != 3 {
		t.Fatal("MaxPort")
	}
}

// TestClose: close semantics for every state.
func TestClose(t *testing.T) {
	e := newEnv(t)
	a := e.add(1, 2, 8, false)
	b := e.add(2, 1, 8, false)
	ok(t, "shared", a.SetSharedInfo(shGFN))
	sh := a.mem.Page(shGFN)

	ap := port(t)(a.AllocUnbound(xen.DomIDSelf, 2))
	bp := port(t)(b.BindInterdomain(1, ap))
	ok(t, "b→a", b.Send(bp))
	if !bit(sh, 2048, ap) {
		t.Fatal("not pending")
	}
	ok(t, "a closes", a.Close(ap))
	if bit(sh, 2048, ap) {
		t.Fatal("close did not clear pending")
	}
	st, _ := a.Status(xen.DomIDSelf, ap)
	if st.State != xen.EvtchnStatClosed {
		t.Fatal("closed port not closed")
	}
	st, _ = b.Status(xen.DomIDSelf, bp)
	if st != (Status{State: xen.EvtchnStatUnbound, RemoteDom: 1}) {
		t.Fatalf("peer after close: %+v", st)
	}
	ok(t, "send on now-unbound", b.Send(bp))
	wantErr(t, "send on closed", a.Send(ap), int(xen.EINVAL))
	wantErr(t, "close twice", a.Close(ap), int(xen.EINVAL))
	wantErr(t, "close 0", a.Close(0), int(xen.EINVAL))
	wantErr(t, "close huge", a.Close(^uint32(0)), int(xen.EINVAL))
	// The peer's port is now offered to a again.
	ap2 := port(t)(a.BindInterdomain(2, bp))
	st, _ = b.Status(xen.DomIDSelf, bp)
	if st.State != xen.EvtchnStatInterdomain || st.RemotePort != ap2 {
		t.Fatal("rebind")
	}

	// VIRQ: closing frees the VIRQ for rebinding.
	vp := port(t)(a.BindVIRQ(xen.VIRQTimer, 1))
	ok(t, "close virq", a.Close(vp))
	if a.VIRQEnabled(xen.VIRQTimer, 1) || a.RaiseVIRQ(xen.VIRQTimer, 1) {
		t.Fatal("closed VIRQ still bound")
	}
	port(t)(a.BindVIRQ(xen.VIRQTimer, 1))

	// IPI and unbound close plainly; the notify vCPU resets to 0.
	ip := port(t)(a.BindIPI(1))
	ok(t, "close ipi", a.Close(ip))
	up := port(t)(a.AllocUnbound(xen.DomIDSelf, 2))
	if up != ip {
		t.Fatalf("lowest free port not reused: %d vs %d", up, ip)
	}
	st, _ = a.Status(xen.DomIDSelf, up)
	if st.VCPU != 0 {
		t.Fatal("notify vCPU not reset")
	}
	ok(t, "close unbound", a.Close(up))
	if err := e.sys.check(); err != nil {
		t.Fatal(err)
	}
}

// TestVIRQ covers binding rules and raising.
func TestVIRQ(t *testing.T) {
	e := newEnv(t)
	a := e.add(1, 2, 8, false)
	dom0 := e.add(0, 1, 8, true)
	ok(t, "shared", a.SetSharedInfo(shGFN))
	sh := a.mem.Page(shGFN)

	_, rc := a.BindVIRQ(xen.NrVIRQs, 0)
	wantErr(t, "bad virq", rc, int(xen.EINVAL))
	_, rc = a.BindVIRQ(^uint32(0), 0)
	wantErr(t, "huge virq", rc, int(xen.EINVAL))
	_, rc = a.BindVIRQ(xen.VIRQTimer, 2)
	wantErr(t, "bad vcpu", rc, int(xen.ENOENT))
	_, rc = a.BindVIRQ(xen.VIRQConsole, 1)
	wantErr(t, "global on vcpu 1", rc, int(xen.EINVAL))
	_, rc = a.BindVIRQ(xen.VIRQArgo, 1)
	wantErr(t, "domain virq on vcpu 1", rc, int(xen.EINVAL))
	_, rc = a.BindVIRQ(xen.VIRQConsole, 0)
	wantErr(t, "global, not handler", rc, int(xen.EBUSY))

	t0 := port(t)(a.BindVIRQ(xen.VIRQTimer, 0))
	t1 := port(t)(a.BindVIRQ(xen.VIRQTimer, 1))
	_, rc = a.BindVIRQ(xen.VIRQTimer, 1)
	wantErr(t, "again", rc, int(xen.EEXIST))
	st, _ := a.Status(xen.DomIDSelf, t1)
	if st != (Status{State: xen.EvtchnStatVirq, VCPU: 1, VIRQ: xen.VIRQTimer}) {
		t.Fatalf("status %+v", st)
	}
	wantErr(t, "bind_vcpu per-vCPU virq", a.BindVCPU(t1, 0), int(xen.EINVAL))

	if !a.RaiseVIRQ(xen.VIRQTimer, 1) {
		t.Fatal("raise")
	}
	if !bit(sh, 2048, t1) || bit(sh, 2048, t0) || sh[64] != 1 || sh[0] != 0 {
		t.Fatal("timer raised on the wrong vCPU")
	}
	if a.RaiseVIRQ(xen.VIRQDebug, 0) || a.RaiseVIRQ(xen.VIRQTimer, 5) || a.RaiseVIRQ(xen.VIRQTimer, -1) || a.RaiseVIRQ(99, 0) {
		t.Fatal("raise of unbound/bad VIRQ reported delivery")
	}
	if !a.VIRQEnabled(xen.VIRQTimer, 0) || a.VIRQEnabled(xen.VIRQDebug, 0) || a.VIRQEnabled(xen.VIRQTimer, 9) {
		t.Fatal("VIRQEnabled")
	}

	// Global VIRQ: the privileged domain handles it by default.
	cp := port(t)(dom0.BindVIRQ(xen.VIRQConsole, 0))
	ok(t, "dom0 shared", dom0.SetSharedInfo(shGFN))
	if !e.sys.RaiseGlobalVIRQ(xen.VIRQConsole) || !bit(dom0.mem.Page(shGFN), 2048, cp) {
		t.Fatal("global VIRQ")
	}
	if e.sys.RaiseGlobalVIRQ(xen.VIRQTimer) || e.sys.RaiseGlobalVIRQ(xen.NrVIRQs) {
		t.Fatal("RaiseGlobalVIRQ of a per-vCPU/bad VIRQ")
	}
	// Hand VIRQ_CON_RING to a; it binds it and moves it to vCPU 1.
	wantErr(t, "handler for per-vCPU virq", e.sys.SetGlobalVIRQHandler(xen.VIRQTimer, a.Domain), int(xen.EINVAL))
	ok(t, "handler", e.sys.SetGlobalVIRQHandler(xen.VIRQConRing, a.Domain))
	rp := port(t)(a.BindVIRQ(xen.VIRQConRing, 0))
	ok(t, "bind_vcpu global", a.BindVCPU(rp, 1))
	clear(sh[64 : 64+16])
	if !e.sys.RaiseGlobalVIRQ(xen.VIRQConRing) || !bit(sh, 2048, rp) || u64(sh[64+8:]) == 0 {
		t.Fatal("global VIRQ not delivered to its bound vCPU")
	}
	if !a.VIRQEnabled(xen.VIRQConRing, 1) {
		t.Fatal("VIRQEnabled for a global VIRQ checks vCPU 0's table")
	}
	ok(t, "close", a.Close(rp))
	if a.VIRQEnabled(xen.VIRQConRing, 0) {
		t.Fatal("global VIRQ left in table")
	}
	ok(t, "restore default", e.sys.SetGlobalVIRQHandler(xen.VIRQConRing, nil))
	_, rc = a.BindVIRQ(xen.VIRQConRing, 0)
	wantErr(t, "no longer handler", rc, int(xen.EBUSY))
	if err := e.sys.check(); err != nil {
		t.Fatal(err)
	}
}

// TestIPI: an IPI port signals its own vCPU.
func TestIPI(t *testing.T) {
	e := newEnv(t)
	a := e.add(1, 3, 8, false)
	ok(t, "shared", a.SetSharedInfo(shGFN))
	sh := a.mem.Page(shGFN)
	_, rc := a.BindIPI(3)
	wantErr(t, "bad vcpu", rc, int(xen.ENOENT))
	p := port(t)(a.BindIPI(2))
	st, _ := a.Status(xen.DomIDSelf, p)
	if st != (Status{State: xen.EvtchnStatIPI, VCPU: 2}) {
		t.Fatalf("status %+v", st)
	}
	wantErr(t, "bind_vcpu ipi", a.BindVCPU(p, 0), int(xen.EINVAL))
	ok(t, "send", a.Send(p))
	if sh[128] != 1 || sh[0] != 0 || sh[64] != 0 || a.rec.kicks[0].vcpu != 2 {
		t.Fatal("IPI on wrong vCPU")
	}
}

// TestStatusChecks: permission and lookup errors.
func TestStatusChecks(t *testing.T) {
	e := newEnv(t)
	a := e.add(1, 1, 8, false)
	b := e.add(2, 1, 8, false)
	priv := e.add(0, 1, 8, true)
	bp := port(t)(b.BindIPI(0))
	_, rc := a.Status(2, bp)
	wantErr(t, "other domain", rc, int(xen.EPERM))
	_, rc = a.Status(9, 1)
	wantErr(t, "unknown", rc, int(xen.ESRCH))
	_, rc = a.Status(xen.DomIDSelf, 64)
	wantErr(t, "invalid port", rc, int(xen.EINVAL))
	st, rc := priv.Status(2, bp)
	ok(t, "privileged", rc)
	if st.State != xen.EvtchnStatIPI {
		t.Fatal("privileged status")
	}
	st, rc = a.Status(xen.DomIDSelf, 0)
	ok(t, "port 0", rc)
	if st.State != xen.EvtchnStatClosed {
		t.Fatal("port 0 status")
	}
	st, rc = a.Status(xen.DomIDSelf, 63)
	ok(t, "free port in table", rc)
	if st.State != xen.EvtchnStatClosed {
		t.Fatal("free port status")
	}
}

// TestBindVCPUChecks covers EVTCHNOP_bind_vcpu's state rules.
func TestBindVCPUChecks(t *testing.T) {
	e := newEnv(t)
	a := e.add(1, 2, 8, false)
	up := port(t)(a.AllocUnbound(xen.DomIDSelf, 0))
	wantErr(t, "bad vcpu", a.BindVCPU(up, 2), int(xen.ENOENT))
	wantErr(t, "bad port", a.BindVCPU(1<<20, 1), int(xen.EINVAL))
	wantErr(t, "free port", a.BindVCPU(up+1, 1), int(xen.EINVAL))
	wantErr(t, "port 0", a.BindVCPU(0, 1), int(xen.EINVAL))
	ok(t, "unbound", a.BindVCPU(up, 1))
	st, _ := a.Status(xen.DomIDSelf, up)
	if st.VCPU != 1 {
		t.Fatal("vcpu not changed")
	}
}

// TestSetPriority2L: no priorities under 2-level.
func TestSetPriority2L(t *testing.T) {
	e := newEnv(t)
	a := e.add(1, 1, 8, false)
	p := port(t)(a.BindIPI(0))
	wantErr(t, "2-level", a.SetPriority(p, 3), int(xen.ENOSYS))
	wantErr(t, "bad port", a.SetPriority(1<<31, 3), int(xen.EINVAL))
	if a.ABI().Name() != "2-level" || a.ABI().MaxPorts() != 4096 {
		t.Fatal("ABI")
	}
}

// TestListener: a channel served by the hypervisor.
func TestListener(t *testing.T) {
	e := newEnv(t)
	a := e.add(1, 1, 8, false)
	ok(t, "shared", a.SetSharedInfo(shGFN))
	sh := a.mem.Page(shGFN)
	var got []uint32
	l := listenerFunc(func(d *Domain, p uint32) {
		got = append(got, p)
		// Callbacks run without the lock: answering at once works.
		ok(t, "signal from callback", d.Signal(p))
	})
	_, rc := a.BindListener(1, l)
	wantErr(t, "bad vcpu", rc, int(xen.ENOENT))
	_, rc = a.BindListener(0, nil)
	wantErr(t, "nil listener", rc, int(xen.EINVAL))
	p := port(t)(a.BindListener(0, l))
	st, _ := a.Status(xen.DomIDSelf, p)
	if st != (Status{State: xen.EvtchnStatInterdomain, RemoteDom: xen.DomIDXen}) {
		t.Fatalf("status %+v", st)
	}
	ok(t, "send", a.Send(p))
	if len(got) != 1 || got[0] != p || !bit(sh, 2048, p) {
		t.Fatal("listener not notified / reply not delivered")
	}
	ip := port(t)(a.BindIPI(0))
	wantErr(t, "signal non-listener", a.Signal(ip), int(xen.EINVAL))
	wantErr(t, "signal bad port", a.Signal(1<<30), int(xen.EINVAL))
	ok(t, "close", a.Close(p))
	wantErr(t, "signal closed", a.Signal(p), int(xen.EINVAL))
}

// TestOfferListener: the hypervisor hands a Listener channel's far end to
// a back end domain, which binds it; the guest's port keeps its number.
func TestOfferListener(t *testing.T) {
	e := newEnv(t)
	a := e.add(1, 1, 8, false)
	b := e.add(0, 1, 8, true)
	c := e.add(2, 1, 8, false)
	ok(t, "shared", a.SetSharedInfo(shGFN))
	ok(t, "shared b", b.SetSharedInfo(shGFN))
	calls := 0
	p := port(t)(a.BindListener(0, listenerFunc(func(*Domain, uint32) { calls++ })))
	ip := port(t)(a.BindIPI(0))
	wantErr(t, "offer non-listener", a.OfferListener(ip, 0), int(xen.EINVAL))
	wantErr(t, "offer bad port", a.OfferListener(1<<30, 0), int(xen.EINVAL))
	_, rc := b.BindInterdomain(1, p)
	wantErr(t, "bind before the offer", rc, int(xen.EINVAL))
	ok(t, "offer", a.OfferListener(p, 0))
	wantErr(t, "offer twice", a.OfferListener(p, 0), int(xen.EINVAL))
	wantErr(t, "signal offered", a.Signal(p), int(xen.EINVAL))
	if st, _ := a.Status(xen.DomIDSelf, p); st.State != xen.EvtchnStatUnbound || st.RemoteDom != 0 {
		t.Fatalf("offered port status %+v", st)
	}
	_, rc = c.BindInterdomain(1, p)
	wantErr(t, "bind by another domain", rc, int(xen.EINVAL))
	bp := port(t)(b.BindInterdomain(1, p))
	ok(t, "guest sends", a.Send(p))
	if calls != 0 || !bit(b.mem.Page(shGFN), 2048, bp) {
		t.Fatalf("send after the handover: listener called %d times, back end pending %v", calls, bit(b.mem.Page(shGFN), 2048, bp))
	}
}

type listenerFunc func(d *Domain, port uint32)

func (f listenerFunc) Notify(d *Domain, port uint32) { f(d, port) }

// TestKickMayCallBack: Notifier.Kick runs without the lock held.
func TestKickMayCallBack(t *testing.T) {
	e := newEnv(t)
	a := e.add(1, 1, 8, false)
	seen := false
	a.rec.onKick = func(h DomainHandle, v int) { seen = a.UpcallPending(v) }
	ok(t, "shared", a.SetSharedInfo(shGFN))
	p := port(t)(a.BindIPI(0))
	ok(t, "send", a.Send(p))
	if !seen {
		t.Fatal("kick callback did not see the upcall")
	}
}

// TestResetAndRemove: EVTCHNOP_reset and domain teardown.
func TestResetAndRemove(t *testing.T) {
	e := newEnv(t)
	a := e.add(1, 1, 8, false)
	b := e.add(2, 1, 8, false)
	priv := e.add(0, 1, 8, true)
	ap := port(t)(a.AllocUnbound(xen.DomIDSelf, 2))
	bp := port(t)(b.BindInterdomain(1, ap))
	port(t)(a.BindVIRQ(xen.VIRQTimer, 0))

	wantErr(t, "reset other", b.Reset(1), int(xen.EPERM))
	wantErr(t, "reset unknown", b.Reset(77), int(xen.ESRCH))
	ok(t, "reset self", a.Reset(xen.DomIDSelf))
	for p := uint32(1); p < 4; p++ {
		if st, _ := a.Status(xen.DomIDSelf, p); st.State != xen.EvtchnStatClosed {
			t.Fatalf("port %d survived reset", p)
		}
	}
	if st, _ := b.Status(xen.DomIDSelf, bp); st.State != xen.EvtchnStatUnbound {
		t.Fatal("peer not unbound by reset")
	}
	port(t)(a.BindVIRQ(xen.VIRQTimer, 0))
	ap = port(t)(a.BindInterdomain(2, bp))
	ok(t, "privileged reset", priv.Reset(1))

	ap = port(t)(a.BindInterdomain(2, bp))
	e.sys.RemoveDomain(a.Domain)
	e.sys.RemoveDomain(a.Domain)
	if e.sys.Lookup(1) != nil {
		t.Fatal("still registered")
	}
	if st, _ := b.Status(xen.DomIDSelf, bp); st != (Status{State: xen.EvtchnStatUnbound, RemoteDom: 1}) {
		t.Fatalf("peer after removal %+v", st)
	}
	_, rc := b.BindInterdomain(1, ap)
	wantErr(t, "bind to removed", rc, int(xen.ESRCH))
	wantErr(t, "send on removed", a.Send(ap), int(xen.EINVAL))
	_, rc = a.BindIPI(0)
	wantErr(t, "bind on removed", rc, int(xen.EINVAL))
	_, rc = a.AllocUnbound(xen.DomIDSelf, 0)
	wantErr(t, "alloc on removed", rc, int(xen.EINVAL))
	if a.RaiseVIRQ(xen.VIRQTimer, 0) {
		t.Fatal("raise on removed")
	}
	// The ID can be reused.
	e.add(1, 1, 8, false)
	if err := e.sys.check(); err != nil {
		t.Fatal(err)
	}
}

// TestAddDomainChecks: bad configurations are refused.
func TestAddDomainChecks(t *testing.T) {
	s := NewSystem()
	m := newMem(1)
	bad := []Config{
		{ID: xen.DomIDSelf, VCPUs: 1, Mem: m},
		{ID: 1, VCPUs: 0, Mem: m},
		{ID: 1, VCPUs: MaxVCPUs + 1, Mem: m},
		{ID: 1, VCPUs: 1},
	}
	for _, c := range bad {
		if _, err := s.AddDomain(c); err == nil {
			t.Fatalf("accepted %+v", c)
		}
	}
	if _, err := s.AddDomain(Config{ID: 1, VCPUs: 1, Mem: m}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddDomain(Config{ID: 1, VCPUs: 1, Mem: m}); err == nil {
		t.Fatal("duplicate ID accepted")
	}
	d, err := s.AddDomain(Config{ID: 2, VCPUs: 1, Mem: m, MaxPort: 1 << 30})
	if err != nil || d.MaxPort() != xen.Evtchn2LNrChannels-1 || d.ID() != 2 || d.Privileged() || d.VCPUs() != 1 {
		t.Fatal("limits")
	}
}

// TestPortGrowth: ports beyond the first bucket, up to the 2-level limit.
func TestPortGrowth(t *testing.T) {
	s := NewSystem()
	d, err := s.AddDomain(Config{ID: 1, VCPUs: 1, Mem: newMem(8), MaxPort: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	ok(t, "shared", d.SetSharedInfo(shGFN))
	var last uint32
	for i := 1; i < xen.Evtchn2LNrChannels; i++ {
		last = port(t)(d.BindIPI(0))
	}
	if last != xen.Evtchn2LNrChannels-1 {
		t.Fatalf("last port %d", last)
	}
	_, rc := d.BindIPI(0)
	wantErr(t, "2-level full", rc, int(xen.ENOSPC))
	ok(t, "send last", d.Send(last))
	sh := d.mem.Page(shGFN)
	if sh[2048+511] != 0x80 || u64(sh[8:]) != 1<<63 {
		t.Fatal("port 4095 bits")
	}
}

// TestHotPathsDoNotAllocate: Send, RaiseVIRQ, Unmask and the upcall
// queries allocate nothing, under either ABI, kicks included.
func TestHotPathsDoNotAllocate(t *testing.T) {
	e := newEnv(t)
	a := e.add(1, 2, 16, false)
	b := e.add(2, 1, 16, false)
	var n nopNotifier
	a.Table.notifier, b.Table.notifier = n, n // no logging allocations
	a.Table.portNotifier, b.Table.portNotifier = n, n
	ok(t, "shared a", a.SetSharedInfo(shGFN))
	ok(t, "shared b", b.SetSharedInfo(shGFN))
	ap := port(t)(a.AllocUnbound(xen.DomIDSelf, 2))
	bp := port(t)(b.BindInterdomain(1, ap))
	tp := port(t)(a.BindVIRQ(xen.VIRQTimer, 1))
	ash := a.mem.Page(shGFN)
	run := func(name string) {
		allocs := testing.AllocsPerRun(100, func() {
			clear(ash[:3072]) // guest consumed everything: each call signals
			b.Send(bp)
			a.RaiseVIRQ(xen.VIRQTimer, 1)
			setBit(ash, 2560, tp, true)
			a.Unmask(tp)
			a.UpcallPending(1)
			a.UpcallMasked(0)
		})
		if allocs != 0 {
			t.Fatalf("%s: %v allocations per run", name, allocs)
		}
	}
	run("2-level")
	_, rc := a.InitControl(0, cbGFN, 0)
	ok(t, "init 0", rc)
	_, rc = a.InitControl(1, cbGFN, 128)
	ok(t, "init 1", rc)
	ok(t, "expand", a.ExpandArray(arrGFN))
	arr, cb := a.mem.Page(arrGFN), a.mem.Page(cbGFN)
	allocs := testing.AllocsPerRun(100, func() {
		clear(arr[:])
		clear(cb[:256])
		clear(ash[:3072])
		b.Send(bp)
		a.RaiseVIRQ(xen.VIRQTimer, 1)
		a.Unmask(tp)
		a.UpcallPending(1)
	})
	if allocs != 0 {
		t.Fatalf("FIFO: %v allocations per run", allocs)
	}
}

type nopNotifier struct{}

func (nopNotifier) Kick(DomainHandle, int)           {}
func (nopNotifier) PortPending(DomainHandle, uint32) {}

// TestConcurrentUse: operations from several goroutines are serialized
// (run with -race).
func TestConcurrentUse(t *testing.T) {
	e := newEnv(t)
	a := e.add(1, 2, 8, false)
	b := e.add(2, 2, 8, false)
	var n nopNotifier
	a.Table.notifier, b.Table.notifier = n, n
	a.Table.portNotifier, b.Table.portNotifier = nil, nil
	ok(t, "shared a", a.SetSharedInfo(shGFN))
	ok(t, "shared b", b.SetSharedInfo(shGFN))
	ap := port(t)(a.AllocUnbound(xen.DomIDSelf, 2))
	bp := port(t)(b.BindInterdomain(1, ap))
	done := make(chan bool)
	for g := 0; g < 4; g++ {
		go func(g int) {
			for i := 0; i < 500; i++ {
				switch g {
				case 0:
					a.Send(ap)
				case 1:
					b.Send(bp)
				case 2:
					if p, rc := a.BindIPI(uint32(i % 2)); rc == 0 {
						a.Send(p)
						a.Close(p)
					}
				case 3:
					b.UpcallPending(i % 2)
					b.Status(xen.DomIDSelf, bp)
					e.sys.Lookup(1)
				}
			}
			done <- true
		}(g)
	}
	for g := 0; g < 4; g++ {
		<-done
	}
	if err := e.sys.check(); err != nil {
		t.Fatal(err)
	}
}
