package grant

import (
	"bytes"
	"errors"
	"testing"

	"gozen/abi/xen"
)

const hostGFN = 0x100 // first free (non-RAM) gfn used for mappings

func addr(gfn uint64) uint64 { return gfn << 12 }

func wantStatus(t *testing.T, what string, got, want int16) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: status %d (%s), want %d (%s)", what, got, StatusString(got), want, StatusString(want))
	}
}

func wantFlags(t *testing.T, d *Domain, ref uint32, want uint16) {
	t.Helper()
	if got := flagsOf(d, ref); got != want {
		t.Fatalf("d%d ref %d: flags %#x, want %#x", d.ID, ref, got, want)
	}
}

func TestMapWriteUnmap(t *testing.T) {
	e := newEnv(t, Config{})
	grant(e.a, 8, idB, 5, false)

	h, st := e.s.MapGrantRef(e.b, idA, 8, xen.GNTMAPHostMap, addr(hostGFN))
	wantStatus(t, "map", st, xen.GNTSTOkay)
	wantFlags(t, e.a, 8, xen.GTFPermitAccess|xen.GTFReading|xen.GTFWriting)
	mfnA5, _ := e.ma.Translate(5)
	if fm := e.mb.foreign[hostGFN]; fm.mfn != mfnA5 || fm.ro {
		t.Fatalf("B's mapping %+v, want mfn %#x rw", fm, mfnA5)
	}
	if !e.s.MFNMapped(mfnA5) || !e.s.InUse(idA) {
		t.Fatal("A's frame not reported mapped")
	}

	// B writes through its mapping; A sees it in its own page.
	if err := e.mb.guestWrite(hostGFN, 100, []byte("hello from B")); err != nil {
		t.Fatal(err)
	}
	if got := e.ma.guestRead(5, 100, 12); string(got) != "hello from B" {
		t.Fatalf("A reads %q", got)
	}
	// While mapped, A cannot end the grant.
	if endAccess(e.a, 8) {
		t.Fatal("end access succeeded on a mapped grant")
	}

	wantStatus(t, "unmap", e.s.UnmapGrantRef(e.b, addr(hostGFN), h), xen.GNTSTOkay)
	wantFlags(t, e.a, 8, xen.GTFPermitAccess)
	if _, ok := e.mb.foreign[hostGFN]; ok {
		t.Fatal("mapping left in B's physmap")
	}
	if e.s.MFNMapped(mfnA5) || e.s.InUse(idA) {
		t.Fatal("A's frame still reported mapped")
	}
	if !endAccess(e.a, 8) {
		t.Fatal("end access failed after unmap")
	}
	wantFlags(t, e.a, 8, 0)
	wantStatus(t, "unmap again", e.s.UnmapGrantRef(e.b, addr(hostGFN), h), xen.GNTSTBadHandle)
}

func TestMapBatchDevBusAddr(t *testing.T) {
	e := newEnv(t, Config{})
	grant(e.a, 1, idB, 2, true)
	grant(e.a, 2, idB, 3, false)
	ops := []MapOp{
		{HostAddr: addr(hostGFN), Flags: xen.GNTMAPHostMap | xen.GNTMAPReadonly, Ref: 1, Dom: idA},
		{HostAddr: addr(hostGFN + 1), Flags: xen.GNTMAPHostMap, Ref: 2, Dom: idA},
		{HostAddr: addr(hostGFN + 2), Flags: xen.GNTMAPHostMap, Ref: 3, Dom: idA},
	}
	e.s.Map(e.b, ops)
	wantStatus(t, "op0", ops[0].Status, xen.GNTSTOkay)
	wantStatus(t, "op1", ops[1].Status, xen.GNTSTOkay)
	wantStatus(t, "op2", ops[2].Status, xen.GNTSTGeneralError) // ref 3 not granted
	if mfn, _ := e.ma.Translate(2); ops[0].DevBusAddr != mfn<<12 {
		t.Fatalf("dev_bus_addr %#x", ops[0].DevBusAddr)
	}
	if ops[0].Handle == ops[1].Handle {
		t.Fatal("same handle twice")
	}
	un := []UnmapOp{
		{HostAddr: addr(hostGFN), Handle: ops[0].Handle},
		{HostAddr: addr(hostGFN + 1), Handle: ops[1].Handle},
		{HostAddr: addr(hostGFN + 2), Handle: 77},
	}
	e.s.Unmap(e.b, un)
	wantStatus(t, "unmap0", un[0].Status, xen.GNTSTOkay)
	wantStatus(t, "unmap1", un[1].Status, xen.GNTSTOkay)
	wantStatus(t, "unmap2", un[2].Status, xen.GNTSTBadHandle)
	wantFlags(t, e.a, 1, xen.GTFPermitAccess|xen.GTFReadonly)
	wantFlags(t, e.a, 2, xen.GTFPermitAccess)
}

func TestReadonlyGrant(t *testing.T) {
	e := newEnv(t, Config{})
	grant(e.a, 9, idB, 6, true)

	_, st := e.s.MapGrantRef(e.b, idA, 9, xen.GNTMAPHostMap, addr(hostGFN))
	wantStatus(t, "writable map of r/o grant", st, xen.GNTSTGeneralError)
	wantFlags(t, e.a, 9, xen.GTFPermitAccess|xen.GTFReadonly)
	if len(e.mb.foreign) != 0 {
		t.Fatal("failed map left a mapping")
	}

	h, st := e.s.MapGrantRef(e.b, idA, 9, xen.GNTMAPHostMap|xen.GNTMAPReadonly, addr(hostGFN))
	wantStatus(t, "r/o map", st, xen.GNTSTOkay)
	wantFlags(t, e.a, 9, xen.GTFPermitAccess|xen.GTFReadonly|xen.GTFReading)
	if !e.mb.foreign[hostGFN].ro {
		t.Fatal("mapping not read-only")
	}
	if e.mb.guestWrite(hostGFN, 0, []byte{1}) == nil {
		t.Fatal("write through r/o mapping")
	}
	// Still refused while pinned read-only.
	_, st = e.s.MapGrantRef(e.b, idA, 9, xen.GNTMAPHostMap, addr(hostGFN+1))
	wantStatus(t, "writable map of pinned r/o grant", st, xen.GNTSTGeneralError)
	wantFlags(t, e.a, 9, xen.GTFPermitAccess|xen.GTFReadonly|xen.GTFReading)

	wantStatus(t, "unmap", e.s.UnmapGrantRef(e.b, addr(hostGFN), h), xen.GNTSTOkay)
	wantFlags(t, e.a, 9, xen.GTFPermitAccess|xen.GTFReadonly)
}

func TestMapErrors(t *testing.T) {
	e := newEnv(t, Config{})
	grant(e.a, 8, idB, 5, false)
	grant(e.a, 10, idB, 99, false) // not RAM
	grant(e.a, 11, 3, 5, false)    // granted to someone else
	setEntry(e.a, 12, xen.GTFAcceptTransfer, idB, 5)
	setEntry(e.a, 13, xen.GTFPermitAccess|xen.GTFSubPage, idB, 5)
	setEntry(e.a, 14, xen.GTFInvalid, idB, 5)

	cases := []struct {
		name  string
		dom   uint16
		ref   uint32
		flags uint32
		gfn   uint64
		want  int16
	}{
		{"no map kind", idA, 8, 0, hostGFN, xen.GNTSTBadGntref},
		{"readonly only", idA, 8, xen.GNTMAPReadonly, hostGFN, xen.GNTSTBadGntref},
		{"device map", idA, 8, xen.GNTMAPDeviceMap | xen.GNTMAPHostMap, hostGFN, xen.GNTSTGeneralError},
		{"device map only", idA, 8, xen.GNTMAPDeviceMap, hostGFN, xen.GNTSTGeneralError},
		{"application map", idA, 8, xen.GNTMAPHostMap | xen.GNTMAPApplicationMap, hostGFN, xen.GNTSTGeneralError},
		{"contains pte", idA, 8, xen.GNTMAPHostMap | xen.GNTMAPContainsPTE, hostGFN, xen.GNTSTGeneralError},
		{"can_fail bit", idA, 8, xen.GNTMAPHostMap | xen.GNTMAPCanFail, hostGFN, xen.GNTSTGeneralError},
		{"avail bits", idA, 8, xen.GNTMAPHostMap | 1<<16, hostGFN, xen.GNTSTGeneralError},
		{"unknown domain", 3, 8, xen.GNTMAPHostMap, hostGFN, xen.GNTSTBadDomain},
		{"DOMID_SELF", xen.DomIDSelf, 8, xen.GNTMAPHostMap, hostGFN, xen.GNTSTBadDomain},
		{"ref beyond table", idA, EntriesPerFrame, xen.GNTMAPHostMap, hostGFN, xen.GNTSTBadGntref},
		{"huge ref", idA, 0xFFFFFFFF, xen.GNTMAPHostMap, hostGFN, xen.GNTSTBadGntref},
		{"frame not RAM", idA, 10, xen.GNTMAPHostMap, hostGFN, xen.GNTSTBadPage},
		{"other grantee", idA, 11, xen.GNTMAPHostMap, hostGFN, xen.GNTSTGeneralError},
		{"accept_transfer", idA, 12, xen.GNTMAPHostMap, hostGFN, xen.GNTSTGeneralError},
		{"sub_page", idA, 13, xen.GNTMAPHostMap, hostGFN, xen.GNTSTGeneralError},
		{"invalid entry", idA, 14, xen.GNTMAPHostMap, hostGFN, xen.GNTSTGeneralError},
		{"map over RAM", idA, 8, xen.GNTMAPHostMap, 3, xen.GNTSTGeneralError},
	}
	for _, c := range cases {
		h, st := e.s.MapGrantRef(e.b, c.dom, c.ref, c.flags, addr(c.gfn))
		if st != c.want || h != InvalidHandle {
			t.Errorf("%s: status %d handle %#x, want %d", c.name, st, h, c.want)
		}
	}
	// Nothing may be left over: flags untouched, no mappings, no handles.
	wantFlags(t, e.a, 8, xen.GTFPermitAccess)
	wantFlags(t, e.a, 10, xen.GTFPermitAccess)
	wantFlags(t, e.a, 11, xen.GTFPermitAccess)
	wantFlags(t, e.a, 12, xen.GTFAcceptTransfer)
	wantFlags(t, e.a, 13, xen.GTFPermitAccess|xen.GTFSubPage)
	if len(e.mb.foreign) != 0 || e.b.mt.inUse() != 0 || e.s.InUse(idA) {
		t.Fatalf("leftovers: %d mappings, %d handles", len(e.mb.foreign), e.b.mt.inUse())
	}

	// The physmap refusing the mapping undoes the pin.
	e.mb.failMap = true
	_, st := e.s.MapGrantRef(e.b, idA, 8, xen.GNTMAPHostMap, addr(hostGFN))
	wantStatus(t, "MapForeign failure", st, xen.GNTSTGeneralError)
	wantFlags(t, e.a, 8, xen.GTFPermitAccess)
	e.mb.failMap = false
	if e.a.active[8].pinned() {
		t.Fatal("pin left after MapForeign failure")
	}

	// A released mapper may not map.
	e.s.ReleaseDomain(e.b)
	_, st = e.s.MapGrantRef(e.b, idA, 8, xen.GNTMAPHostMap, addr(hostGFN))
	wantStatus(t, "released mapper", st, xen.GNTSTGeneralError)
}

func TestPinnedByOtherDomain(t *testing.T) {
	e := newEnv(t, Config{})
	mc := newFakeMem(e.m, 4)
	c, err := e.s.NewDomain(3, mc, DomainOptions{})
	if err != nil {
		t.Fatal(err)
	}
	grant(e.a, 8, idB, 5, false)
	h, st := e.s.MapGrantRef(e.b, idA, 8, xen.GNTMAPHostMap, addr(hostGFN))
	wantStatus(t, "B maps", st, xen.GNTSTOkay)
	// A re-grants the (pinned) entry to C behind B's back: C still cannot
	// use it while B's pin stands.
	setEntry(e.a, 8, xen.GTFPermitAccess|xen.GTFReading|xen.GTFWriting, 3, 5)
	_, st = e.s.MapGrantRef(c, idA, 8, xen.GNTMAPHostMap, addr(hostGFN))
	wantStatus(t, "C maps B's pin", st, xen.GNTSTGeneralError)
	ops := []CopyOp{{Src: CopyPtr{Ref: 8, Domid: idA}, Dst: CopyPtr{GFN: 0, Domid: xen.DomIDSelf}, Len: 8, Flags: xen.GNTCopySourceGref}}
	e.s.Copy(c, ops)
	wantStatus(t, "C copies from B's pin", ops[0].Status, xen.GNTSTGeneralError)
	wantStatus(t, "unmap", e.s.UnmapGrantRef(e.b, addr(hostGFN), h), xen.GNTSTOkay)
	_, st = e.s.MapGrantRef(c, idA, 8, xen.GNTMAPHostMap|xen.GNTMAPReadonly, addr(hostGFN))
	wantStatus(t, "C maps after B", st, xen.GNTSTOkay)
}

func TestMultipleMappings(t *testing.T) {
	e := newEnv(t, Config{})
	grant(e.a, 20, idB, 7, false)
	hw1, st := e.s.MapGrantRef(e.b, idA, 20, xen.GNTMAPHostMap, addr(hostGFN))
	wantStatus(t, "rw1", st, xen.GNTSTOkay)
	hr, st := e.s.MapGrantRef(e.b, idA, 20, xen.GNTMAPHostMap|xen.GNTMAPReadonly, addr(hostGFN+1))
	wantStatus(t, "ro", st, xen.GNTSTOkay)
	hw2, st := e.s.MapGrantRef(e.b, idA, 20, xen.GNTMAPHostMap, addr(hostGFN+2))
	wantStatus(t, "rw2", st, xen.GNTSTOkay)
	if a := e.a.active[20]; a.hostW != 2 || a.hostR != 1 {
		t.Fatalf("pins %+v", a)
	}
	wantStatus(t, "unmap rw1", e.s.UnmapGrantRef(e.b, addr(hostGFN), hw1), xen.GNTSTOkay)
	wantFlags(t, e.a, 20, xen.GTFPermitAccess|xen.GTFReading|xen.GTFWriting)
	wantStatus(t, "unmap rw2", e.s.UnmapGrantRef(e.b, addr(hostGFN+2), hw2), xen.GNTSTOkay)
	wantFlags(t, e.a, 20, xen.GTFPermitAccess|xen.GTFReading) // read-only mapping remains
	// The guest may now make the grant read-only (Xen's documented
	// protocol: CMPXCHG GTF_readonly in while !GTF_writing).
	setEntry(e.a, 20, xen.GTFPermitAccess|xen.GTFReadonly|xen.GTFReading, idB, 7)
	_, st = e.s.MapGrantRef(e.b, idA, 20, xen.GNTMAPHostMap, addr(hostGFN))
	wantStatus(t, "rw after readonly", st, xen.GNTSTGeneralError)
	wantFlags(t, e.a, 20, xen.GTFPermitAccess|xen.GTFReadonly|xen.GTFReading)
	wantStatus(t, "unmap ro", e.s.UnmapGrantRef(e.b, addr(hostGFN+1), hr), xen.GNTSTOkay)
	wantFlags(t, e.a, 20, xen.GTFPermitAccess|xen.GTFReadonly)
	if e.s.MFNMapped(e.a.active[20].mfn) {
		t.Fatal("frame still counted as mapped")
	}
}

func TestPinnedFrameLatched(t *testing.T) {
	// Once pinned, further maps use the pinned frame, even if the guest
	// rewrote the entry's frame meanwhile (Xen's act->mfn).
	e := newEnv(t, Config{})
	grant(e.a, 8, idB, 5, false)
	h1, _ := e.s.MapGrantRef(e.b, idA, 8, xen.GNTMAPHostMap, addr(hostGFN))
	setEntry(e.a, 8, xen.GTFPermitAccess|xen.GTFReading|xen.GTFWriting, idB, 6)
	h2, st := e.s.MapGrantRef(e.b, idA, 8, xen.GNTMAPHostMap, addr(hostGFN+1))
	wantStatus(t, "second map", st, xen.GNTSTOkay)
	mfn5, _ := e.ma.Translate(5)
	if e.mb.foreign[hostGFN+1].mfn != mfn5 {
		t.Fatal("second mapping does not use the pinned frame")
	}
	e.s.UnmapGrantRef(e.b, addr(hostGFN), h1)
	e.s.UnmapGrantRef(e.b, addr(hostGFN+1), h2)
	wantFlags(t, e.a, 8, xen.GTFPermitAccess)
}

func TestPinOverflow(t *testing.T) {
	e := newEnv(t, Config{})
	grant(e.a, 8, idB, 5, false)
	var hs []uint32
	for i := 0; i < pinLimit; i++ {
		h, st := e.s.MapGrantRef(e.b, idA, 8, xen.GNTMAPHostMap, addr(uint64(hostGFN+i)))
		wantStatus(t, "map", st, xen.GNTSTOkay)
		hs = append(hs, h)
	}
	_, st := e.s.MapGrantRef(e.b, idA, 8, xen.GNTMAPHostMap, addr(hostGFN+pinLimit))
	wantStatus(t, "129th writable map", st, xen.GNTSTGeneralError)
	// The read-only counter is separate.
	hr, st := e.s.MapGrantRef(e.b, idA, 8, xen.GNTMAPHostMap|xen.GNTMAPReadonly, addr(hostGFN+pinLimit))
	wantStatus(t, "read-only map", st, xen.GNTSTOkay)
	// A writable copy needs a writable pin too.
	ops := []CopyOp{{Src: CopyPtr{GFN: 0, Domid: xen.DomIDSelf}, Dst: CopyPtr{Ref: 8, Domid: idA}, Len: 1, Flags: xen.GNTCopyDestGref}}
	e.s.Copy(e.b, ops)
	wantStatus(t, "copy into overflowing pin", ops[0].Status, xen.GNTSTGeneralError)
	for i, h := range hs {
		wantStatus(t, "unmap", e.s.UnmapGrantRef(e.b, addr(uint64(hostGFN+i)), h), xen.GNTSTOkay)
	}
	wantFlags(t, e.a, 8, xen.GTFPermitAccess|xen.GTFReading)
	wantStatus(t, "unmap ro", e.s.UnmapGrantRef(e.b, addr(hostGFN+pinLimit), hr), xen.GNTSTOkay)
	wantFlags(t, e.a, 8, xen.GTFPermitAccess)
}

func TestUnmapErrors(t *testing.T) {
	e := newEnv(t, Config{})
	mc := newFakeMem(e.m, 4)
	c, _ := e.s.NewDomain(3, mc, DomainOptions{})
	grant(e.a, 8, idB, 5, false)
	h, _ := e.s.MapGrantRef(e.b, idA, 8, xen.GNTMAPHostMap, addr(hostGFN))

	wantStatus(t, "handle out of range", e.s.UnmapGrantRef(e.b, addr(hostGFN), h+1000), xen.GNTSTBadHandle)
	wantStatus(t, "max handle", e.s.UnmapGrantRef(e.b, addr(hostGFN), ^uint32(0)), xen.GNTSTBadHandle)
	wantStatus(t, "someone else's handle", e.s.UnmapGrantRef(c, addr(hostGFN), h), xen.GNTSTBadHandle)
	wantStatus(t, "wrong address", e.s.UnmapGrantRef(e.b, addr(hostGFN+1), h), xen.GNTSTGeneralError)
	wantFlags(t, e.a, 8, xen.GTFPermitAccess|xen.GTFReading|xen.GTFWriting)
	// host_addr 0: Xen ignores the host mapping, so nothing happens.
	wantStatus(t, "zero address", e.s.UnmapGrantRef(e.b, 0, h), xen.GNTSTOkay)
	wantFlags(t, e.a, 8, xen.GTFPermitAccess|xen.GTFReading|xen.GTFWriting)
	if _, ok := e.mb.foreign[hostGFN]; !ok {
		t.Fatal("zero-address unmap removed the mapping")
	}
	e.mb.failUnmap = true
	wantStatus(t, "physmap refuses", e.s.UnmapGrantRef(e.b, addr(hostGFN), h), xen.GNTSTGeneralError)
	e.mb.failUnmap = false
	wantFlags(t, e.a, 8, xen.GTFPermitAccess|xen.GTFReading|xen.GTFWriting)
	// Offset bits in host_addr are ignored, as Xen shifts them away.
	wantStatus(t, "unmap", e.s.UnmapGrantRef(e.b, addr(hostGFN)|0x123, h), xen.GNTSTOkay)
	wantFlags(t, e.a, 8, xen.GTFPermitAccess)
	wantStatus(t, "stale handle", e.s.UnmapGrantRef(e.b, addr(hostGFN), h), xen.GNTSTBadHandle)
}

func TestMaptrackLimitAndReuse(t *testing.T) {
	e := newEnv(t, Config{MaxMaptrack: 4})
	grant(e.a, 8, idB, 5, false)
	var hs []uint32
	for i := 0; i < 4; i++ {
		h, st := e.s.MapGrantRef(e.b, idA, 8, xen.GNTMAPHostMap, addr(uint64(hostGFN+i)))
		wantStatus(t, "map", st, xen.GNTSTOkay)
		hs = append(hs, h)
	}
	_, st := e.s.MapGrantRef(e.b, idA, 8, xen.GNTMAPHostMap, addr(hostGFN+4))
	wantStatus(t, "fifth map", st, xen.GNTSTNoSpace)
	wantFlags(t, e.a, 8, xen.GTFPermitAccess|xen.GTFReading|xen.GTFWriting)

	// Free one handle: it is reused (the table cannot grow).
	wantStatus(t, "unmap", e.s.UnmapGrantRef(e.b, addr(hostGFN+1), hs[1]), xen.GNTSTOkay)
	h, st := e.s.MapGrantRef(e.b, idA, 8, xen.GNTMAPHostMap, addr(hostGFN+1))
	wantStatus(t, "map after unmap", st, xen.GNTSTOkay)
	if h != hs[1] {
		t.Fatalf("handle %d, want reused %d", h, hs[1])
	}
	for i := range hs {
		if i == 1 {
			hs[i] = h
		}
		wantStatus(t, "unmap all", e.s.UnmapGrantRef(e.b, addr(uint64(hostGFN+i)), hs[i]), xen.GNTSTOkay)
	}
	wantFlags(t, e.a, 8, xen.GTFPermitAccess)

	// With room to grow, a just-freed handle is not handed out again at
	// once, so a stale handle fails instead of hitting the new mapping.
	e2 := newEnv(t, Config{})
	grant(e2.a, 8, idB, 5, false)
	h1, _ := e2.s.MapGrantRef(e2.b, idA, 8, xen.GNTMAPHostMap, addr(hostGFN))
	e2.s.UnmapGrantRef(e2.b, addr(hostGFN), h1)
	h2, _ := e2.s.MapGrantRef(e2.b, idA, 8, xen.GNTMAPHostMap, addr(hostGFN))
	if h2 == h1 {
		t.Fatal("freed handle reused immediately")
	}
	wantStatus(t, "stale", e2.s.UnmapGrantRef(e2.b, addr(hostGFN), h1), xen.GNTSTBadHandle)

	// A domain without maptrack cannot map.
	mc := newFakeMem(e.m, 1)
	c, _ := e.s.NewDomain(3, mc, DomainOptions{MaxMaptrack: -1})
	grant(e.a, 9, 3, 5, false)
	_, st = e.s.MapGrantRef(c, idA, 9, xen.GNTMAPHostMap, addr(hostGFN))
	wantStatus(t, "no maptrack", st, xen.GNTSTNoSpace)
}

func TestCopy(t *testing.T) {
	e := newEnv(t, Config{})
	e.ma.guestWrite(4, 0, bytes.Repeat([]byte("A"), PageSize))
	e.mb.guestWrite(9, 0, bytes.Repeat([]byte("B"), PageSize))
	grant(e.a, 30, idB, 4, true)  // A's page 4, read-only, to B
	grant(e.a, 31, idB, 5, false) // A's page 5, writable, to B
	grant(e.b, 40, idA, 9, false) // B's page 9 to A

	ops := []CopyOp{
		// B pulls from A's read-only grant into its own page 1 (netback rx style).
		{Src: CopyPtr{Ref: 30, Domid: idA, Offset: 10}, Dst: CopyPtr{GFN: 1, Domid: xen.DomIDSelf, Offset: 20}, Len: 100, Flags: xen.GNTCopySourceGref},
		// B pushes its page 9 into A's writable grant.
		{Src: CopyPtr{GFN: 9, Domid: xen.DomIDSelf}, Dst: CopyPtr{Ref: 31, Domid: idA, Offset: 4000}, Len: 96, Flags: xen.GNTCopyDestGref},
		// gref to gref: A's ref 30 into A's ref 31.
		{Src: CopyPtr{Ref: 30, Domid: idA}, Dst: CopyPtr{Ref: 31, Domid: idA}, Len: 8, Flags: xen.GNTCopySourceGref | xen.GNTCopyDestGref},
		// Own frames both sides.
		{Src: CopyPtr{GFN: 9, Domid: xen.DomIDSelf, Offset: 1}, Dst: CopyPtr{GFN: 2, Domid: xen.DomIDSelf}, Len: PageSize - 1},
		// Whole page.
		{Src: CopyPtr{Ref: 30, Domid: idA}, Dst: CopyPtr{GFN: 3, Domid: xen.DomIDSelf}, Len: PageSize, Flags: xen.GNTCopySourceGref},
	}
	e.s.Copy(e.b, ops)
	for _, op := range ops {
		wantStatus(t, "copy op", op.Status, xen.GNTSTOkay)
	}
	if got := e.mb.guestRead(1, 20, 100); !bytes.Equal(got, bytes.Repeat([]byte("A"), 100)) {
		t.Fatalf("op0 copied %q", got)
	}
	if got := e.mb.guestRead(1, 19, 1); got[0] != 0 {
		t.Fatal("op0 wrote before its destination")
	}
	if got := e.ma.guestRead(5, 4000, 96); !bytes.Equal(got, bytes.Repeat([]byte("B"), 96)) {
		t.Fatalf("op1 copied %q", got)
	}
	if got := e.ma.guestRead(5, 0, 8); !bytes.Equal(got, []byte("AAAAAAAA")) {
		t.Fatalf("op2 copied %q", got)
	}
	if got := e.mb.guestRead(2, 0, PageSize-1); !bytes.Equal(got, bytes.Repeat([]byte("B"), PageSize-1)) {
		t.Fatal("op3")
	}
	if got := e.mb.guestRead(3, 0, PageSize); !bytes.Equal(got, bytes.Repeat([]byte("A"), PageSize)) {
		t.Fatal("op4")
	}
	// The pins were transient.
	wantFlags(t, e.a, 30, xen.GTFPermitAccess|xen.GTFReadonly)
	wantFlags(t, e.a, 31, xen.GTFPermitAccess)

	// A copies in the other direction, out of B's grant to itself.
	ops = []CopyOp{{Src: CopyPtr{Ref: 40, Domid: idB, Offset: 5}, Dst: CopyPtr{GFN: 0, Domid: xen.DomIDSelf}, Len: 3, Flags: xen.GNTCopySourceGref}}
	e.s.Copy(e.a, ops)
	wantStatus(t, "A pulls", ops[0].Status, xen.GNTSTOkay)
	if got := e.ma.guestRead(0, 0, 3); string(got) != "BBB" {
		t.Fatalf("A got %q", got)
	}
	wantFlags(t, e.b, 40, xen.GTFPermitAccess)

	// A copies via its own grant using DOMID_SELF: the grant is to B, not A.
	ops = []CopyOp{{Src: CopyPtr{Ref: 31, Domid: xen.DomIDSelf}, Dst: CopyPtr{GFN: 0, Domid: xen.DomIDSelf}, Len: 3, Flags: xen.GNTCopySourceGref}}
	e.s.Copy(e.a, ops)
	wantStatus(t, "own gref granted to another", ops[0].Status, xen.GNTSTGeneralError)
	// A self-grant works, by DOMID_SELF and by A's own id.
	grant(e.a, 32, idA, 6, false)
	ops = []CopyOp{
		{Src: CopyPtr{GFN: 4, Domid: xen.DomIDSelf}, Dst: CopyPtr{Ref: 32, Domid: xen.DomIDSelf}, Len: 3, Flags: xen.GNTCopyDestGref},
		{Src: CopyPtr{Ref: 32, Domid: idA}, Dst: CopyPtr{GFN: 7, Domid: xen.DomIDSelf}, Len: 3, Flags: xen.GNTCopySourceGref},
	}
	e.s.Copy(e.a, ops)
	wantStatus(t, "self grant dst", ops[0].Status, xen.GNTSTOkay)
	wantStatus(t, "self grant src", ops[1].Status, xen.GNTSTOkay)
	if got := e.ma.guestRead(7, 0, 3); string(got) != "AAA" {
		t.Fatalf("self-grant copy %q", got)
	}
}

func TestCopyWhileMapped(t *testing.T) {
	e := newEnv(t, Config{})
	grant(e.a, 8, idB, 5, true)
	h, _ := e.s.MapGrantRef(e.b, idA, 8, xen.GNTMAPHostMap|xen.GNTMAPReadonly, addr(hostGFN))
	e.ma.guestWrite(5, 0, []byte("xyz"))
	ops := []CopyOp{
		{Src: CopyPtr{Ref: 8, Domid: idA}, Dst: CopyPtr{GFN: 0, Domid: xen.DomIDSelf}, Len: 3, Flags: xen.GNTCopySourceGref},
		{Src: CopyPtr{GFN: 0, Domid: xen.DomIDSelf}, Dst: CopyPtr{Ref: 8, Domid: idA}, Len: 3, Flags: xen.GNTCopyDestGref},
	}
	e.s.Copy(e.b, ops)
	wantStatus(t, "copy from mapped", ops[0].Status, xen.GNTSTOkay)
	wantStatus(t, "copy into mapped r/o", ops[1].Status, xen.GNTSTGeneralError)
	wantFlags(t, e.a, 8, xen.GTFPermitAccess|xen.GTFReadonly|xen.GTFReading)
	if string(e.mb.guestRead(0, 0, 3)) != "xyz" {
		t.Fatal("copy from mapped grant")
	}
	e.s.UnmapGrantRef(e.b, addr(hostGFN), h)
	wantFlags(t, e.a, 8, xen.GTFPermitAccess|xen.GTFReadonly)

	// Writable grant pinned read-only by a mapping; the writable copy
	// upgrades the pin and drops GTF_writing again.
	grant(e.a, 9, idB, 6, false)
	h, _ = e.s.MapGrantRef(e.b, idA, 9, xen.GNTMAPHostMap|xen.GNTMAPReadonly, addr(hostGFN))
	ops = ops[1:]
	ops[0].Dst.Ref = 9
	e.s.Copy(e.b, ops)
	wantStatus(t, "copy into pinned rw grant", ops[0].Status, xen.GNTSTOkay)
	wantFlags(t, e.a, 9, xen.GTFPermitAccess|xen.GTFReading)
	// If the guest moved the entry to another frame meanwhile, the upgrade
	// fails (Xen compares the frames).
	setEntry(e.a, 9, xen.GTFPermitAccess|xen.GTFReading, idB, 7)
	e.s.Copy(e.b, ops)
	wantStatus(t, "upgrade to moved frame", ops[0].Status, xen.GNTSTGeneralError)
	wantFlags(t, e.a, 9, xen.GTFPermitAccess|xen.GTFReading)
	e.s.UnmapGrantRef(e.b, addr(hostGFN), h)
	wantFlags(t, e.a, 9, xen.GTFPermitAccess)
}

func TestCopyErrors(t *testing.T) {
	e := newEnv(t, Config{})
	grant(e.a, 30, idB, 4, true)
	grant(e.a, 31, idB, 5, false)
	grant(e.a, 32, idB, 99, false) // not RAM
	grant(e.a, 33, 3, 5, false)    // to someone else
	src := CopyPtr{Ref: 31, Domid: idA}
	dst := CopyPtr{GFN: 0, Domid: xen.DomIDSelf}
	cases := []struct {
		name string
		op   CopyOp
		want int16
	}{
		{"len 0 with garbage", CopyOp{Src: CopyPtr{Ref: 1 << 30, Domid: 999, Offset: 9999}, Dst: CopyPtr{GFN: 1 << 40, Domid: 3}, Len: 0, Flags: 0xFFFF}, xen.GNTSTOkay},
		{"src gfn not DOMID_SELF", CopyOp{Src: CopyPtr{GFN: 0, Domid: idA}, Dst: dst, Len: 1}, xen.GNTSTPermissionDenied},
		{"src gfn own id", CopyOp{Src: CopyPtr{GFN: 0, Domid: idB}, Dst: dst, Len: 1}, xen.GNTSTPermissionDenied},
		{"dst gfn not DOMID_SELF", CopyOp{Src: src, Dst: CopyPtr{GFN: 0, Domid: idA}, Len: 1, Flags: xen.GNTCopySourceGref}, xen.GNTSTPermissionDenied},
		{"src unknown domain", CopyOp{Src: CopyPtr{Ref: 31, Domid: 3}, Dst: dst, Len: 1, Flags: xen.GNTCopySourceGref}, xen.GNTSTBadDomain},
		{"dst unknown domain", CopyOp{Src: src, Dst: CopyPtr{Ref: 1, Domid: 77}, Len: 1, Flags: xen.GNTCopySourceGref | xen.GNTCopyDestGref}, xen.GNTSTBadDomain},
		{"bad src gref", CopyOp{Src: CopyPtr{Ref: EntriesPerFrame, Domid: idA}, Dst: dst, Len: 1, Flags: xen.GNTCopySourceGref}, xen.GNTSTBadGntref},
		{"bad dst gref", CopyOp{Src: dst, Dst: CopyPtr{Ref: 1 << 31, Domid: idA}, Len: 1, Flags: xen.GNTCopyDestGref}, xen.GNTSTBadGntref},
		{"src not granted", CopyOp{Src: CopyPtr{Ref: 50, Domid: idA}, Dst: dst, Len: 1, Flags: xen.GNTCopySourceGref}, xen.GNTSTGeneralError},
		{"src granted elsewhere", CopyOp{Src: CopyPtr{Ref: 33, Domid: idA}, Dst: dst, Len: 1, Flags: xen.GNTCopySourceGref}, xen.GNTSTGeneralError},
		{"dst read-only grant", CopyOp{Src: dst, Dst: CopyPtr{Ref: 30, Domid: idA}, Len: 1, Flags: xen.GNTCopyDestGref}, xen.GNTSTGeneralError},
		{"src frame not RAM", CopyOp{Src: CopyPtr{Ref: 32, Domid: idA}, Dst: dst, Len: 1, Flags: xen.GNTCopySourceGref}, xen.GNTSTBadPage},
		{"own src gfn not RAM", CopyOp{Src: CopyPtr{GFN: 1000, Domid: xen.DomIDSelf}, Dst: dst, Len: 1}, xen.GNTSTBadPage},
		{"own dst gfn not RAM", CopyOp{Src: src, Dst: CopyPtr{GFN: hostGFN, Domid: xen.DomIDSelf}, Len: 1, Flags: xen.GNTCopySourceGref}, xen.GNTSTBadPage},
		{"src crosses page", CopyOp{Src: CopyPtr{Ref: 31, Domid: idA, Offset: 4000}, Dst: dst, Len: 97, Flags: xen.GNTCopySourceGref}, xen.GNTSTBadCopyArg},
		{"dst crosses page", CopyOp{Src: src, Dst: CopyPtr{GFN: 0, Domid: xen.DomIDSelf, Offset: 1}, Len: PageSize, Flags: xen.GNTCopySourceGref}, xen.GNTSTBadCopyArg},
		{"offset beyond page", CopyOp{Src: CopyPtr{Ref: 31, Domid: idA, Offset: 0xFFFF}, Dst: dst, Len: 1, Flags: xen.GNTCopySourceGref}, xen.GNTSTBadCopyArg},
		{"len beyond page", CopyOp{Src: src, Dst: dst, Len: 0xFFFF, Flags: xen.GNTCopySourceGref}, xen.GNTSTBadCopyArg},
		{"bad domain before bad gref", CopyOp{Src: CopyPtr{Ref: 1 << 31, Domid: idA}, Dst: CopyPtr{Ref: 0, Domid: 500}, Len: 1, Flags: xen.GNTCopySourceGref | xen.GNTCopyDestGref}, xen.GNTSTBadDomain},
		{"bad gref before bounds", CopyOp{Src: CopyPtr{Ref: 1 << 31, Domid: idA, Offset: 5000}, Dst: dst, Len: 1, Flags: xen.GNTCopySourceGref}, xen.GNTSTBadGntref},
	}
	ops := make([]CopyOp, len(cases))
	for i, c := range cases {
		ops[i] = c.op
	}
	before := e.mb.guestRead(0, 0, PageSize)
	e.s.Copy(e.b, ops)
	for i, c := range cases {
		if ops[i].Status != c.want {
			t.Errorf("%s: status %d (%s), want %d", c.name, ops[i].Status, StatusString(ops[i].Status), c.want)
		}
	}
	if !bytes.Equal(before, e.mb.guestRead(0, 0, PageSize)) {
		t.Fatal("a failed copy wrote")
	}
	for _, ref := range []uint32{30, 31, 32, 33} {
		if flagsOf(e.a, ref)&(xen.GTFReading|xen.GTFWriting) != 0 || e.a.active[ref].pinned() {
			t.Fatalf("ref %d left pinned", ref)
		}
	}
	// A released caller copies nothing.
	ops = []CopyOp{{Src: src, Dst: dst, Len: 1, Flags: xen.GNTCopySourceGref}}
	e.s.ReleaseDomain(e.b)
	e.s.Copy(e.b, ops)
	wantStatus(t, "released caller", ops[0].Status, xen.GNTSTBadDomain)
}

func TestTableGrowth(t *testing.T) {
	e := newEnv(t, Config{MaxGrantFrames: 8})
	if e.a.NrFrames() != 1 {
		t.Fatalf("initial frames %d", e.a.NrFrames())
	}
	nr, max, st := e.s.QuerySize(e.a, xen.DomIDSelf)
	if nr != 1 || max != 8 || st != xen.GNTSTOkay {
		t.Fatalf("query_size %d/%d %d", nr, max, st)
	}
	mfn0, err := e.a.FrameMFN(0)
	if err != nil {
		t.Fatal(err)
	}
	// Frames come cleared even though the source hands out dirty pages.
	if p := e.m.frames[mfn0]; p[0] != 0 || p[PageSize-1] != 0 {
		t.Fatal("table frame not cleared")
	}
	mfn5, err := e.a.FrameMFN(5)
	if err != nil {
		t.Fatal(err)
	}
	if nr, _, _ := e.s.QuerySize(e.a, idA); nr != 6 {
		t.Fatalf("grew to %d frames, want 6", nr)
	}
	if got := e.a.TableMFNs(); len(got) != 6 || got[0] != mfn0 || got[5] != mfn5 {
		t.Fatalf("table mfns %v", got)
	}
	if again, _ := e.a.FrameMFN(5); again != mfn5 {
		t.Fatal("FrameMFN not stable")
	}
	for _, idx := range []int{8, 100, -1, MapIdxGrantTableStatus, MapIdxGrantTableStatus | 1} {
		if _, err := e.a.FrameMFN(idx); !errors.Is(err, xen.EINVAL) {
			t.Fatalf("FrameMFN(%#x): %v, want EINVAL", idx, err)
		}
	}
	// The new entries work: the last ref of frame 5.
	ref := uint32(6*EntriesPerFrame - 1)
	grant(e.a, ref, idB, 3, false)
	h, st := e.s.MapGrantRef(e.b, idA, ref, xen.GNTMAPHostMap, addr(hostGFN))
	wantStatus(t, "map high ref", st, xen.GNTSTOkay)
	_, st = e.s.MapGrantRef(e.b, idA, ref+1, xen.GNTMAPHostMap, addr(hostGFN+1))
	wantStatus(t, "map beyond", st, xen.GNTSTBadGntref)
	e.s.UnmapGrantRef(e.b, addr(hostGFN), h)

	// Allocation failure: EINVAL, as Xen answers a failed growth.
	e.m.noAlloc = true
	if _, err := e.a.FrameMFN(7); !errors.Is(err, xen.EINVAL) {
		t.Fatalf("FrameMFN with no memory: %v", err)
	}
	if _, st := e.s.SetupTable(e.a, xen.DomIDSelf, 7); st != xen.GNTSTGeneralError {
		t.Fatalf("setup_table with no memory: %d", st)
	}
	e.m.noAlloc = false
	mfns, st := e.s.SetupTable(e.a, xen.DomIDSelf, 7)
	if st != xen.GNTSTOkay || len(mfns) != 7 || mfns[5] != mfn5 {
		t.Fatalf("setup_table: %v %d", mfns, st)
	}
	if _, st := e.s.SetupTable(e.a, xen.DomIDSelf, 9); st != xen.GNTSTGeneralError {
		t.Fatalf("setup_table beyond max: %d", st)
	}
	if _, st := e.s.SetupTable(e.a, idB, 1); st != xen.GNTSTPermissionDenied {
		t.Fatalf("setup_table of another domain: %d", st)
	}
	if _, st := e.s.SetupTable(e.a, 9, 1); st != xen.GNTSTBadDomain {
		t.Fatalf("setup_table of unknown domain: %d", st)
	}

	// Defaults follow Xen: 64 frames.
	e2 := newEnv(t, Config{})
	if _, max, _ := e2.s.QuerySize(e2.a, xen.DomIDSelf); max != 64 {
		t.Fatalf("default max %d", max)
	}
	if _, err := e2.a.FrameMFN(63); err != nil {
		t.Fatal(err)
	}
	if _, err := e2.a.FrameMFN(64); !errors.Is(err, xen.EINVAL) {
		t.Fatal("grew beyond 64")
	}
}

func TestQueryAndVersion(t *testing.T) {
	e := newEnv(t, Config{})
	priv, err := e.s.NewDomain(0, newFakeMem(e.m, 1), DomainOptions{Privileged: true, MaxGrantFrames: 4})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, st := e.s.QuerySize(e.a, idB); st != xen.GNTSTPermissionDenied {
		t.Fatalf("unprivileged query of another: %d", st)
	}
	if nr, max, st := e.s.QuerySize(priv, idB); st != xen.GNTSTOkay || nr != 1 || max != 64 {
		t.Fatalf("privileged query: %d/%d %d", nr, max, st)
	}
	if _, max, _ := e.s.QuerySize(priv, xen.DomIDSelf); max != 4 {
		t.Fatalf("per-domain max: %d", max)
	}
	if _, _, st := e.s.QuerySize(priv, 9); st != xen.GNTSTBadDomain {
		t.Fatalf("query unknown: %d", st)
	}
	if _, _, st := e.s.QuerySize(e.a, idA); st != xen.GNTSTOkay {
		t.Fatalf("query self by id: %d", st)
	}

	for _, c := range []struct {
		v    uint32
		want xen.Errno
	}{{1, 0}, {2, xen.ENOSYS}, {0, xen.EINVAL}, {3, xen.EINVAL}} {
		v, rc := e.s.SetVersion(e.a, c.v)
		if rc != c.want || v != 1 {
			t.Errorf("set_version(%d): version %d rc %v, want 1, %v", c.v, v, rc, c.want)
		}
	}
	if v, rc := e.s.GetVersion(e.a, xen.DomIDSelf); v != 1 || rc != 0 {
		t.Fatalf("get_version self: %d %v", v, rc)
	}
	if _, rc := e.s.GetVersion(e.a, idB); rc != xen.EPERM {
		t.Fatalf("get_version other: %v", rc)
	}
	if v, rc := e.s.GetVersion(priv, idB); v != 1 || rc != 0 {
		t.Fatalf("get_version privileged: %d %v", v, rc)
	}
	if _, rc := e.s.GetVersion(priv, 9); rc != xen.ESRCH {
		t.Fatalf("get_version unknown: %v", rc)
	}
}

func TestNewDomainErrors(t *testing.T) {
	m := newMachine()
	s := NewSystem(Config{Frames: m})
	mem := newFakeMem(m, 1)
	if _, err := s.NewDomain(xen.DomIDSelf, mem, DomainOptions{}); !errors.Is(err, xen.EINVAL) {
		t.Fatalf("reserved id: %v", err)
	}
	if _, err := s.NewDomain(1, nil, DomainOptions{}); !errors.Is(err, xen.EINVAL) {
		t.Fatalf("nil mem: %v", err)
	}
	if _, err := s.NewDomain(1, mem, DomainOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.NewDomain(1, mem, DomainOptions{}); !errors.Is(err, xen.EEXIST) {
		t.Fatalf("duplicate: %v", err)
	}
	m.noAlloc = true
	if _, err := s.NewDomain(2, mem, DomainOptions{}); err == nil {
		t.Fatal("created without a table frame")
	}
	if s.Domain(2) != nil {
		t.Fatal("failed domain registered")
	}
	if _, err := NewSystem(Config{}).NewDomain(1, mem, DomainOptions{}); !errors.Is(err, xen.EINVAL) {
		t.Fatalf("no frame source: %v", err)
	}
}

func TestReleaseMapper(t *testing.T) {
	e := newEnv(t, Config{})
	grant(e.a, 8, idB, 5, false)
	grant(e.a, 9, idB, 6, true)
	grant(e.b, 3, idB, 2, false) // B's self-grant
	e.s.MapGrantRef(e.b, idA, 8, xen.GNTMAPHostMap, addr(hostGFN))
	e.s.MapGrantRef(e.b, idA, 9, xen.GNTMAPHostMap|xen.GNTMAPReadonly, addr(hostGFN+1))
	e.s.MapGrantRef(e.b, idA, 9, xen.GNTMAPHostMap|xen.GNTMAPReadonly, addr(hostGFN+2))
	_, st := e.s.MapGrantRef(e.b, idB, 3, xen.GNTMAPHostMap, addr(hostGFN+3))
	wantStatus(t, "self map", st, xen.GNTSTOkay)

	if e.s.ReleaseDomain(e.b) {
		t.Fatal("B lingers though nobody else maps its grants")
	}
	if len(e.gone) != 1 || e.gone[0] != idB {
		t.Fatalf("OnGone calls %v", e.gone)
	}
	wantFlags(t, e.a, 8, xen.GTFPermitAccess)
	wantFlags(t, e.a, 9, xen.GTFPermitAccess|xen.GTFReadonly)
	if len(e.mb.foreign) != 0 || e.s.InUse(idA) || len(e.s.mapped) != 0 {
		t.Fatal("B's mappings survive its release")
	}
	if e.s.ReleaseDomain(e.b) || len(e.gone) != 1 {
		t.Fatal("second release did something")
	}
	// The id is free again.
	if _, err := e.s.NewDomain(idB, newFakeMem(e.m, 1), DomainOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestReleaseGranterLingers(t *testing.T) {
	e := newEnv(t, Config{})
	grant(e.a, 8, idB, 5, false)
	grant(e.a, 9, idB, 6, false)
	h, _ := e.s.MapGrantRef(e.b, idA, 8, xen.GNTMAPHostMap, addr(hostGFN))
	mfn5, _ := e.ma.Translate(5)
	tbl := e.a.TableMFNs()

	if !e.s.ReleaseDomain(e.a) {
		t.Fatal("A should linger while B maps its page")
	}
	if len(e.gone) != 0 || !e.s.InUse(idA) || !e.s.MFNMapped(mfn5) {
		t.Fatal("lingering domain not reported in use")
	}
	if got := e.s.MappedMFNs(idA); len(got) != 1 || got[0] != mfn5 {
		t.Fatalf("mapped mfns %v", got)
	}
	if e.s.Domain(idA) != e.a {
		t.Fatal("lingering domain not registered")
	}
	// No new use of A's grants.
	_, st := e.s.MapGrantRef(e.b, idA, 9, xen.GNTMAPHostMap, addr(hostGFN+1))
	wantStatus(t, "map from dying", st, xen.GNTSTBadDomain)
	ops := []CopyOp{{Src: CopyPtr{Ref: 9, Domid: idA}, Dst: CopyPtr{GFN: 0, Domid: xen.DomIDSelf}, Len: 1, Flags: xen.GNTCopySourceGref}}
	e.s.Copy(e.b, ops)
	wantStatus(t, "copy from dying", ops[0].Status, xen.GNTSTBadDomain)
	if _, err := e.s.NewDomain(idA, newFakeMem(e.m, 1), DomainOptions{}); !errors.Is(err, xen.EEXIST) {
		t.Fatalf("domid reused while lingering: %v", err)
	}
	if _, err := e.a.FrameMFN(0); !errors.Is(err, xen.EINVAL) {
		t.Fatal("FrameMFN of a dying domain")
	}
	// B still uses the page, then unmaps: A goes.
	if err := e.mb.guestWrite(hostGFN, 0, []byte("still here")); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, "unmap", e.s.UnmapGrantRef(e.b, addr(hostGFN), h), xen.GNTSTOkay)
	wantFlags(t, e.a, 8, xen.GTFPermitAccess) // the zombie's table is still kept up to date
	if len(e.gone) != 1 || e.gone[0] != idA || e.s.InUse(idA) || e.s.Domain(idA) != nil {
		t.Fatalf("A not gone: %v", e.gone)
	}
	if got := e.a.TableMFNs(); len(got) != len(tbl) || got[0] != tbl[0] {
		t.Fatal("table frames changed")
	}
}

func TestOnGoneCalledUnlocked(t *testing.T) {
	m := newMachine()
	var s *System
	called := false
	s = NewSystem(Config{Frames: m, OnGone: func(id uint16, mfns []uint64) {
		called = true
		// Must not deadlock: the lock is released.
		if s.Domain(id) != nil || len(mfns) != 1 {
			panic("bad OnGone")
		}
	}})
	d, _ := s.NewDomain(5, newFakeMem(m, 1), DomainOptions{})
	s.ReleaseDomain(d)
	if !called {
		t.Fatal("OnGone not called")
	}
}

func TestStatusString(t *testing.T) {
	if StatusString(xen.GNTSTBadCopyArg) != "copy arguments cross page boundary" ||
		StatusString(xen.GNTSTNoSpace) != "out of space" || StatusString(5) != "bad status 5" ||
		StatusString(-14) != "bad status -14" {
		t.Fatal("StatusString")
	}
}
