package grant

import (
	"bytes"
	"sync/atomic"
	"testing"

	"gozen/abi/xen"
)

// fuzzer drives random grant operations against two domains, A and B, each
// granting to the other (and to itself, and to strangers), and checks after
// every step that the hypervisor's view and the shared entries agree, that
// no page of a domain is touched on behalf of a domain it has not granted
// it to, and that copies write only where a writable grant allows.
type fuzzer struct {
	t    *testing.T
	data []byte
	m    *machine
	s    *System
	doms [2]*Domain
	mems [2]*fakeMem
	cur  *Domain // domain performing the current operation
	maps [2][]fuzzMap
	gone []uint16
}

type fuzzMap struct {
	handle uint32
	gfn    uint64
}

const (
	fuzzRAM   = 8     // RAM gfns 0..7 per domain
	fuzzSlot0 = 0x100 // foreign mapping slots
	fuzzSlots = 8
)

func (f *fuzzer) next() byte {
	if len(f.data) == 0 {
		return 0
	}
	b := f.data[0]
	f.data = f.data[1:]
	return b
}

func (f *fuzzer) u16() uint16 { return uint16(f.next()) | uint16(f.next())<<8 }

func (f *fuzzer) pickDom() int { return int(f.next() & 1) }

// pickDomid returns, for an operation of d, mostly the peer's id, else d's
// own id, a stranger or DOMID_SELF.
func (f *fuzzer) pickDomid(d *Domain) uint16 {
	switch b := f.next() % 16; {
	case b < 9:
		if d.ID == idA {
			return idB
		}
		return idA
	case b < 12:
		return d.ID
	case b < 13:
		return 3
	}
	return xen.DomIDSelf
}

// fuzzRefs are the refs pickRef returns that can exist (tables have at most
// two frames here); nothing else of a table ever changes.
var fuzzRefs = []uint32{0, 1, 2, 3, 4, 5, EntriesPerFrame, EntriesPerFrame + 1, EntriesPerFrame + 2}

func (f *fuzzer) pickRef() uint32 {
	b := f.next()
	switch {
	case b < 200:
		return uint32(b % 6)
	case b < 230:
		return EntriesPerFrame + uint32(b%3) // only valid once grown
	case b < 250:
		return 2*EntriesPerFrame + uint32(b%2) // beyond the maximum
	}
	return 0xFFFFFFFF - uint32(b%3)
}

// liveRefs are the fuzzRefs within d's table.
func liveRefs(d *Domain) []uint32 {
	var out []uint32
	for _, r := range fuzzRefs {
		if r < d.nrEntries() {
			out = append(out, r)
		}
	}
	return out
}

// onPage is every fakeMem's Page hook: owner's page gfn is being looked at
// for f.cur.
func (f *fuzzer) onPage(owner int, gfn uint64) {
	d := f.doms[owner]
	if f.cur == d {
		return // a domain's own memory (DOMID_SELF copies, self-grants)
	}
	for _, ref := range liveRefs(d) {
		h := atomic.LoadUint32(d.hdr(ref))
		fl, domid := uint16(h), uint16(h>>16)
		frame := uint64(atomic.LoadUint32(d.frameField(ref)))
		if fl&xen.GTFTypeMask == xen.GTFPermitAccess && domid == f.cur.ID && frame == gfn {
			return
		}
		if a := &d.active[ref]; a.pinned() && a.domid == f.cur.ID && a.gfn == gfn {
			return
		}
	}
	f.t.Fatalf("d%d's gfn %#x accessed for d%d, which it was not granted to", d.ID, gfn, f.cur.ID)
}

// writable is the set of owner's gfns that f.cur may write by copy now:
// those of entries granting it writable access, and those it already holds
// a writable pin on (which Xen, like this package, does not re-check
// against the entry: the pin holder can write the page through its mapping
// anyway).
func (f *fuzzer) writable(owner int) map[uint64]bool {
	d := f.doms[owner]
	w := map[uint64]bool{}
	for _, ref := range liveRefs(d) {
		h := atomic.LoadUint32(d.hdr(ref))
		fl, domid := uint16(h), uint16(h>>16)
		a := &d.active[ref]
		mine := a.pinned() && a.domid == f.cur.ID
		if mine && a.hostW > 0 {
			w[a.gfn] = true
		}
		if fl&xen.GTFReadonly != 0 {
			continue
		}
		if fl&xen.GTFTypeMask == xen.GTFPermitAccess && domid == f.cur.ID {
			w[uint64(atomic.LoadUint32(d.frameField(ref)))] = true
		}
		if mine {
			w[a.gfn] = true
		}
	}
	return w
}

func (f *fuzzer) snapshot(owner int) [][]byte {
	snap := make([][]byte, fuzzRAM)
	for g := range snap {
		snap[g] = f.mems[owner].guestRead(uint64(g), 0, PageSize)
	}
	return snap
}

// guestSetEntry writes an entry as a (possibly misbehaving) guest: any
// type, domid and frame, but it leaves GTF_reading/GTF_writing alone, which
// only Xen writes.
func (f *fuzzer) guestSetEntry(d *Domain, ref uint32, flags, domid uint16, frame uint32) {
	atomic.StoreUint32(d.frameField(ref), frame)
	p := d.hdr(ref)
	for {
		old := atomic.LoadUint32(p)
		keep := uint16(old) & (xen.GTFReading | xen.GTFWriting)
		nf := flags&^(xen.GTFReading|xen.GTFWriting) | keep
		if atomic.CompareAndSwapUint32(p, old, uint32(domid)<<16|uint32(nf)) {
			return
		}
	}
}

// fuzzOps weighs the operations of step: grants and maps are common, so
// that mappings pile up (up to maptrack exhaustion); revocations rarer.
var fuzzOps = [16]byte{0, 0, 0, 1, 1, 2, 3, 3, 3, 3, 4, 5, 5, 6, 7, 7}

func (f *fuzzer) step() {
	op := fuzzOps[f.next()%16]
	di := f.pickDom()
	d := f.doms[di]
	f.cur = d
	switch op {
	case 0, 1: // the guest grants (or rewrites an entry)
		ref := f.pickRef()
		if ref >= d.nrEntries() {
			return
		}
		b := f.next()
		flags := uint16(xen.GTFPermitAccess)
		if b&0x30 == 0x30 {
			flags = uint16(b & xen.GTFTypeMask)
		}
		if b&0x04 != 0 {
			flags |= xen.GTFReadonly
		}
		if b&0xE0 == 0xE0 {
			flags |= xen.GTFSubPage
		}
		if b&0x08 != 0 {
			flags |= xen.GTFPAT
		}
		f.guestSetEntry(d, ref, flags, f.pickDomid(d), uint32(f.next()%(fuzzRAM+1)))
	case 2: // the guest ends a grant, as Linux does
		ref := f.pickRef()
		if ref < d.nrEntries() {
			endAccess(d, ref)
		}
	case 3: // map
		flagChoices := []uint32{
			xen.GNTMAPHostMap, xen.GNTMAPHostMap, xen.GNTMAPHostMap | xen.GNTMAPReadonly, xen.GNTMAPHostMap | xen.GNTMAPReadonly,
			0, xen.GNTMAPReadonly, xen.GNTMAPDeviceMap | xen.GNTMAPHostMap, xen.GNTMAPHostMap | xen.GNTMAPCanFail,
		}
		dom := f.pickDomid(d)
		ref := f.pickRef()
		flags := flagChoices[f.next()%8]
		gfn := fuzzSlot0 + uint64(f.next()%fuzzSlots)
		if f.next()%16 == 0 {
			gfn = uint64(f.next() % fuzzRAM) // over RAM: the physmap refuses
		}
		h, st := f.s.MapGrantRef(d, dom, ref, flags, addr(gfn))
		if st == xen.GNTSTOkay {
			f.maps[di] = append(f.maps[di], fuzzMap{h, gfn})
		} else if h != InvalidHandle {
			f.t.Fatalf("failed map returned handle %d", h)
		}
	case 4: // unmap
		var h uint32
		var gfn uint64
		idx := -1
		if n := len(f.maps[di]); n > 0 && f.next()%8 != 0 {
			idx = int(f.next()) % n
			h, gfn = f.maps[di][idx].handle, f.maps[di][idx].gfn
		} else {
			h, gfn = uint32(f.next()%16), fuzzSlot0+uint64(f.next()%fuzzSlots)
		}
		ha := addr(gfn)
		switch f.next() % 8 {
		case 0:
			ha = 0
		case 1:
			ha = addr(fuzzSlot0 + uint64(f.next()%fuzzSlots))
		}
		st := f.s.UnmapGrantRef(d, ha, h)
		removed := st == xen.GNTSTOkay && ha != 0
		if idx >= 0 && removed {
			f.maps[di] = append(f.maps[di][:idx], f.maps[di][idx+1:]...)
		} else if idx < 0 && removed {
			// A random handle that happened to be live at that address.
			for i, m := range f.maps[di] {
				if m.handle == h {
					f.maps[di] = append(f.maps[di][:i], f.maps[di][i+1:]...)
					break
				}
			}
		}
	case 5: // copy
		n := 1 + int(f.next()%3)
		ops := make([]CopyOp, n)
		for i := range ops {
			fl := uint16(f.next() % 8)
			ops[i] = CopyOp{
				Src:   f.copyPtr(d, fl&xen.GNTCopySourceGref != 0),
				Dst:   f.copyPtr(d, fl&xen.GNTCopyDestGref != 0),
				Flags: fl,
			}
			switch f.next() % 4 {
			case 0:
				ops[i].Len = 0
			case 1:
				ops[i].Len = f.u16()
			default:
				ops[i].Len = uint16(f.next()) * 8
			}
		}
		other := 1 - di
		w := f.writable(other)
		before := f.snapshot(other)
		f.s.Copy(d, ops)
		after := f.snapshot(other)
		for g := range before {
			if !bytes.Equal(before[g], after[g]) && !w[uint64(g)] {
				f.t.Fatalf("copy by d%d wrote d%d's gfn %d without a writable grant", d.ID, f.doms[other].ID, g)
			}
		}
		for _, op := range ops {
			if op.Status > 0 || op.Status < xen.GNTSTNoSpace {
				f.t.Fatalf("copy status %d", op.Status)
			}
		}
	case 6: // the table grows
		idx := int(f.next() % 3)
		if _, err := d.FrameMFN(idx); (err == nil) != (idx < d.MaxFrames()) {
			f.t.Fatalf("FrameMFN(%d) with max %d: %v", idx, d.MaxFrames(), err)
		}
	case 7: // the mapper uses a mapping
		if n := len(f.maps[di]); n > 0 {
			m := f.maps[di][int(f.next())%n]
			_ = f.mems[di].guestWrite(m.gfn, int(f.next())*16, []byte{f.next()}) // r/o mappings refuse
		}
	}
}

// copyPtr makes a copy operand for d; mostly a sensible one (a grant of
// the peer, or d's own frame by DOMID_SELF), sometimes not.
func (f *fuzzer) copyPtr(d *Domain, isGref bool) CopyPtr {
	off := uint16(f.next()) * 16
	if f.next()%16 == 0 {
		off = f.u16()
	}
	p := CopyPtr{Ref: f.pickRef(), GFN: uint64(f.next() % (fuzzRAM + 1)), Offset: off}
	switch b := f.next() % 8; {
	case b < 5 && isGref:
		p.Domid = f.pickDomid(d)
	case b < 5:
		p.Domid = xen.DomIDSelf
	default:
		p.Domid = f.pickDomid(d)
	}
	return p
}

// check verifies that the shared status bits, the pin counts, the maptrack
// and the physmaps all agree.
func (f *fuzzer) check() {
	t := f.t
	pins := map[*Domain]int{}
	mapped := map[uint64]int{}
	for mi, md := range f.doms {
		if md.mt.inUse() != len(f.maps[mi]) {
			t.Fatalf("d%d: %d handles in use, harness knows %d", md.ID, md.mt.inUse(), len(f.maps[mi]))
		}
		if len(f.mems[mi].foreign) != len(f.maps[mi]) {
			t.Fatalf("d%d: %d physmap grant mappings, %d handles", md.ID, len(f.mems[mi].foreign), len(f.maps[mi]))
		}
		for _, fm := range f.maps[mi] {
			m := md.mt.lookup(fm.handle)
			if m == nil || m.gfn != fm.gfn {
				t.Fatalf("d%d handle %d: %+v, want gfn %#x", md.ID, fm.handle, m, fm.gfn)
			}
			rd := f.s.doms[m.dom]
			a := &rd.active[m.ref]
			if a.domid != md.ID || !a.pinned() {
				t.Fatalf("mapping %+v of an entry not pinned for d%d: %+v", m, md.ID, a)
			}
			pm := f.mems[mi].foreign[m.gfn]
			if pm.mfn != a.mfn || pm.ro != (m.flags&xen.GNTMAPReadonly != 0) {
				t.Fatalf("physmap %+v disagrees with mapping %+v / %+v", pm, m, a)
			}
			pins[rd]++
			mapped[a.mfn]++
		}
	}
	for _, d := range f.doms {
		if d.pins != pins[d] {
			t.Fatalf("d%d: pins %d, counted %d", d.ID, d.pins, pins[d])
		}
		for _, ref := range liveRefs(d) {
			fl := uint16(atomic.LoadUint32(d.hdr(ref)))
			a := &d.active[ref]
			if (fl&xen.GTFReading != 0) != a.pinned() || (fl&xen.GTFWriting != 0) != (a.hostW > 0) {
				t.Fatalf("d%d ref %d: flags %#x but pins w%d r%d", d.ID, ref, fl, a.hostW, a.hostR)
			}
		}
	}
	if len(mapped) != len(f.s.mapped) {
		t.Fatalf("mapped mfns %v, want %v", f.s.mapped, mapped)
	}
	for mfn, n := range mapped {
		if f.s.mapped[mfn] != n {
			t.Fatalf("mfn %#x mapped %d times, system says %d", mfn, n, f.s.mapped[mfn])
		}
	}
}

func runGrantOps(t *testing.T, data []byte) {
	f := &fuzzer{t: t, data: data, m: newMachine()}
	f.s = NewSystem(Config{
		Frames: f.m, MaxGrantFrames: 2, MaxMaptrack: 3,
		OnGone: func(id uint16, _ []uint64) { f.gone = append(f.gone, id) },
	})
	for i, id := range []uint16{idA, idB} {
		i := i
		f.mems[i] = newFakeMem(f.m, fuzzRAM)
		f.mems[i].onPage = func(gfn uint64) { f.onPage(i, gfn) }
		d, err := f.s.NewDomain(id, f.mems[i], DomainOptions{})
		if err != nil {
			t.Fatal(err)
		}
		f.doms[i] = d
	}
	for steps := 0; len(f.data) > 0 && steps < 500; steps++ {
		f.step()
		f.check()
	}

	// Unmap everything: no status bit may remain anywhere.
	for i, d := range f.doms {
		f.cur = d
		for _, m := range f.maps[i] {
			if st := f.s.UnmapGrantRef(d, addr(m.gfn), m.handle); st != xen.GNTSTOkay {
				t.Fatalf("final unmap d%d handle %d: %d", d.ID, m.handle, st)
			}
		}
		f.maps[i] = nil
	}
	f.check()
	for _, d := range f.doms {
		for ref := uint32(0); ref < d.nrEntries(); ref++ {
			if fl := uint16(atomic.LoadUint32(d.hdr(ref))); fl&(xen.GTFReading|xen.GTFWriting) != 0 {
				t.Fatalf("d%d ref %d: flags %#x with nothing mapped", d.ID, ref, fl)
			}
		}
		if f.s.InUse(d.ID) {
			t.Fatalf("d%d in use with nothing mapped", d.ID)
		}
	}
	for _, d := range f.doms {
		if f.s.ReleaseDomain(d) {
			t.Fatalf("d%d lingers", d.ID)
		}
	}
	if len(f.gone) != 2 || len(f.s.doms) != 0 || len(f.s.mapped) != 0 {
		t.Fatalf("after release: gone %v, %d domains, %d mapped", f.gone, len(f.s.doms), len(f.s.mapped))
	}
}

// runGrantOpsReleasing is runGrantOps' variant that kills a random domain
// part-way and checks the zombie protocol.
func runGrantOpsReleasing(t *testing.T, data []byte) {
	if len(data) == 0 {
		return
	}
	victim := int(data[0] & 1)
	cut := int(data[0]>>1) % (len(data) + 1)
	f := &fuzzer{t: t, data: data[1:], m: newMachine()}
	f.s = NewSystem(Config{
		Frames: f.m, MaxGrantFrames: 2, MaxMaptrack: 3,
		OnGone: func(id uint16, _ []uint64) { f.gone = append(f.gone, id) },
	})
	for i, id := range []uint16{idA, idB} {
		i := i
		f.mems[i] = newFakeMem(f.m, fuzzRAM)
		f.mems[i].onPage = func(gfn uint64) { f.onPage(i, gfn) }
		d, _ := f.s.NewDomain(id, f.mems[i], DomainOptions{})
		f.doms[i] = d
	}
	for steps := 0; len(f.data) > 0 && steps < cut; steps++ {
		f.step()
		f.check()
	}
	v, o := f.doms[victim], f.doms[1-victim]
	f.cur = v
	lingering := f.s.ReleaseDomain(v)
	f.maps[victim] = nil
	if len(f.mems[victim].foreign) != 0 {
		t.Fatal("victim's grant mappings survive")
	}
	if lingering != (len(f.maps[1-victim]) > 0 && anyFrom(f, 1-victim, v.ID)) {
		t.Fatalf("lingering %v with survivor mappings %v", lingering, f.maps[1-victim])
	}
	// The survivor unmaps what it has; the victim goes when nothing of it
	// is mapped any more.
	f.cur = o
	for _, m := range f.maps[1-victim] {
		if st := f.s.UnmapGrantRef(o, addr(m.gfn), m.handle); st != xen.GNTSTOkay {
			t.Fatalf("survivor unmap: %d", st)
		}
	}
	f.maps[1-victim] = nil
	if len(f.gone) != 1 || f.gone[0] != v.ID || f.s.InUse(v.ID) || len(f.s.mapped) != 0 {
		t.Fatalf("victim d%d not gone: %v", v.ID, f.gone)
	}
	for ref := uint32(0); ref < o.nrEntries(); ref++ {
		if fl := uint16(atomic.LoadUint32(o.hdr(ref))); fl&(xen.GTFReading|xen.GTFWriting) != 0 {
			t.Fatalf("survivor ref %d: flags %#x", ref, fl)
		}
	}
}

// anyFrom reports whether domain i holds a mapping of a grant of domid.
func anyFrom(f *fuzzer, i int, domid uint16) bool {
	for _, fm := range f.maps[i] {
		if m := f.doms[i].mt.lookup(fm.handle); m != nil && m.dom == domid {
			return true
		}
	}
	return false
}

func fuzzSeeds() [][]byte {
	return [][]byte{
		{},
		// A grants ref 1 (gfn 2) to B; B maps it; B unmaps.
		{0, 0, 1, 0x10, 3, 2, 3, 1, 1, 1, 0, 0, 5, 0x40, 4, 1, 1, 0, 2},
		// grants both ways, copies, growth
		{0, 0, 2, 0x10, 4, 5, 0, 1, 3, 0x14, 0, 1, 5, 1, 2, 1, 2, 3, 4, 5, 1, 6, 7, 8, 9, 1, 2,
			6, 0, 1, 6, 1, 1, 3, 1, 2, 0, 3, 1, 1, 1, 2, 0, 3, 0, 3, 1, 1, 2, 7, 1, 0, 9, 9, 4, 1, 1, 0, 2},
		bytes.Repeat([]byte{3, 1, 0, 1, 0, 0, 1}, 20),
		bytes.Repeat([]byte{0, 0, 1, 0x10, 3, 2, 3, 1, 1, 1, 0, 0, 5, 1, 1, 0, 0, 0, 0, 0, 0, 0}, 10),
	}
}

func FuzzGrantOps(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		runGrantOps(t, data)
		runGrantOpsReleasing(t, data)
	})
}

// TestGrantOpsRandom runs the fuzz body over pseudo-random inputs, so
// plain `go test` covers far more than the seeds.
func TestGrantOpsRandom(t *testing.T) {
	n := 1000
	if testing.Short() {
		n = 100
	}
	x := uint64(0x9E3779B97F4A7C15)
	for i := 0; i < n; i++ {
		data := make([]byte, 256+(i*37)%2048)
		for j := range data {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			data[j] = byte(x)
		}
		runGrantOps(t, data)
		runGrantOpsReleasing(t, data)
		if t.Failed() {
			t.Fatalf("input %d failed", i)
		}
	}
}
