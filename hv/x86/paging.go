package x86

import (
	"encoding/binary"
	"errors"
	"strconv"
)

// PhysMem reads and writes guest-physical memory. The caller implements it
// over the nested page tables; an access to a guest-physical address that is
// not backed by RAM (MMIO, a hole) should return an error. This package
// never passes a p that crosses a 4 KiB guest-physical page boundary.
// Implementations must not retain p.
type PhysMem interface {
	ReadPhys(gpa uint64, p []byte) error
	WritePhys(gpa uint64, p []byte) error
}

// PhysWordReader is an optional extension of PhysMem. When the PhysMem given
// to Translate (and so to ReadVirt, WriteVirt and FetchInsn) also implements
// it, paging-structure entries are read through it and a successful
// translation allocates nothing. Without it each entry read goes through
// ReadPhys with an 8-byte buffer that escapes to the heap, because the
// compiler cannot see that an interface's ReadPhys does not keep it.
//
// Both methods read a little-endian value at a naturally aligned gpa.
type PhysWordReader interface {
	ReadPhys32(gpa uint64) (uint32, error)
	ReadPhys64(gpa uint64) (uint64, error)
}

// Paging is the guest's paging state.
//
// PhysBits is the guest's MAXPHYADDR (CPUID 8000_0008h EAX[7:0]); physical
// address bits at or above it are reserved in paging-structure entries and a
// set one gives a page fault with the RSVD bit. Zero means 52, the
// architectural maximum, so that only the bits reserved on every CPU are
// checked.
//
// AC is RFLAGS.AC at the time of the access. With CR4.SMAP set, an explicit
// supervisor-mode data access may touch a user page only while AC is set
// (SDM vol. 3 §4.6.1; Linux's stac/clac). A backend that leaves it false
// gets the strict answer.
type Paging struct {
	CR0, CR3, CR4, EFER uint64
	PhysBits            uint8
	AC                  bool
}

// Access describes the kind of access being translated. User means CPL 3
// (the U/S bit of the error code); Fetch is an instruction fetch. Write and
// Fetch should not both be set.
//
// Implicit marks a supervisor-mode access the CPU makes on its own behalf
// (descriptor tables, the TSS, and what Xen's hvm_copy treats the same way,
// PFEC_implicit): SMAP forbids it user pages whatever RFLAGS.AC says. It is
// ignored for user accesses and fetches, which are never implicit.
type Access struct {
	Write, User, Fetch, Implicit bool
}

// Page-fault error-code bits.
const (
	PFPresent = 1 << 0 // P: the page was present (a protection or reserved-bit fault)
	PFWrite   = 1 << 1 // W/R: the access was a write
	PFUser    = 1 << 2 // U/S: the access was a user-mode (CPL 3) access
	PFRsvd    = 1 << 3 // RSVD: a reserved bit was set in a paging-structure entry
	PFFetch   = 1 << 4 // I/D: instruction fetch (reported with NX enabled or SMEP on)
)

// A PageFault is returned when the guest's own tables do not allow the access:
// the caller injects #PF with error code Code, loading Addr into CR2.
type PageFault struct {
	Addr uint64 // faulting linear address
	Code uint32 // architectural error code (PF* bits)
}

func (e *PageFault) Error() string {
	return "x86: guest page fault at " + hex(e.Addr) + " (error code " + hex(uint64(e.Code)) + ")"
}

// ErrNonCanonical is returned by Translate in long mode for an address that
// is not canonical (bits 63:47, or 63:56 with CR4.LA57, not all equal). The
// architectural consequence is #GP(0) (or #SS(0) for a stack access); the
// caller decides which to inject.
var ErrNonCanonical = errors.New("x86: non-canonical address")

// PhysError wraps an error returned by the PhysMem while reading a
// paging-structure entry: the guest's page tables point at memory that the
// caller could not read (a hole or an MMIO range).
type PhysError struct {
	GPA uint64 // address of the entry being read
	Err error
}

func (e *PhysError) Error() string {
	return "x86: reading guest page-table entry at " + hex(e.GPA) + ": " + e.Err.Error()
}

func (e *PhysError) Unwrap() error { return e.Err }

func hex(v uint64) string { return "0x" + strconv.FormatUint(v, 16) }

// Paging-structure entry bits.
const (
	pteP   = 1 << 0
	pteRW  = 1 << 1
	pteUS  = 1 << 2
	ptePS  = 1 << 7
	pteNX  = 1 << 63
	pteAdr = 0x000f_ffff_ffff_f000 // bits 51:12

	// Bits 62:52: ignored under 4-level and 5-level paging, but reserved in
	// every PAE paging-structure entry (SDM vol. 3 tables 4-8 to 4-11).
	pteHigh = 0x7ff0_0000_0000_0000
	// 32-bit paging, a PDE with PS=1 under CR4.PSE: bit 21 is reserved;
	// bits 20:13 are physical-address bits 39:32 (PSE-36).
	pde4MRsvd = 1 << 21
)

func read32(mem PhysMem, gpa uint64) (uint32, error) {
	if r, ok := mem.(PhysWordReader); ok {
		return r.ReadPhys32(gpa)
	}
	return read32Slow(mem, gpa)
}

func read32Slow(mem PhysMem, gpa uint64) (uint32, error) {
	var b [4]byte
	err := mem.ReadPhys(gpa, b[:])
	return binary.LittleEndian.Uint32(b[:]), err
}

func read64(mem PhysMem, gpa uint64) (uint64, error) {
	if r, ok := mem.(PhysWordReader); ok {
		return r.ReadPhys64(gpa)
	}
	return read64Slow(mem, gpa)
}

func read64Slow(mem PhysMem, gpa uint64) (uint64, error) {
	var b [8]byte
	err := mem.ReadPhys(gpa, b[:])
	return binary.LittleEndian.Uint64(b[:]), err
}

// LongMode reports whether the state is IA-32e paging (EFER.LMA=1 with
// paging on): linear addresses are 64 bits and must be canonical. Otherwise
// linear addresses are 32 bits and wrap at 4 GiB.
func (pg Paging) LongMode() bool {
	return pg.CR0&CR0PG != 0 && pg.EFER&EFERLMA != 0
}

// linearNext advances a linear address by n bytes, wrapping at 4 GiB outside
// long mode.
func (pg Paging) linearNext(va, n uint64) uint64 {
	va += n
	if !pg.LongMode() {
		va = uint64(uint32(va))
	}
	return va
}

// Translate walks the guest's page tables and returns the guest-physical
// address of linear address gva for the given access.
//
// Supported: paging off (identity), 32-bit paging (4 KiB pages, and 4 MiB
// pages with CR4.PSE, including PSE-36 address bits 39:32), PAE paging
// (2 MiB pages), 4-level paging (2 MiB and 1 GiB pages) and 5-level paging
// (CR4.LA57). Outside long mode gva is truncated to 32 bits. In long mode a
// non-canonical gva gives ErrNonCanonical.
//
// Reserved bits, checked in every entry walked (SDM vol. 3 §4.3-4.5, APM
// vol. 2 §5.3-5.4): physical-address bits at or above PhysBits; bit 63 (XD)
// without EFER.NXE under PAE and 4/5-level paging; bits 62:52 of every PAE
// entry; PS in a PML5E or PML4E; bits 29:13 of a 1 GiB and 20:13 of a 2 MiB
// page (bit 12 is PAT); bit 21 of a 4 MiB page. 32-bit paging has no other
// reserved bits, and the PS bit of its PDEs means nothing without CR4.PSE.
//
// PAE PDPTEs are the one place where CPUs differ. Intel keeps them in four
// PDPTE registers loaded at MOV to CR3 (a reserved bit 2:1 or 8:5 makes that
// MOV #GP) and never re-reads them during a walk. AMD's nested paging reads
// them from guest memory on every walk (APM vol. 2 §15.25.10) — which is what
// this function models, since it reads memory too — and QEMU's SVM, under
// which hv runs, then sets the accessed bit (bit 5) in them and checks none of
// bits 2:1 and 8:5. Translate re-walks tables the CPU has just walked (to
// fetch the instruction that exited, or a hypercall argument), so it must
// never be stricter than the CPU: in a PDPTE it checks only bits 63:PhysBits
// (XD and 62:52 are reserved there even with EFER.NXE), and accepts A, D and
// anything else in bits 8:1. PDPTEs carry no permissions.
//
// Permissions are combined over all levels (SDM vol. 3 §4.6): present;
// user-accessible for user accesses; writable for user writes, and for
// supervisor writes with CR0.WP=1; no fetch from a page with XD set in any
// entry (EFER.NXE); SMEP (CR4.SMEP) forbids supervisor fetches from user
// pages; SMAP (CR4.SMAP) forbids supervisor data accesses to user pages when
// the access is implicit or RFLAGS.AC (pg.AC) is clear. Protection keys are
// not modelled.
//
// Accessed and dirty bits are accepted wherever they appear and never set:
// the walker only reads the guest's tables. Instruction fetches re-read what
// the CPU already fetched (it set the bits); Xen also sets them for its own
// hypercall copies (guest_walk_tables), which no guest GoZen runs relies on.
//
// A failed check gives a *PageFault with the architectural error code (P for
// protection and reserved-bit faults, W/R, U/S, RSVD, and I/D for fetches when
// NX or SMEP is on); a PhysMem error while reading an entry gives a
// *PhysError.
func Translate(mem PhysMem, pg Paging, gva uint64, acc Access) (gpa uint64, err error) {
	return translate(mem, pg, gva, acc, nil)
}

// leafTable remembers, across the pages of one ReadVirt or WriteVirt in
// long mode, where the last walk reached its table of 4 KiB entries (the
// page-table page of a 2 MiB region) and what the entries above it
// allowed, so that the next page of the same region costs one entry read
// instead of four. It lives for one call, during which the guest does not
// run and cannot change its tables; the entries it skips were checked
// (present, no reserved bits) by the walk that filled it.
//
// A region mapped by one 2 MiB page is remembered whole (big): its next
// page costs no read at all.
type leafTable struct {
	ok         bool
	region     uint64 // gva >> 21
	table      uint64 // guest-physical address of the table of 4 KiB entries
	big        bool   // the region is one 2 MiB page, at base
	base       uint64 // guest-physical address of that page
	rw, us, nx bool   // combined over the levels above (and the 2 MiB entry)
}

func translate(mem PhysMem, pg Paging, gva uint64, acc Access, lt *leafTable) (gpa uint64, err error) {
	if pg.CR0&CR0PG == 0 {
		return uint64(uint32(gva)), nil
	}
	code := uint32(0)
	if acc.Write {
		code |= PFWrite
	}
	if acc.User {
		code |= PFUser
	}
	pae := pg.CR4&CR4PAE != 0 || pg.EFER&EFERLMA != 0
	nxe := pae && pg.EFER&EFERNXE != 0
	if acc.Fetch && (pg.CR4&CR4SMEP != 0 || nxe) {
		code |= PFFetch
	}

	physBits := uint(pg.PhysBits)
	if physBits == 0 || physBits > 52 {
		physBits = 52
	}
	// Bits 51:physBits of an entry are reserved.
	physRsvd := uint64(pteAdr) &^ (uint64(1)<<physBits - 1)

	var (
		rw, us = true, true
		nx     bool
		base   uint64 // guest-physical address of the leaf page
		size   uint64 // size of the leaf page
	)
	switch {
	case !pae:
		// 32-bit paging.
		va := uint64(uint32(gva))
		gva = va
		pdeAddr := pg.CR3&0xffff_f000 | va>>22<<2
		pde, err := read32(mem, pdeAddr)
		if err != nil {
			return 0, &PhysError{pdeAddr, err}
		}
		if pde&pteP == 0 {
			return 0, &PageFault{gva, code}
		}
		rw, us = pde&pteRW != 0, pde&pteUS != 0
		if pde&ptePS != 0 && pg.CR4&CR4PSE != 0 {
			// 4 MiB page.
			pa := uint64(pde&0xffc0_0000) | uint64(pde>>13&0xff)<<32
			if pde&pde4MRsvd != 0 || pa&^(uint64(1)<<physBits-1) != 0 {
				return 0, &PageFault{gva, code | PFPresent | PFRsvd}
			}
			base, size = pa, 1<<22
			break
		}
		pteAddr := uint64(pde&0xffff_f000) | (va>>12&0x3ff)<<2
		pte, err := read32(mem, pteAddr)
		if err != nil {
			return 0, &PhysError{pteAddr, err}
		}
		if pte&pteP == 0 {
			return 0, &PageFault{gva, code}
		}
		rw = rw && pte&pteRW != 0
		us = us && pte&pteUS != 0
		base, size = uint64(pte&0xffff_f000), 1<<12

	default:
		// Reserved in every entry below: bits 51:physBits, and XD without
		// NXE.
		rsvd := physRsvd
		if !nxe {
			rsvd |= pteNX
		}
		var table uint64 // guest-physical address of the next table
		level := 4
		if pg.EFER&EFERLMA == 0 {
			// PAE paging: a 4-entry PDPT at CR3[31:5], read from memory on
			// each walk as AMD's nested paging does (see above).
			va := uint64(uint32(gva))
			gva = va
			rsvd |= pteHigh
			pdpteAddr := pg.CR3&0xffff_ffe0 | va>>30<<3
			pdpte, err := read64(mem, pdpteAddr)
			if err != nil {
				return 0, &PhysError{pdpteAddr, err}
			}
			if pdpte&pteP == 0 {
				return 0, &PageFault{gva, code}
			}
			if pdpte&(physRsvd|pteHigh|pteNX) != 0 {
				return 0, &PageFault{gva, code | PFPresent | PFRsvd}
			}
			table, level = pdpte&pteAdr, 2
		} else {
			width := uint(48)
			if pg.CR4&CR4LA57 != 0 {
				width, level = 57, 5
			}
			if uint64(int64(gva<<(64-width))>>(64-width)) != gva {
				return 0, ErrNonCanonical
			}
			table = pg.CR3 & pteAdr &^ physRsvd
			if lt != nil && lt.ok && lt.region == gva>>21 {
				rw, us, nx = lt.rw, lt.us, lt.nx
				if lt.big {
					base, size = lt.base, 1<<21
					break // walked already: to the permission check
				}
				table, level = lt.table, 1
			}
		}
		for ; ; level-- {
			if level == 1 && lt != nil && pg.EFER&EFERLMA != 0 {
				*lt = leafTable{ok: true, region: gva >> 21, table: table, rw: rw, us: us, nx: nx}
			}
			shift := 12 + 9*uint(level-1)
			addr := table | (gva>>shift&0x1ff)<<3
			e, err := read64(mem, addr)
			if err != nil {
				return 0, &PhysError{addr, err}
			}
			if e&pteP == 0 {
				return 0, &PageFault{gva, code}
			}
			bad := rsvd
			leaf := level == 1
			switch {
			case level >= 4:
				bad |= ptePS
			case level > 1 && e&ptePS != 0:
				// 1 GiB (level 3, bits 29:13 reserved) or 2 MiB (level 2,
				// bits 20:13 reserved) page; bit 12 is PAT.
				leaf = true
				bad |= (uint64(1)<<shift - 1) &^ 0x1fff
			}
			if e&bad != 0 {
				return 0, &PageFault{gva, code | PFPresent | PFRsvd}
			}
			rw = rw && e&pteRW != 0
			us = us && e&pteUS != 0
			nx = nx || (nxe && e&pteNX != 0)
			if leaf {
				size = uint64(1) << shift
				base = e & pteAdr &^ (size - 1)
				if level == 2 && lt != nil && pg.EFER&EFERLMA != 0 {
					*lt = leafTable{ok: true, region: gva >> 21, big: true, base: base, rw: rw, us: us, nx: nx}
				}
				break
			}
			table = e & pteAdr
		}
	}

	// The walk succeeded; check the combined permissions (the order of
	// Xen's guest_walk_tables; every failure has the same error code).
	code |= PFPresent
	if !permitted(pg, acc, rw, us, nx) {
		return 0, &PageFault{gva, code}
	}
	return base | gva&(size-1), nil
}

// permitted applies SDM vol. 3 §4.6 to a translation whose entries give
// writable rw, user-accessible us and execute-disable nx (combined over all
// levels).
func permitted(pg Paging, acc Access, rw, us, nx bool) bool {
	if acc.Fetch && nx {
		return false
	}
	if acc.User {
		return us && (!acc.Write || rw)
	}
	if us {
		switch {
		case acc.Fetch && pg.CR4&CR4SMEP != 0:
			return false
		case !acc.Fetch && pg.CR4&CR4SMAP != 0 && (acc.Implicit || !pg.AC):
			return false
		}
	}
	return !acc.Write || rw || pg.CR0&CR0WP == 0
}

// ReadVirt reads len(p) bytes at linear address gva as a data read at
// supervisor (user=false) or user (CPL 3) privilege, translating page by page;
// outside long mode the address wraps at 4 GiB. On error part of p may have
// been filled.
func ReadVirt(mem PhysMem, pg Paging, gva uint64, p []byte, user bool) error {
	var lt leafTable
	_, err := readVirt(mem, pg, gva, p, Access{User: user}, &lt)
	return err
}

// ReadVirtv is ReadVirt into each of dsts in turn, from consecutive
// linear addresses starting at gva (a readv): one leafTable serves all of
// them, so reading into many separate pages costs a walk per 2 MiB region
// rather than one per page.
func ReadVirtv(mem PhysMem, pg Paging, gva uint64, dsts [][]byte, user bool) error {
	var lt leafTable
	acc := Access{User: user}
	for _, p := range dsts {
		var err error
		if gva, err = readVirt(mem, pg, gva, p, acc, &lt); err != nil {
			return err
		}
	}
	return nil
}

// readVirt reads p at gva with lt's help and returns the linear address
// after it.
func readVirt(mem PhysMem, pg Paging, gva uint64, p []byte, acc Access, lt *leafTable) (uint64, error) {
	for len(p) > 0 {
		gpa, err := translate(mem, pg, gva, acc, lt)
		if err != nil {
			return gva, err
		}
		n := min(uint64(len(p)), 4096-gva&0xfff)
		if err := mem.ReadPhys(gpa, p[:n]); err != nil {
			return gva, err
		}
		p = p[n:]
		gva = pg.linearNext(gva, n)
	}
	return gva, nil
}

// WriteVirt writes p at linear address gva as a data write at supervisor or
// user privilege, translating page by page; outside long mode the address
// wraps at 4 GiB. When p spans several pages all of them are translated
// before anything is written, so that a page fault leaves guest memory
// unchanged (as the CPU does); an error from PhysMem.WritePhys may still
// leave a partial write.
func WriteVirt(mem PhysMem, pg Paging, gva uint64, p []byte, user bool) error {
	acc := Access{Write: true, User: user}
	var lt leafTable
	if uint64(len(p)) > 4096-gva&0xfff {
		va, rest := gva, uint64(len(p))
		for rest > 0 {
			if _, err := translate(mem, pg, va, acc, &lt); err != nil {
				return err
			}
			n := min(rest, 4096-va&0xfff)
			rest -= n
			va = pg.linearNext(va, n)
		}
	}
	lt = leafTable{}
	for len(p) > 0 {
		gpa, err := translate(mem, pg, gva, acc, &lt)
		if err != nil {
			return err
		}
		n := min(uint64(len(p)), 4096-gva&0xfff)
		if err := mem.WritePhys(gpa, p[:n]); err != nil {
			return err
		}
		p = p[n:]
		gva = pg.linearNext(gva, n)
	}
	return nil
}

// FetchInsn reads up to 15 instruction bytes at linear address csBase+rip
// into buf, as instruction fetches at supervisor or user privilege. Outside
// Mode64 the linear address is computed and advanced modulo 4 GiB. Segment
// limits are not checked.
//
// If the first byte cannot be fetched the error is returned (a *PageFault,
// ErrNonCanonical, a *PhysError, or the PhysMem's error). If a later page
// cannot be fetched, FetchInsn stops there and returns the bytes it has with
// a nil error; if decoding then reports ErrTruncated, the instruction really
// does cross into that page and the caller gets the fault to inject by calling
// Translate for linear address csBase+rip+n with Access{Fetch: true, User: user}.
func FetchInsn(mem PhysMem, pg Paging, csBase, rip uint64, mode Mode, user bool, buf *[15]byte) (n int, err error) {
	lin := csBase + rip
	if mode != Mode64 {
		lin = uint64(uint32(lin))
	}
	acc := Access{Fetch: true, User: user}
	for n < len(buf) {
		gpa, err := Translate(mem, pg, lin, acc)
		if err == nil {
			k := min(uint64(len(buf)-n), 4096-lin&0xfff)
			err = mem.ReadPhys(gpa, buf[n:n+int(k)])
			if err == nil {
				n += int(k)
				lin += k
				if mode != Mode64 {
					lin = uint64(uint32(lin))
				}
				continue
			}
		}
		if n > 0 {
			return n, nil
		}
		return 0, err
	}
	return n, nil
}
