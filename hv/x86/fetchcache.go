package x86

import "encoding/binary"

// PageMem is guest-physical memory that can also hand out its host view of
// a page, for FetchCache.
type PageMem interface {
	PhysMem
	// HostPage returns the 4 KiB page holding gpa as hv sees it (the bytes
	// ReadPhys reads there), or false where ReadPhys would fail.
	HostPage(gpa uint64) (*[4096]byte, bool)
	// Generation changes whenever a HostPage answer may have changed (the
	// guest-physical map changed).
	Generation() uint64
}

// CodeState is what fetching a vCPU's next instruction depends on.
type CodeState struct {
	Paging      Paging
	CSBase, RIP uint64
	Mode        Mode
	User        bool // CPL 3
}

// FetchCache remembers how the last instruction fetch's linear page
// translated, so that the next fetch from the same page (a guest exiting
// again and again from the same code: its hypercall page, a CPUID loop)
// reads the bytes without walking the guest's page tables and the nested
// ones. It is a memo, not a TLB: a hit is exactly what FetchInsn would
// compute, because it requires the same paging state, privilege and linear
// page, an unchanged guest-physical map (PageMem.Generation), and every
// guest paging-structure entry the walk read to hold the value it read
// then (re-read through the host view, which the unchanged map keeps
// valid). The guest can change its page tables without an exit; a change
// makes the next fetch miss and walk again.
//
// The zero value is an empty cache. A FetchCache belongs to one vCPU.
type FetchCache struct {
	ok   bool
	pg   Paging // AC is not compared: it does not affect fetches
	user bool
	lin  uint64 // linear page
	gen  uint64
	page *[4096]byte // host view of the code page
	n    int         // entries in ent
	ent  [5]cachedEntry
}

// cachedEntry is one paging-structure entry a walk read: its host page and
// offset, width and value.
type cachedEntry struct {
	page *[4096]byte
	off  uint16
	wide bool
	val  uint64
}

func (e *cachedEntry) current() uint64 {
	if e.wide {
		return binary.LittleEndian.Uint64(e.page[e.off&^7:])
	}
	return uint64(binary.LittleEndian.Uint32(e.page[e.off&^3:]))
}

// Invalidate empties the cache.
func (c *FetchCache) Invalidate() { c.ok = false }

// Fetch is FetchInsn at s through the cache: the same bytes, count and
// errors. Instructions that may cross into the next page (fewer than 15
// bytes left in the page) are fetched without it.
func (c *FetchCache) Fetch(mem PageMem, s *CodeState, buf *[15]byte) (int, error) {
	csBase, rip, mode, user := s.CSBase, s.RIP, s.Mode, s.User
	lin := csBase + rip
	if mode != Mode64 {
		lin = uint64(uint32(lin))
	}
	off := lin & 0xfff
	if off > 4096-15 {
		return FetchInsn(mem, s.Paging, csBase, rip, mode, user, buf)
	}
	pg := &s.Paging
	if c.ok && c.lin == lin&^0xfff && c.pg.CR3 == pg.CR3 && c.pg.CR0 == pg.CR0 && c.pg.CR4 == pg.CR4 &&
		c.pg.EFER == pg.EFER && c.pg.PhysBits == pg.PhysBits && c.user == user && c.gen == mem.Generation() &&
		c.entriesHold() {
		*buf = [15]byte(c.page[off : off+15])
		return 15, nil
	}
	c.ok = false
	r := recorder{mem: mem, c: c}
	c.n, c.page = 0, nil
	gen := mem.Generation()
	n, err := FetchInsn(&r, *pg, csBase, rip, mode, user, buf)
	if err == nil && !r.bad && c.page != nil && gen == mem.Generation() {
		c.ok, c.pg, c.user, c.lin, c.gen = true, *pg, user, lin&^0xfff, gen
	}
	return n, err
}

func (c *FetchCache) entriesHold() bool {
	for i := range c.ent[:c.n] {
		e := &c.ent[i]
		if e.current() != e.val {
			return false
		}
	}
	return true
}

// recorder is the PhysMem a missing Fetch walks through: it reads as mem
// does and notes where each entry and the code page are in hv's view.
type recorder struct {
	mem PageMem
	c   *FetchCache
	bad bool // something could not be recorded: do not cache
}

func (r *recorder) note(gpa uint64, wide bool, val uint64) {
	p, ok := r.mem.HostPage(gpa)
	if !ok || r.c.n == len(r.c.ent) {
		r.bad = true
		return
	}
	r.c.ent[r.c.n] = cachedEntry{page: p, off: uint16(gpa & 0xfff), wide: wide, val: val}
	r.c.n++
}

func (r *recorder) ReadPhys32(gpa uint64) (uint32, error) {
	v, err := read32(r.mem, gpa)
	if err == nil {
		r.note(gpa, false, uint64(v))
	}
	return v, err
}

func (r *recorder) ReadPhys64(gpa uint64) (uint64, error) {
	v, err := read64(r.mem, gpa)
	if err == nil {
		r.note(gpa, true, v)
	}
	return v, err
}

func (r *recorder) ReadPhys(gpa uint64, p []byte) error {
	if err := r.mem.ReadPhys(gpa, p); err != nil {
		return err
	}
	if r.c.page != nil {
		r.bad = true // a second page: not cached
		return nil
	}
	pg, ok := r.mem.HostPage(gpa)
	if !ok {
		r.bad = true
		return nil
	}
	r.c.page = pg
	return nil
}

func (r *recorder) WritePhys(gpa uint64, p []byte) error { return r.mem.WritePhys(gpa, p) }
