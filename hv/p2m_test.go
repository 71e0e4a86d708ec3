package hv

import (
	"strings"
	"testing"

	"gozen/abi/xen"
)

const gib = 1 << 30 / pageSize // guest frames per GiB

// The drain loop of issue 14: give a frame back, populate one 1 GiB
// further up, again and again. Every move costs two page-table pages. They
// come from the attacker's own p2m pool: its populate fails once the pool
// is empty, with one log line, while hv's memory does not grow and the
// neighbour's pool is untouched and still serves it.
func TestDrainLoopHitsTheDomainsOwnPool(t *testing.T) {
	h, _, out := newTestHV()
	m := h.env.(*fakeEnv).m
	a, err := h.CreateDomain(DomainConfig{Name: "attacker", Mem: 16 << 20, Kernel: pvhELF(insnHLT)})
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.CreateDomain(DomainConfig{Name: "neighbour", Mem: 16 << 20, Kernel: pvhELF(insnHLT)})
	if err != nil {
		t.Fatal(err)
	}
	if st := a.P2MPool(); st.Total != (1024+16*8)/4 {
		t.Errorf("attacker's pool: %+v, want the default of 288 pages", st)
	}
	frames := len(m.frames)
	bBefore := b.P2MPool()
	moved := 0
	for ; moved < 10000; moved++ {
		gfn := uint64(0x800 + moved) // in the attacker's RAM, above its image
		if !h.decreaseReservation(a, gfn, 0) {
			t.Fatalf("decrease_reservation of gfn %#x failed after %d moves", gfn, moved)
		}
		if !h.populate(a, uint64(moved+1)*gib, 0) {
			break
		}
	}
	st := a.P2MPool()
	if moved == 10000 || st.Refused == 0 {
		t.Fatalf("the drain loop ran %d moves; pool %+v", moved, st)
	}
	if moved > int(st.Total)/2 {
		t.Errorf("%d moves from a %d-page pool: tables came from elsewhere", moved, st.Total)
	}
	// The failed move gave its frame back first: one frame fewer in use.
	if got := len(m.frames); got != frames-1 {
		t.Errorf("machine frames in use went from %d to %d during the drain", frames, got)
	}
	if n := strings.Count(out.String(), "p2m pool of 1152 KiB is exhausted"); n != 1 {
		t.Errorf("%d exhaustion log lines, want 1:\n%s", n, out)
	}
	if got := b.P2MPool(); got != bBefore {
		t.Errorf("neighbour's pool changed: %+v, was %+v", got, bBefore)
	}
	if !h.decreaseReservation(b, 0x800, 0) || !h.populate(b, 5*gib, 0) {
		t.Error("the neighbour cannot move a frame after the attacker drained its own pool")
	}
	// More refusals do not log again.
	h.decreaseReservation(a, 0x700, 0)
	h.populate(a, 4000*gib, 0)
	if n := strings.Count(out.String(), "is exhausted"); n != 1 {
		t.Errorf("%d exhaustion log lines after more refusals, want 1", n)
	}
}

// Grant mappings of a domain's own page at spread gfns cost no RAM at all;
// they too stop at the pool, with GNTST_general_error, and add_to_physmap
// of a grant frame gets -ENOMEM.
func TestSpreadGrantSelfMapsHitThePool(t *testing.T) {
	h, _, _ := newTestHV()
	d, err := h.CreateDomain(DomainConfig{Name: "a", Mem: 4 << 20, Kernel: pvhELF(insnHLT), P2MPool: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	// Grant 0 of d's table: its frame 0x300, to itself.
	mfn, err := d.gnt.FrameMFN(0)
	if err != nil {
		t.Fatal(err)
	}
	e := xen.GrantEntryV1{Flags: xen.GTFPermitAccess, DomID: d.id, Frame: 0x300}
	e.Encode(h.env.PageBytes(mfn * pageSize)[8:]) // ref 1
	ok := 0
	var last int16
	for i := 0; i < 100; i++ {
		ops := []xen.GnttabMapGrantRef{{HostAddr: uint64(i+1) * gib * pageSize, Flags: xen.GNTMAPHostMap, Ref: 1, Dom: d.id}}
		(*grantTables)(d).Map(ops)
		if last = ops[0].Status; last != 0 {
			break
		}
		ok++
	}
	if last != xen.GNTSTGeneralError || ok == 0 || ok > 16 {
		t.Errorf("%d spread self-maps, then status %d; want a few, then GNTST_general_error", ok, last)
	}
	if e := h.mapGrantFrame(d, 0, 200*gib); e != xen.ENOMEM {
		t.Errorf("add_to_physmap(grant_table) with an empty pool: errno %d, want ENOMEM", e)
	}
}

// gfns beyond the physical-address width the guest sees are refused, as Xen
// refuses gfns beyond the guest's maxphysaddr.
func TestGFNsBeyondPhysAddrWidthAreRefused(t *testing.T) {
	h, be, _ := newTestHV()
	be.hostCPUID = func(leaf, sub uint32) (uint32, uint32, uint32, uint32) {
		switch leaf {
		case 0x80000000:
			return 0x80000008, 0, 0, 0
		case 0x80000008:
			return 36, 0, 0, 0 // 64 GiB
		}
		return 0, 0, 0, 0
	}
	d, err := h.CreateDomain(DomainConfig{Name: "a", Mem: 4 << 20, Kernel: pvhELF(insnHLT)})
	if err != nil {
		t.Fatal(err)
	}
	if d.mem.Limit() != 1<<36 {
		t.Fatalf("limit %#x, want 64 GiB", d.mem.Limit())
	}
	if !h.decreaseReservation(d, 0x380, 0) {
		t.Fatal("decrease_reservation")
	}
	if h.populate(d, 64*gib, 0) {
		t.Error("populate_physmap at 64 GiB (the limit) worked")
	}
	if e := h.mapGrantFrame(d, 0, 64*gib); e != xen.EINVAL {
		t.Errorf("add_to_physmap(grant_table) at the limit: errno %d, want EINVAL", e)
	}
	if !h.populate(d, 64*gib-1, 0) {
		t.Error("populate_physmap of the last frame below the limit failed")
	}
}

// A domain's p2m pool, RAM and grant-table frames all go back when it is
// destroyed; a pool that cannot map the RAM fails creation cleanly.
func TestDomainMemoryIsFreedAtDestroy(t *testing.T) {
	h, _, _ := newTestHV()
	m := h.env.(*fakeEnv).m
	frames := len(m.frames)
	d, err := h.CreateDomain(DomainConfig{Name: "a", Mem: 4 << 20, Kernel: pvhELF(insnHLT), P2MPool: 2 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if st := d.P2MPool(); st.Total != 512 {
		t.Errorf("p2mpool=2M gave %+v", st)
	}
	if _, st := h.grants.SetupTable(d.gnt, xen.DomIDSelf, 8); st != 0 {
		t.Fatalf("setup_table: status %d", st)
	}
	h.decreaseReservation(d, 0x380, 0)
	h.populate(d, 3*gib, 0)
	h.Destroy(d)
	if got := len(m.frames); got != frames {
		t.Errorf("%d machine frames in use after destroy, %d before create", got, frames)
	}

	if _, err := h.CreateDomain(DomainConfig{Name: "b", Mem: 4 << 20, Kernel: pvhELF(insnHLT), P2MPool: 8 << 10}); err == nil ||
		!strings.Contains(err.Error(), "p2m pool of 8 KiB is too small") {
		t.Errorf("creation with an 8 KiB pool: %v", err)
	}
	if got := len(m.frames); got != frames {
		t.Errorf("%d machine frames in use after a failed create, %d before", got, frames)
	}
}
