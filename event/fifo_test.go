package event

import (
	"slices"
	"testing"

	"gozen/abi/xen"
)

// Frames used by the FIFO tests.
const (
	cbGFN  = 4 // control blocks (vCPU v at offset 128*v)
	arrGFN = 5 // first event-array page; more follow
)

// fifoDom makes a domain with shared_info, registered vcpu_info for vCPU 0,
// FIFO control blocks for every vCPU and one event-array page.
func fifoDom(t *testing.T, e *env, id uint16, vcpus int) (*tdom, []*fifoGuest) {
	t.Helper()
	d := e.add(id, vcpus, 16, false)
	ok(t, "shared", d.SetSharedInfo(shGFN))
	var gs []*fifoGuest
	for v := 0; v < vcpus; v++ {
		lb, rc := d.InitControl(uint32(v), cbGFN, uint32(128*v))
		ok(t, "init_control", rc)
		if lb != xen.EvtchnFIFOLinkBits {
			t.Fatalf("link_bits %d", lb)
		}
		gs = append(gs, &fifoGuest{mem: d.mem, arrays: []uint64{arrGFN}, cbGFN: cbGFN, cbOff: 128 * v})
	}
	ok(t, "expand", d.ExpandArray(arrGFN))
	d.rec.reset()
	return d, gs
}

func word(d *tdom, port uint32) uint32 {
	p := d.mem.Page(arrGFN + uint64(port/1024))
	return le32(p[(port%1024)*4:])
}

func setWord(d *tdom, port uint32, v uint32) {
	p := d.mem.Page(arrGFN + uint64(port/1024))
	put32(p[(port%1024)*4:], v)
}

// TestFIFOInitControlChecks covers EVTCHNOP_init_control and expand_array
// argument checks.
func TestFIFOInitControlChecks(t *testing.T) {
	e := newEnv(t)
	d := e.add(1, 2, 8, false)
	wantErr(t, "expand under 2L", d.ExpandArray(arrGFN), int(xen.EOPNOTSUPP))
	_, rc := d.InitControl(2, cbGFN, 0)
	wantErr(t, "bad vcpu", rc, int(xen.ENOENT))
	_, rc = d.InitControl(0, cbGFN, 4096-72+8)
	wantErr(t, "crosses page", rc, int(xen.EINVAL))
	_, rc = d.InitControl(0, cbGFN, 0xffffffff)
	wantErr(t, "huge offset", rc, int(xen.EINVAL))
	_, rc = d.InitControl(0, cbGFN, 4)
	wantErr(t, "misaligned", rc, int(xen.EINVAL))
	_, rc = d.InitControl(0, 1000, 0)
	wantErr(t, "not RAM", rc, int(xen.EINVAL))
	_, rc = d.InitControl(0, ^uint64(0), 0)
	wantErr(t, "huge gfn", rc, int(xen.EINVAL))
	if d.ABI().Name() != "2-level" {
		t.Fatal("a failed init_control switched ABI")
	}
	lb, rc := d.InitControl(0, cbGFN, 4096-72)
	ok(t, "init", rc)
	if lb != 17 || d.ABI().Name() != "FIFO" || d.ABI().MaxPorts() != 1<<17 {
		t.Fatal("FIFO not active")
	}
	_, rc = d.InitControl(0, cbGFN, 0)
	wantErr(t, "twice", rc, int(xen.EINVAL))
	_, rc = d.InitControl(1, 1000, 0)
	wantErr(t, "second vcpu not RAM", rc, int(xen.EINVAL))
	_, rc = d.InitControl(1, cbGFN, 0)
	ok(t, "second vcpu", rc)

	wantErr(t, "expand not RAM", d.ExpandArray(1000), int(xen.EINVAL))
	for i := 0; i < 128; i++ {
		ok(t, "expand", d.ExpandArray(arrGFN))
	}
	wantErr(t, "expand past 128 pages", d.ExpandArray(arrGFN), int(xen.ENOSPC))
	if d.MaxPort() != DefaultMaxPort {
		t.Fatal("MaxPort")
	}
	wantErr(t, "priority 16", d.SetPriority(0, 16), int(xen.EINVAL))
	wantErr(t, "priority port", d.SetPriority(1<<25, 1), int(xen.EINVAL))
}

// TestFIFOLinkOrder: events are queued per priority, in order within a
// priority, READY marks non-empty queues, and only the first event raises
// an upcall.
func TestFIFOLinkOrder(t *testing.T) {
	e := newEnv(t)
	d, gs := fifoDom(t, e, 1, 1)
	a := port(t)(d.BindIPI(0))
	b := port(t)(d.BindIPI(0))
	c := port(t)(d.BindIPI(0))
	x := port(t)(d.BindIPI(0))
	ok(t, "prio", d.SetPriority(c, 3))
	for _, p := range []uint32{a, b, c, x} {
		ok(t, "send", d.Send(p))
	}
	cb := d.mem.Page(cbGFN)[0:72]
	if le32(cb[0:]) != 1<<7|1<<3 {
		t.Fatalf("ready %#x", le32(cb[0:]))
	}
	if le32(cb[8+4*7:]) != a || le32(cb[8+4*3:]) != c {
		t.Fatal("queue heads")
	}
	const pl = FIFOPending | FIFOLinked
	if word(d, a) != pl|b || word(d, b) != pl|x || word(d, x) != pl || word(d, c) != pl {
		t.Fatalf("words %#x %#x %#x %#x", word(d, a), word(d, b), word(d, x), word(d, c))
	}
	if len(d.rec.kicks) != 1 || d.mem.Page(shGFN)[0] != 1 {
		t.Fatalf("kicks %v", d.rec.kicks)
	}
	got := gs[0].consume(100)
	if want := []uint32{c, a, b, x}; !slices.Equal(got, want) {
		t.Fatalf("consumed %v, want %v", got, want)
	}
	if le32(cb[0:]) != 0 {
		t.Fatal("ready not cleared by the consumer")
	}

	// Queue empty again (tail unlinked): the next event becomes the head
	// and raises READY and an upcall again.
	d.mem.Page(shGFN)[0] = 0
	d.rec.reset()
	ok(t, "send b", d.Send(b))
	if le32(cb[8+4*7:]) != b || le32(cb[0:]) != 1<<7 || len(d.rec.kicks) != 1 {
		t.Fatal("new head")
	}
	// Linked onto b without touching READY or upcall.
	ok(t, "send a", d.Send(a))
	if word(d, b)&xen.EvtchnFIFOLinkMask != a || len(d.rec.kicks) != 1 {
		t.Fatal("second event")
	}
	if got := gs[0].consume(100); !slices.Equal(got, []uint32{b, a}) {
		t.Fatalf("consumed %v", got)
	}
}

// TestFIFOMask: a masked event is pending but not linked; unmasking links
// it. Sending an already linked event does not link it twice.
func TestFIFOMask(t *testing.T) {
	e := newEnv(t)
	d, gs := fifoDom(t, e, 1, 1)
	p := port(t)(d.BindIPI(0))
	q := port(t)(d.BindIPI(0))
	setWord(d, p, FIFOMasked)
	ok(t, "send", d.Send(p))
	if word(d, p) != FIFOMasked|FIFOPending || len(d.rec.kicks) != 0 {
		t.Fatal("masked event linked")
	}
	if !d.IsPending(p) || !d.IsMasked(p) || d.IsMasked(q) {
		t.Fatal("IsPending/IsMasked")
	}
	ok(t, "send q", d.Send(q))
	ok(t, "send q again", d.Send(q))
	ok(t, "unmask", d.Unmask(p))
	if word(d, p) != FIFOPending|FIFOLinked || word(d, q)&xen.EvtchnFIFOLinkMask != p || len(d.rec.kicks) != 1 {
		t.Fatalf("unmask: words %#x %#x", word(d, p), word(d, q))
	}
	if got := gs[0].consume(100); !slices.Equal(got, []uint32{q, p}) {
		t.Fatalf("consumed %v", got)
	}
	// Unmask of a non-pending event only clears MASKED.
	setWord(d, p, FIFOMasked)
	ok(t, "unmask idle", d.Unmask(p))
	if word(d, p) != 0 {
		t.Fatal("unmask idle")
	}
}

// TestFIFOVCPUsAndMove: events go to their notify vCPU's queues; a port
// moved to another vCPU after being consumed does not corrupt the old
// queue.
func TestFIFOVCPUsAndMove(t *testing.T) {
	e := newEnv(t)
	d, gs := fifoDom(t, e, 1, 2)
	u := port(t)(d.AllocUnbound(xen.DomIDSelf, xen.DomIDSelf))
	p := port(t)(d.BindInterdomain(xen.DomIDSelf, u)) // p is pending now (bind)
	if got := gs[0].consume(10); !slices.Equal(got, []uint32{p}) {
		t.Fatalf("bind pending: %v", got)
	}
	i0 := port(t)(d.BindIPI(0))
	i1 := port(t)(d.BindIPI(1))
	d.rec.reset()
	ok(t, "send i1", d.Send(i1))
	if le32(d.mem.Page(cbGFN)[128+8+4*7:]) != i1 || d.rec.kicks[0].vcpu != 1 {
		t.Fatal("IPI on vCPU 1's queue")
	}
	// p was last (and tail) on vCPU 0 prio 7; it was consumed. Move it to
	// vCPU 1, raise it, then raise i0 on vCPU 0: i0 must become vCPU 0's
	// head rather than be linked after p.
	ok(t, "bind_vcpu", d.BindVCPU(p, 1))
	ok(t, "send u→p", d.Send(u))
	ok(t, "send i0", d.Send(i0))
	if le32(d.mem.Page(cbGFN)[8+4*7:]) != i0 || word(d, p)&xen.EvtchnFIFOLinkMask != 0 {
		t.Fatal("old queue tail not invalidated")
	}
	if got := gs[1].consume(10); !slices.Equal(got, []uint32{i1, p}) {
		t.Fatalf("vCPU 1 consumed %v", got)
	}
	if got := gs[0].consume(10); !slices.Equal(got, []uint32{i0}) {
		t.Fatalf("vCPU 0 consumed %v", got)
	}
}

// TestFIFOSwitchFrom2L: ports bound under 2-level keep working after the
// switch; their 2-level pending state is delivered once the array exists.
func TestFIFOSwitchFrom2L(t *testing.T) {
	e := newEnv(t)
	d := e.add(1, 1, 16, false)
	ok(t, "shared", d.SetSharedInfo(shGFN))
	a := port(t)(d.BindIPI(0))
	b := port(t)(d.BindVIRQ(xen.VIRQTimer, 0))
	ok(t, "send a", d.Send(a))
	if d.SetPriority(a, 1) != -int(xen.ENOSYS) {
		t.Fatal("2L priority")
	}
	_, rc := d.InitControl(0, cbGFN, 0)
	ok(t, "init", rc)
	d.rec.reset()
	// No event array yet: new events are recorded.
	if !d.RaiseVIRQ(xen.VIRQTimer, 0) {
		t.Fatal("raise")
	}
	if !d.IsPending(b) || !d.IsMasked(b) {
		t.Fatal("recorded event")
	}
	d.mem.Page(shGFN)[0] = 0
	ok(t, "expand", d.ExpandArray(arrGFN))
	g := &fifoGuest{mem: d.mem, arrays: []uint64{arrGFN}, cbGFN: cbGFN}
	got := g.consume(10)
	if !slices.Equal(got, []uint32{a, b}) {
		t.Fatalf("after switch consumed %v", got)
	}
	if len(d.rec.kicks) != 1 {
		t.Fatal("no upcall after expand")
	}
	ok(t, "priority", d.SetPriority(a, 0))

	// Back to 2-level with EVTCHNOP_reset; and FIFO again.
	ok(t, "reset", d.Reset(xen.DomIDSelf))
	if d.ABI().Name() != "2-level" {
		t.Fatal("reset kept FIFO")
	}
	wantErr(t, "expand after reset", d.ExpandArray(arrGFN), int(xen.EOPNOTSUPP))
	_, rc = d.InitControl(0, cbGFN, 0)
	ok(t, "init again", rc)
	if err := e.sys.check(); err != nil {
		t.Fatal(err)
	}
}

// TestFIFOPortsBeyondArray: a port above the current array is recorded and
// delivered when its page is added; ports beyond 4095 work under FIFO.
func TestFIFOPortsBeyondArray(t *testing.T) {
	e := newEnv(t)
	d, err := e.sys.AddDomain(Config{ID: 1, VCPUs: 1, Mem: newMem(16), MaxPort: 5000})
	if err != nil {
		t.Fatal(err)
	}
	_, rc := d.InitControl(0, cbGFN, 0)
	ok(t, "init", rc)
	ok(t, "expand", d.ExpandArray(arrGFN))
	var last uint32
	for i := 0; i < 5000; i++ {
		last = port(t)(d.BindIPI(0))
	}
	if last != 5000 {
		t.Fatalf("last %d", last)
	}
	_, rc = d.BindIPI(0)
	wantErr(t, "past MaxPort", rc, int(xen.ENOSPC))
	ok(t, "send 1500", d.Send(1500))
	ok(t, "send 5000", d.Send(5000))
	for i := uint64(1); i < 5; i++ {
		ok(t, "expand", d.ExpandArray(arrGFN+i))
	}
	g := &fifoGuest{mem: d.mem.(*fakeMem), arrays: []uint64{5, 6, 7, 8, 9}, cbGFN: cbGFN}
	if got := g.consume(10); !slices.Equal(got, []uint32{1500, 5000}) {
		t.Fatalf("consumed %v", got)
	}
}

// TestFIFOBusyPort: a closed port whose event is still linked is not
// reused until the guest unlinks it.
func TestFIFOBusyPort(t *testing.T) {
	e := newEnv(t)
	d, gs := fifoDom(t, e, 1, 1)
	p := port(t)(d.BindIPI(0))
	ok(t, "send", d.Send(p))
	ok(t, "close", d.Close(p))
	if word(d, p) != FIFOLinked {
		t.Fatalf("close: word %#x (PENDING cleared, still LINKED)", word(d, p))
	}
	q := port(t)(d.BindIPI(0))
	if q == p {
		t.Fatal("busy port reused")
	}
	if got := gs[0].consume(10); len(got) != 0 {
		t.Fatalf("closed event handled: %v", got)
	}
	r := port(t)(d.BindIPI(0))
	if r != p {
		t.Fatalf("unlinked port not reused: %d", r)
	}
}

// TestFIFOHostileWords: garbage in event words and control blocks never
// makes the hypervisor side misbehave: it only sets bits and writes LINK of
// its own tail.
func TestFIFOHostileWords(t *testing.T) {
	e := newEnv(t)
	d, _ := fifoDom(t, e, 1, 1)
	var ports []uint32
	for i := 0; i < 8; i++ {
		ports = append(ports, port(t)(d.BindIPI(0)))
	}
	arr := d.mem.Page(arrGFN)
	cb := d.mem.Page(cbGFN)
	for i := range arr {
		arr[i] = byte(i*7 + 3)
	}
	for i := 0; i < 72; i++ {
		cb[i] = 0xff
	}
	for _, p := range ports {
		ok(t, "send", d.Send(p))
		ok(t, "unmask", d.Unmask(p))
		ok(t, "close", d.Close(p))
	}
	// A LINK pointing at itself or far away is never followed.
	setWord(d, 1, FIFOLinked|1)
	setWord(d, 2, FIFOLinked|xen.EvtchnFIFOLinkMask)
	p := port(t)(d.BindIPI(0))
	ok(t, "send", d.Send(p))
	if err := e.sys.check(); err != nil {
		t.Fatal(err)
	}
	g := &fifoGuest{mem: d.mem, arrays: []uint64{arrGFN}, cbGFN: cbGFN}
	g.consume(1000) // bounded by the guest model itself
}

// TestFIFOControlBlockLater: events for a vCPU without a control block are
// delivered when it registers one (Xen would drop them).
func TestFIFOControlBlockLater(t *testing.T) {
	e := newEnv(t)
	d := e.add(1, 2, 16, false)
	ok(t, "shared", d.SetSharedInfo(shGFN))
	_, rc := d.InitControl(0, cbGFN, 0)
	ok(t, "init 0", rc)
	ok(t, "expand", d.ExpandArray(arrGFN))
	p := port(t)(d.BindIPI(1))
	ok(t, "send", d.Send(p))
	if word(d, p) != 0 || len(d.rec.kicks) != 0 {
		t.Fatal("event linked without a control block")
	}
	_, rc = d.InitControl(1, cbGFN, 128)
	ok(t, "init 1", rc)
	g := &fifoGuest{mem: d.mem, arrays: []uint64{arrGFN}, cbGFN: cbGFN, cbOff: 128}
	if got := g.consume(10); !slices.Equal(got, []uint32{p}) || len(d.rec.kicks) != 1 {
		t.Fatalf("consumed %v kicks %v", got, d.rec.kicks)
	}
}

// TestFIFOInterdomain: a FIFO domain and a 2-level domain talk.
func TestFIFOInterdomain(t *testing.T) {
	e := newEnv(t)
	f, gs := fifoDom(t, e, 1, 1)
	l := e.add(2, 1, 8, false)
	ok(t, "shared", l.SetSharedInfo(shGFN))
	lp := port(t)(l.AllocUnbound(xen.DomIDSelf, 1))
	fp := port(t)(f.BindInterdomain(2, lp))
	gs[0].consume(10) // the bind's own pending
	for i := 0; i < 5; i++ {
		clear(l.mem.Page(shGFN)[2048:2560])
		ok(t, "f→l", f.Send(fp))
		if !bit(l.mem.Page(shGFN), 2048, lp) {
			t.Fatal("2-level side")
		}
		ok(t, "l→f", l.Send(lp))
		if got := gs[0].consume(10); !slices.Equal(got, []uint32{fp}) {
			t.Fatalf("FIFO side %v", got)
		}
	}
}
