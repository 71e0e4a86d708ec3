package hypercall

import (
	"bytes"
	"strings"
	"testing"

	"gozen/abi/xen"
	"gozen/hv/x86"
)

// Compat (32-bit caller) tests: each structure is laid out as an i386 guest
// writes it, byte by byte, so that the test fails if the dispatcher decodes
// the native layout.

func newCompat(t *testing.T) *fakeGuest {
	g := newFake(t)
	g.mode = x86.Mode32
	return g
}

// memEnd is the first address past the fake guest's memory.
const memEnd = memBase + 0x10000

func (g *fakeGuest) putBytes(gva uint64, b []byte) {
	d, ok := g.span(gva, len(b))
	if !ok {
		g.t.Fatalf("putBytes at %#x", gva)
	}
	copy(d, b)
}

func u16b(v uint16) []byte    { return []byte{byte(v), byte(v >> 8)} }
func u32b(v uint32) []byte    { return le.AppendUint32(nil, v) }
func u64b(v uint64) []byte    { return le.AppendUint64(nil, v) }
func cat(bs ...[]byte) []byte { return bytes.Join(bs, nil) }

func lastCall(g *fakeGuest) string {
	if len(g.calls) == 0 {
		return ""
	}
	return g.calls[len(g.calls)-1]
}

func TestCompatAddToPhysmap(t *testing.T) {
	g := newCompat(t)
	// compat_xen_add_to_physmap: domid, size, space, idx (u32), gpfn (u32).
	b := cat(u16b(xen.DomIDSelf), u16b(0), u32b(xen.XenmapspaceSharedInfo), u32b(0), u32b(0x1234))
	g.putBytes(argAt, b)
	if r := g.call(xen.HypercallMemoryOp, xen.XenmemAddToPhysmap, argAt); r != 0 || lastCall(g) != "shared_info 0x1234" {
		t.Errorf("compat add_to_physmap(shared_info) = %d, %v", r, g.calls)
	}
	// The 16 bytes may end the guest's memory: nothing past them is read.
	g.putBytes(memEnd-16, cat(u16b(xen.DomIDSelf), u16b(0), u32b(xen.XenmapspaceGrantTable), u32b(1), u32b(0xf0000)))
	if r := g.call(xen.HypercallMemoryOp, xen.XenmemAddToPhysmap, memEnd-16); r != 0 || lastCall(g) != "grant frame 1 at 0xf0000" {
		t.Errorf("compat add_to_physmap(grant_table) at the end of memory = %d, %v", r, g.calls)
	}
	// The same checks as for a 64-bit caller.
	g.putBytes(argAt, cat(u16b(xen.DomIDSelf), u16b(0), u32b(xen.XenmapspaceSharedInfo), u32b(1), u32b(0x1234)))
	if r := g.call(xen.HypercallMemoryOp, xen.XenmemAddToPhysmap, argAt); r != -int64(xen.EINVAL) {
		t.Errorf("compat add_to_physmap(shared_info, idx 1) = %d, want -EINVAL", r)
	}
	g.putBytes(argAt, cat(u16b(3), u16b(0), u32b(xen.XenmapspaceSharedInfo), u32b(0), u32b(0x1234)))
	if r := g.call(xen.HypercallMemoryOp, xen.XenmemAddToPhysmap, argAt); r != -int64(xen.ESRCH) {
		t.Errorf("compat add_to_physmap for domain 3 = %d, want -ESRCH", r)
	}
	// A 16-bit caller is a compat caller too (Xen: mode != 8).
	g.mode = x86.Mode16
	g.putBytes(argAt, b)
	if r := g.call(xen.HypercallMemoryOp, xen.XenmemAddToPhysmap, argAt); r != 0 || lastCall(g) != "shared_info 0x1234" {
		t.Errorf("16-bit add_to_physmap = %d, %v", r, g.calls)
	}
}

func TestCompatReservation(t *testing.T) {
	g := newCompat(t)
	list := uint64(argAt + 0x100)
	// compat_xen_memory_reservation: extent_start, nr_extents, order, flags, domid.
	g.putBytes(argAt, cat(u32b(uint32(list)), u32b(3), u32b(0), u32b(0), u16b(xen.DomIDSelf), u16b(0)))
	g.putBytes(list, cat(u32b(0x100), u32b(0x101), u32b(0x2345)))
	if r := g.call(xen.HypercallMemoryOp, xen.XenmemDecreaseReservation, argAt); r != 3 {
		t.Fatalf("compat decrease_reservation = %d", r)
	}
	if got := strings.Join(g.calls, ","); got != "decrease 0x100/0,decrease 0x101/0,decrease 0x2345/0" {
		t.Errorf("calls %s", got)
	}
	// An order-1 extent list, resumed at extent 1 (the command's upper bits).
	g.calls = nil
	g.putBytes(argAt, cat(u32b(uint32(list)), u32b(2), u32b(1), u32b(0), u16b(xen.DomIDSelf), u16b(0)))
	g.putBytes(list, cat(u32b(0x200), u32b(0x402)))
	if r := g.call(xen.HypercallMemoryOp, xen.XenmemPopulatePhysmap|1<<xen.MemopExtentShift, argAt); r != 2 || lastCall(g) != "populate 0x402/1" || len(g.calls) != 1 {
		t.Errorf("compat populate_physmap resumed = %d, %v", r, g.calls)
	}
	// A list that runs off mapped memory: the first extent read fails.
	g.putBytes(argAt, cat(u32b(memEnd-4), u32b(2), u32b(0), u32b(0), u16b(xen.DomIDSelf), u16b(0)))
	g.putBytes(memEnd-4, u32b(0x300))
	g.calls = nil
	if r := g.call(xen.HypercallMemoryOp, xen.XenmemDecreaseReservation, argAt); r != 1 || lastCall(g) != "decrease 0x300/0" {
		t.Errorf("compat list at the end of memory = %d, %v", r, g.calls)
	}
	// The structure itself is 20 bytes.
	g.putBytes(memEnd-20, cat(u32b(uint32(list)), u32b(1), u32b(0), u32b(0), u16b(xen.DomIDSelf), u16b(0)))
	if r := g.call(xen.HypercallMemoryOp, xen.XenmemIncreaseReservation, memEnd-20); r != 1 {
		t.Errorf("compat increase_reservation at the end of memory = %d", r)
	}
}

func TestCompatMemoryMap(t *testing.T) {
	g := newCompat(t)
	buf := uint64(argAt + 0x40)
	g.putBytes(argAt, cat(u32b(2), u32b(uint32(buf))))
	if r := g.call(xen.HypercallMemoryOp, xen.XenmemMemoryMap, argAt); r != 0 {
		t.Fatalf("compat memory_map = %d", r)
	}
	if n := le.Uint32(g.bytesAt(argAt, 4)); n != 2 {
		t.Errorf("nr_entries = %d", n)
	}
	var e xen.E820Entry
	e.Decode(g.bytesAt(buf+xen.E820EntrySize, xen.E820EntrySize))
	if e.Addr != 0x1000 || e.Type != 1 {
		t.Errorf("entry 1 = %+v", e)
	}
	for _, w := range g.writes {
		if w[0] < argAt+8 && w[1] > argAt+4 {
			t.Errorf("wrote the buffer handle: %#x", w)
		}
	}
}

func TestCompatSchedPollAndTimer(t *testing.T) {
	g := newCompat(t)
	ports := uint64(argAt + 0x40)
	g.putBytes(ports, u32b(3))
	g.putBytes(memEnd-16, cat(u32b(uint32(ports)), u32b(1), u64b(0x1_0000_0005)))
	if r := g.call(xen.HypercallSchedOp, xen.SchedOpPoll, memEnd-16); r != 0 || lastCall(g) != "poll [3] 4294967301" {
		t.Errorf("compat poll = %d, %v", r, g.calls)
	}
	g.putBytes(argAt, cat(u32b(uint32(ports)), u32b(MaxPollPorts+1), u64b(0)))
	if r := g.call(xen.HypercallSchedOp, xen.SchedOpPoll, argAt); r != -int64(xen.EINVAL) {
		t.Errorf("compat poll of too many ports = %d", r)
	}
	// set_timer_op(lo, hi).
	if r := g.call(xen.HypercallSetTimerOp, 0x89abcdef, 0x12); r != 0 || g.timer != 0x12_89ab_cdef {
		t.Errorf("compat set_timer_op = %d, timer %#x", r, g.timer)
	}
}

func TestCompatVCPUOp(t *testing.T) {
	g := newCompat(t)
	// get_runstate_info: 44 bytes, state_entry_time at 4.
	g.putBytes(argAt+44, []byte{0xaa, 0xaa, 0xaa, 0xaa})
	if r := g.call(xen.HypercallVCPUOp, xen.VCPUOpGetRunstateInfo, 1, argAt); r != 0 {
		t.Fatalf("compat get_runstate_info = %d", r)
	}
	want := cat(u32b(xen.RunstateRunning), u64b(7), u64b(1), u64b(2), u64b(3), u64b(4), []byte{0xaa, 0xaa, 0xaa, 0xaa})
	if got := g.bytesAt(argAt, 48); !bytes.Equal(got, want) {
		t.Errorf("compat runstate info = % x\nwant % x", got, want)
	}
	// set_singleshot_timer: 12 bytes.
	g.putBytes(memEnd-12, cat(u64b(uint64(g.now+100)), u32b(xen.VCPUSshottmrFuture)))
	if r := g.call(xen.HypercallVCPUOp, xen.VCPUOpSetSingleshotTimer, 0, memEnd-12); r != 0 || g.timer != g.now+100 {
		t.Errorf("compat singleshot = %d, timer %d", r, g.timer)
	}
	g.putBytes(argAt, cat(u64b(uint64(g.now-1)), u32b(xen.VCPUSshottmrFuture)))
	if r := g.call(xen.HypercallVCPUOp, xen.VCPUOpSetSingleshotTimer, 0, argAt); r != -int64(xen.ETIME) {
		t.Errorf("compat singleshot in the past = %d, want -ETIME", r)
	}
}

func TestCompatGrantCopy(t *testing.T) {
	g := newCompat(t)
	op := func(length uint16) []byte {
		// source {ref 8, dom 1, off 0}, dest {gmfn 0x1234, DOMID_SELF, off 16}, len, flags, status, pad.
		return cat(u32b(8), u16b(1), u16b(0), u32b(0x1234), u16b(xen.DomIDSelf), u16b(16),
			u16b(length), u16b(xen.GNTCopySourceGref), u16b(0x7fff), u16b(0))
	}
	g.putBytes(argAt, cat(op(5), op(6)))
	if r := g.call(xen.HypercallGrantTableOp, xen.GnttabOpCopy, argAt, 2); r != 0 {
		t.Fatalf("compat grant copy = %d", r)
	}
	for i, want := range []int16{-1, -2} {
		if st := int16(le.Uint16(g.bytesAt(argAt+24*uint64(i)+20, 2))); st != want {
			t.Errorf("op %d status %d, want %d", i, st, want)
		}
	}
	if g.gt.ops != 2 {
		t.Errorf("%d ops served", g.gt.ops)
	}
	for _, w := range g.writes {
		if w[1] > argAt+48 {
			t.Errorf("wrote past the two 24-byte ops: %#x", w)
		}
	}
}

func TestCompatSetupTable(t *testing.T) {
	g := newCompat(t)
	list := uint64(argAt + 0x40)
	st := func() []byte {
		return cat(u16b(xen.DomIDSelf), u16b(0), u32b(2), u16b(0x7fff), u16b(0), u32b(uint32(list)))
	}
	g.gt.frames = []uint64{0x3000, 0x3001}
	g.putBytes(argAt, st())
	if r := g.call(xen.HypercallGrantTableOp, xen.GnttabOpSetupTable, argAt, 1); r != 0 {
		t.Fatalf("compat setup_table = %d", r)
	}
	if s := int16(le.Uint16(g.bytesAt(argAt+8, 2))); s != xen.GNTSTOkay {
		t.Errorf("status %d", s)
	}
	if got := g.bytesAt(list, 12); !bytes.Equal(got, cat(u32b(0x3000), u32b(0x3001), u32b(0))) {
		t.Errorf("frame list % x", got)
	}
	// A frame a 32-bit list cannot hold (here: an unmapped frame, ~0).
	g.gt.frames = []uint64{0x3000}
	g.putBytes(argAt, st())
	if r := g.call(xen.HypercallGrantTableOp, xen.GnttabOpSetupTable, argAt, 1); r != 0 {
		t.Fatalf("compat setup_table = %d", r)
	}
	if s := int16(le.Uint16(g.bytesAt(argAt+8, 2))); s != xen.GNTSTAddressTooBig {
		t.Errorf("status %d, want GNTST_address_too_big", s)
	}
	if r := g.call(xen.HypercallGrantTableOp, xen.GnttabOpSetupTable, argAt, 2); r != -int64(xen.EINVAL) {
		t.Errorf("compat setup_table with count 2 = %d, want -EINVAL", r)
	}
}

func TestCompatPlatformParameters(t *testing.T) {
	g := newCompat(t)
	g.putBytes(argAt, bytes.Repeat([]byte{0xee}, 8))
	if r := g.call(xen.HypercallXenVersion, xen.XenverPlatformParameters, argAt); r != 0 {
		t.Fatalf("compat platform_parameters = %d", r)
	}
	if got := g.bytesAt(argAt, 8); !bytes.Equal(got, []byte{0, 0, 0, 0, 0xee, 0xee, 0xee, 0xee}) {
		t.Errorf("compat platform_parameters wrote % x", got)
	}
}
