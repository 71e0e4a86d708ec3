package x86

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
)

// fakeMem is guest-physical memory made of 4 KiB pages; an address in no page
// is unbacked (like MMIO) and gives errUnbacked.
type fakeMem struct {
	pages map[uint64]*[4096]byte
}

var errUnbacked = errors.New("unbacked guest-physical address")

func newFakeMem() *fakeMem { return &fakeMem{pages: map[uint64]*[4096]byte{}} }

// page returns the page at gpa, creating it.
func (m *fakeMem) page(gpa uint64) *[4096]byte {
	p := m.pages[gpa&^0xfff]
	if p == nil {
		p = new([4096]byte)
		m.pages[gpa&^0xfff] = p
	}
	return p
}

func (m *fakeMem) ReadPhys(gpa uint64, p []byte) error {
	for i := range p {
		pg := m.pages[(gpa+uint64(i))&^0xfff]
		if pg == nil {
			return errUnbacked
		}
		p[i] = pg[(gpa+uint64(i))&0xfff]
	}
	return nil
}

func (m *fakeMem) WritePhys(gpa uint64, p []byte) error {
	for i := range p {
		if m.pages[(gpa+uint64(i))&^0xfff] == nil {
			return errUnbacked
		}
	}
	for i, b := range p {
		m.pages[(gpa+uint64(i))&^0xfff][(gpa+uint64(i))&0xfff] = b
	}
	return nil
}

func (m *fakeMem) set64(gpa, v uint64) { binary.LittleEndian.PutUint64(m.page(gpa)[gpa&0xfff:], v) }
func (m *fakeMem) set32(gpa uint64, v uint32) {
	binary.LittleEndian.PutUint32(m.page(gpa)[gpa&0xfff:], v)
}
func (m *fakeMem) get64(gpa uint64) uint64 {
	return binary.LittleEndian.Uint64(m.page(gpa)[gpa&0xfff:])
}
func (m *fakeMem) get32(gpa uint64) uint32 {
	return binary.LittleEndian.Uint32(m.page(gpa)[gpa&0xfff:])
}

// fastMem adds the PhysWordReader fast path.
type fastMem struct{ *fakeMem }

func (m fastMem) ReadPhys32(gpa uint64) (uint32, error) {
	pg := m.pages[gpa&^0xfff]
	if pg == nil {
		return 0, errUnbacked
	}
	return binary.LittleEndian.Uint32(pg[gpa&0xfff:]), nil
}

func (m fastMem) ReadPhys64(gpa uint64) (uint64, error) {
	pg := m.pages[gpa&^0xfff]
	if pg == nil {
		return 0, errUnbacked
	}
	return binary.LittleEndian.Uint64(pg[gpa&0xfff:]), nil
}

// Entry flags used by the tests.
const (
	fP  = pteP
	fRW = pteRW
	fUS = pteUS
	fPS = ptePS
	fNX = uint64(pteNX)
	all = fP | fRW | fUS
)

// builder allocates page-table pages from a bump pointer.
type builder struct {
	mem  *fakeMem
	next uint64
}

func newBuilder() *builder { return &builder{mem: newFakeMem(), next: 0x100000} }

func (b *builder) alloc() uint64 {
	a := b.next
	b.next += 4096
	b.mem.page(a)
	return a
}

// long maps va → pa in long-mode tables rooted at root with levels levels;
// the leaf is at leafLevel (1: 4 KiB, 2: 2 MiB, 3: 1 GiB). Missing tables get
// tableFlags, the leaf gets leafFlags (plus PS above level 1). It returns the
// addresses of the entries walked, top level first.
func (b *builder) long(root uint64, levels int, va, pa uint64, leafLevel int, tableFlags, leafFlags uint64) []uint64 {
	var walked []uint64
	table := root
	for level := levels; ; level-- {
		shift := 12 + 9*uint(level-1)
		addr := table + (va>>shift&0x1ff)*8
		walked = append(walked, addr)
		if level == leafLevel {
			f := leafFlags
			if level > 1 {
				f |= fPS
			}
			b.mem.set64(addr, pa|f)
			return walked
		}
		e := b.mem.get64(addr)
		if e&fP == 0 {
			e = b.alloc() | tableFlags
			b.mem.set64(addr, e)
		}
		table = e & pteAdr
	}
}

// pae maps va → pa under PAE paging with the PDPT at pdpt; leafLevel 1 or 2.
func (b *builder) pae(pdpt uint64, va, pa uint64, leafLevel int, tableFlags, leafFlags uint64) []uint64 {
	addr := pdpt + (va>>30&3)*8
	e := b.mem.get64(addr)
	if e&fP == 0 {
		e = b.alloc() | fP
		b.mem.set64(addr, e)
	}
	walked := []uint64{addr}
	return append(walked, b.long(e&pteAdr, 2, va, pa, leafLevel, tableFlags, leafFlags)...)
}

// legacy maps va → pa under 32-bit paging with the PD at pd; big for 4 MiB.
func (b *builder) legacy(pd uint64, va uint32, pa uint64, big bool, tableFlags, leafFlags uint32) (pdeAddr, pteAddr uint64) {
	pdeAddr = pd + uint64(va>>22)*4
	if big {
		b.mem.set32(pdeAddr, uint32(pa&0xffc0_0000)|uint32(pa>>32&0xff)<<13|leafFlags|fPS)
		return pdeAddr, 0
	}
	e := b.mem.get32(pdeAddr)
	if e&fP == 0 {
		e = uint32(b.alloc()) | tableFlags
		b.mem.set32(pdeAddr, e)
	}
	pteAddr = uint64(e&0xffff_f000) + uint64(va>>12&0x3ff)*4
	b.mem.set32(pteAddr, uint32(pa)|leafFlags)
	return pdeAddr, pteAddr
}

func pfCode(err error) (uint32, bool) {
	var pf *PageFault
	if errors.As(err, &pf) {
		return pf.Code, true
	}
	return 0, false
}

// check runs Translate with both the slow and the fast PhysMem and compares
// the outcome with the expected gpa or page-fault code (want < 0: success).
func check(t *testing.T, name string, mem *fakeMem, pg Paging, va uint64, acc Access, wantGPA uint64, wantCode int) {
	t.Helper()
	for _, m := range []PhysMem{mem, fastMem{mem}} {
		gpa, err := Translate(m, pg, va, acc)
		if wantCode < 0 {
			if err != nil || gpa != wantGPA {
				t.Errorf("%s: Translate(%#x, %+v) = %#x, %v; want %#x", name, va, acc, gpa, err, wantGPA)
			}
			continue
		}
		code, ok := pfCode(err)
		if !ok || code != uint32(wantCode) {
			t.Errorf("%s: Translate(%#x, %+v) = %#x, %v; want #PF code %#x", name, va, acc, gpa, err, wantCode)
			continue
		}
		var pf *PageFault
		errors.As(err, &pf)
		if !pg.LongMode() {
			va = uint64(uint32(va))
		}
		if pf.Addr != va {
			t.Errorf("%s: fault address %#x, want %#x", name, pf.Addr, va)
		}
	}
}

const ok = -1 // wantCode for success

func TestPagingOff(t *testing.T) {
	mem := newFakeMem()
	pg := Paging{CR0: CR0PE}
	check(t, "identity", mem, pg, 0x1234_5678, Access{Write: true, User: true}, 0x1234_5678, ok)
	check(t, "truncated", mem, pg, 0x7_0000_1000, Access{}, 0x1000, ok)
	check(t, "real", mem, Paging{}, 0x10ffef, Access{Fetch: true}, 0x10ffef, ok)
}

func TestPaging32(t *testing.T) {
	b := newBuilder()
	pd := b.alloc()
	b.legacy(pd, 0x0040_1000, 0x0020_0000, false, all, all)            // user RW
	b.legacy(pd, 0x0040_2000, 0x0020_1000, false, all, uint32(fP|fUS)) // user RO
	b.legacy(pd, 0x0040_3000, 0x0020_2000, false, all, uint32(fP|fRW)) // supervisor RW
	b.legacy(pd, 0x0080_0000, 0x0c00_0000, true, 0, all)               // 4 MiB user RW
	b.legacy(pd, 0x00c0_0000, 0x12_0040_0000, true, 0, uint32(fP|fRW)) // 4 MiB, PSE-36
	bigRsvd, _ := b.legacy(pd, 0x0100_0000, 0x0100_0000, true, 0, all)
	b.mem.set32(bigRsvd, b.mem.get32(bigRsvd)|1<<21)
	b.legacy(pd, 0xffff_f000, 0x0030_0000, false, all, all) // top page
	mem := b.mem

	pg := Paging{CR0: CR0PE | CR0PG | CR0WP, CR3: pd | 0x18, CR4: CR4PSE}
	sup, usr := Access{}, Access{User: true}
	supW, usrW := Access{Write: true}, Access{Write: true, User: true}
	fetch := Access{Fetch: true}

	check(t, "4K", mem, pg, 0x0040_1234, sup, 0x0020_0234, ok)
	check(t, "4K user write", mem, pg, 0x0040_1ffc, usrW, 0x0020_0ffc, ok)
	check(t, "4K high bits ignored", mem, pg, 0xdead_0000_0040_1234, sup, 0x0020_0234, ok)
	check(t, "not present PTE", mem, pg, 0x0040_5000, sup, 0, 0)
	check(t, "not present PDE", mem, pg, 0x0800_0000, usrW, 0, PFWrite|PFUser)
	check(t, "user read RO", mem, pg, 0x0040_2000, usr, 0x0020_1000, ok)
	check(t, "user write RO", mem, pg, 0x0040_2000, usrW, 0, PFPresent|PFWrite|PFUser)
	check(t, "sup write RO, WP=1", mem, pg, 0x0040_2000, supW, 0, PFPresent|PFWrite)
	pgNoWP := pg
	pgNoWP.CR0 &^= CR0WP
	check(t, "sup write RO, WP=0", mem, pgNoWP, 0x0040_2008, supW, 0x0020_1008, ok)
	check(t, "user write RO, WP=0", mem, pgNoWP, 0x0040_2008, usrW, 0, PFPresent|PFWrite|PFUser)
	check(t, "user read supervisor", mem, pg, 0x0040_3000, usr, 0, PFPresent|PFUser)
	check(t, "sup read supervisor", mem, pg, 0x0040_3000, sup, 0x0020_2000, ok)
	check(t, "fetch, no I/D without PAE", mem, pg, 0x0040_3000, Access{Fetch: true, User: true}, 0, PFPresent|PFUser)
	check(t, "4M", mem, pg, 0x00bf_fff0, usrW, 0x0c3f_fff0, ok)
	check(t, "4M PSE-36", mem, pg, 0x00c1_2345, sup, 0x12_0041_2345, ok)
	check(t, "4M PSE-36 beyond PhysBits", mem, Paging{CR0: pg.CR0, CR3: pg.CR3, CR4: pg.CR4, PhysBits: 36}, 0x00c1_2345, sup, 0, PFPresent|PFRsvd)
	check(t, "4M PSE-36 within PhysBits", mem, Paging{CR0: pg.CR0, CR3: pg.CR3, CR4: pg.CR4, PhysBits: 40}, 0x00c1_2345, sup, 0x12_0041_2345, ok)
	check(t, "4M bit 21 reserved", mem, pg, 0x0100_0000, usr, 0, PFPresent|PFRsvd|PFUser)
	check(t, "top page", mem, pg, 0xffff_fffc, sup, 0x0030_0ffc, ok)

	// Without CR4.PSE the PS bit is ignored: the PDE points at a page table
	// (here the 4 MiB frame's first page, which is empty).
	mem.page(0x0c00_0000)
	pgNoPSE := pg
	pgNoPSE.CR4 = 0
	check(t, "PS ignored without PSE", mem, pgNoPSE, 0x0080_0000, sup, 0, 0)
	mem.set32(0x0c00_0000, 0x0055_5000|uint32(all))
	check(t, "PS ignored without PSE, mapped", mem, pgNoPSE, 0x0080_0123, sup, 0x0055_5123, ok)

	// SMEP: supervisor fetch from a user page; I/D is reported.
	pgSMEP := pg
	pgSMEP.CR4 |= CR4SMEP
	check(t, "SMEP", mem, pgSMEP, 0x0040_1000, fetch, 0, PFPresent|PFFetch)
	check(t, "SMEP sup page", mem, pgSMEP, 0x0040_3000, fetch, 0x0020_2000, ok)
	check(t, "SMEP user fetch", mem, pgSMEP, 0x0040_1000, Access{Fetch: true, User: true}, 0x0020_0000, ok)
	check(t, "SMEP not present", mem, pgSMEP, 0x0040_5000, fetch, 0, PFFetch)
	check(t, "SMEP read user page", mem, pgSMEP, 0x0040_1000, sup, 0x0020_0000, ok)

	// The PDE's permissions combine with the PTE's.
	pdeAddr, _ := b.legacy(pd, 0x0040_1000, 0x0020_0000, false, all, all)
	mem.set32(pdeAddr, mem.get32(pdeAddr)&^uint32(fRW))
	check(t, "PDE read-only", mem, pg, 0x0040_1000, usrW, 0, PFPresent|PFWrite|PFUser)
	mem.set32(pdeAddr, mem.get32(pdeAddr)&^uint32(fUS)|uint32(fRW))
	check(t, "PDE supervisor", mem, pg, 0x0040_1000, usr, 0, PFPresent|PFUser)
}

func TestPagingPAE(t *testing.T) {
	b := newBuilder()
	pdpt := b.alloc() + 0x20 // 32-byte aligned, not page aligned
	b.pae(pdpt, 0x0040_1000, 0x0020_0000, 1, all, all)
	b.pae(pdpt, 0x0040_2000, 0x0020_1000, 1, all, all|fNX)
	b.pae(pdpt, 0x8060_0000, 0x0ae0_0000, 2, all, all) // 2 MiB
	w := b.pae(pdpt, 0xc000_0000, 0x0b00_0000, 2, all, all)
	b.mem.set64(w[1], b.mem.get64(w[1])|1<<13) // reserved bit in a 2 MiB PDE
	b.pae(pdpt, 0xffff_f000, 0x0030_0000, 1, all, all)
	mem := b.mem

	pg := Paging{CR0: CR0PE | CR0PG | CR0WP, CR3: pdpt, CR4: CR4PAE, EFER: EFERNXE}
	fetch := Access{Fetch: true}
	check(t, "4K", mem, pg, 0x0040_1abc, Access{Write: true, User: true}, 0x0020_0abc, ok)
	check(t, "2M", mem, pg, 0x807f_ffff, Access{}, 0x0aff_ffff, ok)
	check(t, "2M reserved", mem, pg, 0xc000_0000, Access{}, 0, PFPresent|PFRsvd)
	check(t, "NX fetch", mem, pg, 0x0040_2000, fetch, 0, PFPresent|PFFetch)
	check(t, "NX read", mem, pg, 0x0040_2000, Access{}, 0x0020_1000, ok)
	check(t, "fetch ok", mem, pg, 0x0040_1000, fetch, 0x0020_0000, ok)
	check(t, "not present fetch has I/D", mem, pg, 0x0040_3000, fetch, 0, PFFetch)
	check(t, "PDPTE not present", mem, pg, 0x4000_0000, Access{User: true}, 0, PFUser)
	check(t, "top page", mem, pg, 0xffff_ffff, Access{}, 0x0030_0fff, ok)

	pgNoNXE := pg
	pgNoNXE.EFER = 0
	check(t, "XD reserved without NXE", mem, pgNoNXE, 0x0040_2000, Access{}, 0, PFPresent|PFRsvd)
	check(t, "no I/D without NXE", mem, pgNoNXE, 0x0040_3000, fetch, 0, 0)

	// PDPTE reserved bits: 63:52 (XD even with NXE) and those above
	// PhysBits. Bits 2:1 and 8:5 (Intel's MOV-to-CR3 checks) are accepted:
	// QEMU's SVM sets A (bit 5) itself and checks none of them.
	e := mem.get64(pdpt)
	pg40 := pg
	pg40.PhysBits = 40
	for _, bit := range []uint{63, 62, 52, 40, 51} {
		mem.set64(pdpt, e|1<<bit)
		check(t, fmt.Sprintf("PDPTE bit %d", bit), mem, pg40, 0x0040_1000, Access{}, 0, PFPresent|PFRsvd)
	}
	for _, bit := range []uint{1, 2, 5, 6, 7, 8} {
		mem.set64(pdpt, e|1<<bit)
		check(t, fmt.Sprintf("PDPTE bit %d", bit), mem, pg40, 0x0040_1000, Access{}, 0x0020_0000, ok)
	}
	// With the default PhysBits (52) bit 45 is an address bit: the walk goes
	// on to an unbacked page directory.
	mem.set64(pdpt, e|1<<45)
	var pe *PhysError
	if _, err := Translate(mem, pg, 0x0040_1000, Access{}); !errors.As(err, &pe) || pe.GPA != e&pteAdr|1<<45|0x10 {
		t.Errorf("PDPTE bit 45, PhysBits 52: %v", err)
	}
	mem.set64(pdpt, e|0x18|0xe00) // PWT, PCD and ignored bits are fine
	check(t, "PDPTE PWT PCD", mem, pg, 0x0040_1000, Access{}, 0x0020_0000, ok)
	mem.set64(pdpt, e)

	// PDPTEs carry no permissions: RW/US come from the PDE and PTE only.
	check(t, "user write", mem, pg, 0x0040_1000, Access{User: true, Write: true}, 0x0020_0000, ok)
}

func TestPagingLong(t *testing.T) {
	b := newBuilder()
	pml4 := b.alloc()
	b.long(pml4, 4, 0x0000_7fff_ffff_f000, 0x0020_0000, 1, all, all)
	b.long(pml4, 4, 0xffff_8000_0000_0000, 0x0040_0000, 2, all, all|fNX)  // 2 MiB
	b.long(pml4, 4, 0xffff_ffff_8000_0000, 0x0_c000_0000, 3, all, fP|fRW) // 1 GiB supervisor
	w1g := b.long(pml4, 4, 0x0000_0040_0000_0000, 0x1_0000_0000, 3, all, all)
	b.long(pml4, 4, 0x0000_0000_0000_0000, 0x0030_0000, 1, all, all)
	b.long(pml4, 4, 0x0000_0000_0000_1000, 0x0031_0000, 1, all, all)
	wPML4 := b.long(pml4, 4, 0x0000_0080_0000_0000, 0x0032_0000, 1, all, all)
	mem := b.mem
	pg := Paging{CR0: CR0PE | CR0PG | CR0WP, CR3: pml4 | 0x18, CR4: CR4PAE, EFER: EFERLME | EFERLMA | EFERNXE}

	check(t, "4K top of lower half", mem, pg, 0x0000_7fff_ffff_fabc, Access{User: true, Write: true}, 0x0020_0abc, ok)
	check(t, "2M", mem, pg, 0xffff_8000_001f_ffff, Access{Write: true}, 0x005f_ffff, ok)
	check(t, "2M NX fetch", mem, pg, 0xffff_8000_0000_0000, Access{Fetch: true}, 0, PFPresent|PFFetch)
	check(t, "1G", mem, pg, 0xffff_ffff_bfff_fff0, Access{Write: true}, 0x0_ffff_fff0, ok)
	check(t, "1G user", mem, pg, 0xffff_ffff_8000_0000, Access{User: true}, 0, PFPresent|PFUser)
	check(t, "1G fetch", mem, pg, 0xffff_ffff_8000_0000, Access{Fetch: true}, 0x0_c000_0000, ok)
	check(t, "1G high", mem, pg, 0x0000_0040_3fff_ffff, Access{}, 0x1_3fff_ffff, ok)
	check(t, "not present", mem, pg, 0x0000_0000_0000_2000, Access{Write: true, User: true, Fetch: false}, 0, PFWrite|PFUser)
	check(t, "not present PML4E", mem, pg, 0x0000_1000_0000_0000, Access{Fetch: true, User: true}, 0, PFUser|PFFetch)
	check(t, "4K", mem, pg, 0x0000_0000_0000_1fff, Access{User: true}, 0x0031_0fff, ok)

	// Non-canonical addresses.
	for _, va := range []uint64{0x0000_8000_0000_0000, 0xffff_7fff_ffff_ffff, 0x8000_0000_0000_0000, 0x0100_0000_0000_0000} {
		if _, err := Translate(mem, pg, va, Access{}); err != ErrNonCanonical {
			t.Errorf("Translate(%#x) = %v, want ErrNonCanonical", va, err)
		}
	}

	// Reserved bits.
	e1g := mem.get64(w1g[1])
	mem.set64(w1g[1], e1g|1<<13)
	check(t, "1G bit 13", mem, pg, 0x0000_0040_0000_0000, Access{}, 0, PFPresent|PFRsvd)
	mem.set64(w1g[1], e1g|1<<29)
	check(t, "1G bit 29", mem, pg, 0x0000_0040_0000_0000, Access{User: true}, 0, PFPresent|PFRsvd|PFUser)
	mem.set64(w1g[1], e1g|1<<12) // PAT
	check(t, "1G PAT", mem, pg, 0x0000_0040_0000_0000, Access{}, 0x1_0000_0000, ok)
	mem.set64(w1g[1], e1g|0x7ff0_0000_0000_0000) // ignored / protection-key bits
	check(t, "1G ignored bits", mem, pg, 0x0000_0040_0000_0000, Access{}, 0x1_0000_0000, ok)
	mem.set64(w1g[1], e1g)

	p4 := mem.get64(wPML4[0])
	mem.set64(wPML4[0], p4|fPS)
	check(t, "PML4E PS", mem, pg, 0x0000_0080_0000_0000, Access{}, 0, PFPresent|PFRsvd)
	mem.set64(wPML4[0], p4|1<<51)
	pg48 := pg
	pg48.PhysBits = 48
	check(t, "PML4E bit 51", mem, pg48, 0x0000_0080_0000_0000, Access{Write: true}, 0, PFPresent|PFRsvd|PFWrite)
	mem.set64(wPML4[0], p4|fNX)
	pgNoNXE := pg
	pgNoNXE.EFER &^= EFERNXE
	check(t, "PML4E XD without NXE", mem, pgNoNXE, 0x0000_0080_0000_0000, Access{}, 0, PFPresent|PFRsvd)
	check(t, "PML4E XD read", mem, pg, 0x0000_0080_0000_0000, Access{}, 0x0032_0000, ok)
	check(t, "PML4E XD fetch", mem, pg, 0x0000_0080_0000_0000, Access{Fetch: true}, 0, PFPresent|PFFetch)
	mem.set64(wPML4[0], p4&^fUS)
	check(t, "PML4E supervisor", mem, pg, 0x0000_0080_0000_0000, Access{User: true}, 0, PFPresent|PFUser)
	mem.set64(wPML4[0], p4&^fRW)
	check(t, "PML4E read-only, user", mem, pg, 0x0000_0080_0000_0000, Access{User: true, Write: true}, 0, PFPresent|PFWrite|PFUser)
	check(t, "PML4E read-only, sup", mem, pg, 0x0000_0080_0000_0000, Access{Write: true}, 0, PFPresent|PFWrite)
	pgNoWP := pg
	pgNoWP.CR0 &^= CR0WP
	check(t, "PML4E read-only, sup, WP=0", mem, pgNoWP, 0x0000_0080_0000_0000, Access{Write: true}, 0x0032_0000, ok)
	mem.set64(wPML4[0], p4)

	pte := mem.get64(wPML4[3])
	mem.set64(wPML4[3], pte|1<<40)
	pg39 := pg
	pg39.PhysBits = 39
	check(t, "PTE above PhysBits", mem, pg39, 0x0000_0080_0000_0000, Access{}, 0, PFPresent|PFRsvd)
	mem.set64(wPML4[3], pte|fPS) // PAT bit in a PTE
	check(t, "PTE PAT", mem, pg, 0x0000_0080_0000_0000, Access{}, 0x0032_0000, ok)
	mem.set64(wPML4[3], pte)

	// SMEP in long mode.
	pgSMEP := pg
	pgSMEP.CR4 |= CR4SMEP
	check(t, "SMEP", mem, pgSMEP, 0x0000_0000_0000_0000, Access{Fetch: true}, 0, PFPresent|PFFetch)

	// Unbacked page-table memory.
	mem.set64(wPML4[2], 0xdead_0000|all)
	_, err := Translate(mem, pg, 0x0000_0080_0000_0000, Access{})
	var pe *PhysError
	if !errors.As(err, &pe) || pe.GPA != 0xdead_0000 || !errors.Is(err, errUnbacked) {
		t.Errorf("unbacked table: %v", err)
	}
}

func TestPaging5Level(t *testing.T) {
	b := newBuilder()
	pml5 := b.alloc()
	b.long(pml5, 5, 0x00ff_ffff_ffff_f000, 0x0020_0000, 1, all, all)
	b.long(pml5, 5, 0xff00_0000_0000_0000, 0x4000_0000, 3, all, all)
	w := b.long(pml5, 5, 0x0001_0000_0000_0000, 0x0030_0000, 1, all, all)
	mem := b.mem
	pg := Paging{CR0: CR0PE | CR0PG, CR3: pml5, CR4: CR4PAE | CR4LA57, EFER: EFERLME | EFERLMA}
	check(t, "top of lower half", mem, pg, 0x00ff_ffff_ffff_f123, Access{}, 0x0020_0123, ok)
	check(t, "bottom of upper half", mem, pg, 0xff00_0000_1234_5678, Access{}, 0x5234_5678, ok)
	check(t, "48-bit non-canonical is fine", mem, pg, 0x0001_0000_0000_0010, Access{}, 0x0030_0010, ok)
	for _, va := range []uint64{0x0100_0000_0000_0000, 0xfeff_ffff_ffff_ffff} {
		if _, err := Translate(mem, pg, va, Access{}); err != ErrNonCanonical {
			t.Errorf("Translate(%#x) = %v, want ErrNonCanonical", va, err)
		}
	}
	mem.set64(w[0], mem.get64(w[0])|fPS)
	check(t, "PML5E PS", mem, pg, 0x0001_0000_0000_0010, Access{}, 0, PFPresent|PFRsvd)
	// Without LA57, the same state is 4-level: the PML5 is read as a PML4.
	pg4 := pg
	pg4.CR4 &^= CR4LA57
	if _, err := Translate(mem, pg4, 0x00ff_ffff_ffff_f000, Access{}); err != ErrNonCanonical {
		t.Errorf("4-level: %v", err)
	}
}

// TestVirtWrap32 checks that linear addresses wrap at 4 GiB outside long
// mode.
func TestVirtWrap32(t *testing.T) {
	for _, mode := range []string{"32-bit", "PAE", "off"} {
		b := newBuilder()
		var pg Paging
		switch mode {
		case "32-bit":
			pd := b.alloc()
			b.legacy(pd, 0xffff_f000, 0x0030_0000, false, all, all)
			b.legacy(pd, 0x0000_0000, 0x0031_0000, false, all, all)
			pg = Paging{CR0: CR0PE | CR0PG, CR3: pd}
		case "PAE":
			pdpt := b.alloc()
			b.pae(pdpt, 0xffff_f000, 0x0030_0000, 1, all, all)
			b.pae(pdpt, 0x0000_0000, 0x0031_0000, 1, all, all)
			pg = Paging{CR0: CR0PE | CR0PG, CR3: pdpt, CR4: CR4PAE}
		case "off":
			b.mem.page(0xffff_f000)
			b.mem.page(0)
			pg = Paging{CR0: CR0PE}
		}
		mem := b.mem
		top, zero := mem.page(0x0030_0000), mem.page(0x0031_0000)
		if mode == "off" {
			top, zero = mem.page(0xffff_f000), mem.page(0)
		}
		top[0xffe], top[0xfff], zero[0], zero[1] = 1, 2, 3, 4
		got := make([]byte, 4)
		if err := ReadVirt(mem, pg, 0xffff_fffe, got, false); err != nil || !bytes.Equal(got, []byte{1, 2, 3, 4}) {
			t.Errorf("%s: ReadVirt across 4 GiB = % x, %v", mode, got, err)
		}
		if err := WriteVirt(fastMem{mem}, pg, 0xffff_ffff, []byte{9, 8, 7}, true); err != nil {
			t.Errorf("%s: WriteVirt: %v", mode, err)
		}
		if top[0xfff] != 9 || zero[0] != 8 || zero[1] != 7 {
			t.Errorf("%s: WriteVirt across 4 GiB wrote % x / % x", mode, top[0xffc:], zero[:4])
		}
		var buf [15]byte
		copy(zero[:], []byte{0x0f, 0x01, 0xd9})
		top[0xfff] = 0x66
		n, err := FetchInsn(mem, pg, 0xffff_0000, 0xffff, Mode32, false, &buf)
		if err != nil || n != 15 || !bytes.Equal(buf[:4], []byte{0x66, 0x0f, 0x01, 0xd9}) {
			t.Errorf("%s: FetchInsn across 4 GiB = %d, %v, % x", mode, n, err, buf)
		}
	}
}

func TestReadWriteVirt(t *testing.T) {
	b := newBuilder()
	pml4 := b.alloc()
	b.long(pml4, 4, 0x1000, 0x0050_0000, 1, all, all)
	b.long(pml4, 4, 0x2000, 0x0060_0000, 1, all, all)
	b.long(pml4, 4, 0x3000, 0x0070_0000, 1, all, fP|fUS) // read-only
	b.long(pml4, 4, 0x4000, 0x0080_0000, 1, all, fP|fRW) // supervisor
	b.long(pml4, 4, 0x0000_7fff_ffff_f000, 0x0090_0000, 1, all, all)
	mem := b.mem
	for _, a := range []uint64{0x0050_0000, 0x0060_0000, 0x0070_0000, 0x0080_0000, 0x0090_0000} {
		mem.page(a)
	}
	pg := Paging{CR0: CR0PE | CR0PG | CR0WP, CR3: pml4, CR4: CR4PAE, EFER: EFERLMA}

	data := make([]byte, 0x1800)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if err := WriteVirt(mem, pg, 0x1400, data, true); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(data))
	if err := ReadVirt(fastMem{mem}, pg, 0x1400, got, true); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadVirt after WriteVirt: %v", err)
	}
	if p := mem.page(0x0060_0000); p[0xbff] != data[0x17ff] {
		t.Errorf("second page not written at its frame")
	}

	// A write crossing into a read-only page faults and writes nothing.
	before := *mem.page(0x0060_0000)
	err := WriteVirt(mem, pg, 0x2ffe, []byte{1, 2, 3, 4}, false)
	if code, ok := pfCode(err); !ok || code != PFPresent|PFWrite {
		t.Errorf("WriteVirt into RO page: %v", err)
	}
	var pf *PageFault
	if errors.As(err, &pf) && pf.Addr != 0x3000 {
		t.Errorf("fault address %#x, want 0x3000", pf.Addr)
	}
	if *mem.page(0x0060_0000) != before {
		t.Errorf("WriteVirt wrote the first page before faulting")
	}
	// User read of a supervisor page faults at the page's address.
	err = ReadVirt(mem, pg, 0x3ff0, make([]byte, 32), true)
	if errors.As(err, &pf); pf == nil || pf.Addr != 0x4000 || pf.Code != PFPresent|PFUser {
		t.Errorf("ReadVirt into supervisor page: %v", err)
	}
	// Running off the canonical lower half.
	err = ReadVirt(mem, pg, 0x0000_7fff_ffff_fff0, make([]byte, 32), false)
	if err != ErrNonCanonical {
		t.Errorf("ReadVirt off the lower half: %v", err)
	}
	// A PhysMem error on the data page is passed through.
	b.long(pml4, 4, 0x5000, 0x00a0_0000, 1, all, all)
	if err := ReadVirt(mem, pg, 0x5000, make([]byte, 1), false); err != errUnbacked {
		t.Errorf("ReadVirt of unbacked page: %v", err)
	}
	if err := ReadVirt(mem, pg, 0x5000, nil, false); err != nil {
		t.Errorf("empty ReadVirt: %v", err)
	}
}

func TestFetchInsn(t *testing.T) {
	b := newBuilder()
	pml4 := b.alloc()
	b.long(pml4, 4, 0x1000, 0x0050_0000, 1, all, all)
	w2 := b.long(pml4, 4, 0x2000, 0x0060_0000, 1, all, all)
	b.long(pml4, 4, 0x0000_7fff_ffff_f000, 0x0070_0000, 1, all, all)
	mem := b.mem
	p1, p2, p3 := mem.page(0x0050_0000), mem.page(0x0060_0000), mem.page(0x0070_0000)
	for i := range 4096 {
		p1[i], p2[i], p3[i] = byte(i), byte(i)+0x80, byte(i)
	}
	pg := Paging{CR0: CR0PE | CR0PG | CR0WP, CR3: pml4, CR4: CR4PAE, EFER: EFERLMA}
	var buf [15]byte

	n, err := FetchInsn(mem, pg, 0, 0x1100, Mode64, false, &buf)
	if err != nil || n != 15 || buf[0] != 0x00 || buf[14] != 0x0e {
		t.Errorf("FetchInsn in page: %d, %v, % x", n, err, buf)
	}
	// Crossing into the next page.
	n, err = FetchInsn(fastMem{mem}, pg, 0x1000, 0xff8, Mode64, true, &buf)
	if err != nil || n != 15 || buf[7] != 0xff || buf[8] != 0x80 {
		t.Errorf("FetchInsn across pages: %d, %v, % x", n, err, buf)
	}
	// The second page is not executable: stop early, no error.
	mem.set64(w2[3], mem.get64(w2[3])|fNX)
	pgNX := pg
	pgNX.EFER |= EFERNXE
	buf = [15]byte{}
	n, err = FetchInsn(mem, pgNX, 0, 0x1ffa, Mode64, false, &buf)
	if err != nil || n != 6 || buf[5] != 0xff || buf[6] != 0 {
		t.Errorf("FetchInsn stopping at NX page: %d, %v, % x", n, err, buf)
	}
	// The first byte faults: the error is returned.
	_, err = FetchInsn(mem, pgNX, 0x2000, 0, Mode64, false, &buf)
	if code, ok := pfCode(err); !ok || code != PFPresent|PFFetch {
		t.Errorf("FetchInsn on NX page: %v", err)
	}
	_, err = FetchInsn(mem, pg, 0, 0x9000, Mode64, true, &buf)
	if code, ok := pfCode(err); !ok || code != PFUser {
		t.Errorf("FetchInsn on unmapped page: %v", err)
	}
	// Stopping at the end of the canonical lower half.
	n, err = FetchInsn(mem, pg, 0, 0x0000_7fff_ffff_fffd, Mode64, false, &buf)
	if err != nil || n != 3 {
		t.Errorf("FetchInsn at the canonical edge: %d, %v", n, err)
	}
	_, err = FetchInsn(mem, pg, 0, 0x0000_8000_0000_0000, Mode64, false, &buf)
	if err != ErrNonCanonical {
		t.Errorf("FetchInsn non-canonical: %v", err)
	}
	// In Mode32 (compatibility mode), csBase+rip is a 32-bit linear address.
	n, err = FetchInsn(mem, pg, 0xffff_f000, 0x2100, Mode32, false, &buf)
	if err != nil || n != 15 || buf[0] != 0x00 {
		t.Errorf("FetchInsn in compatibility mode: %d, %v, % x", n, err, buf)
	}
	// Unbacked data page: the PhysMem error, or an early stop.
	b.long(pml4, 4, 0x3000, 0x00a0_0000, 1, all, all)
	if _, err := FetchInsn(mem, pg, 0, 0x3000, Mode64, false, &buf); err != errUnbacked {
		t.Errorf("FetchInsn of unbacked page: %v", err)
	}
	b.long(pml4, 4, 0x2000, 0x0060_0000, 1, all, all)
	if n, err := FetchInsn(mem, pg, 0, 0x2ffe, Mode64, false, &buf); err != nil || n != 2 {
		t.Errorf("FetchInsn into unbacked page: %d, %v", n, err)
	}
	// Real mode: linear = CS base + IP, paging off.
	real := Paging{}
	mem.page(0xf_f000)[0xff0] = 0xea
	if n, err := FetchInsn(mem, real, 0xf_0000, 0xfff0, Mode16, false, &buf); err != nil || n != 15 || buf[0] != 0xea {
		t.Errorf("FetchInsn in real mode: %d, %v", n, err)
	}
}

func TestPageFaultError(t *testing.T) {
	err := error(&PageFault{Addr: 0xdead_b000, Code: PFPresent | PFWrite})
	if got, want := err.Error(), "x86: guest page fault at 0xdeadb000 (error code 0x3)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	pe := &PhysError{GPA: 0x1000, Err: errUnbacked}
	if got := pe.Error(); got != "x86: reading guest page-table entry at 0x1000: unbacked guest-physical address" {
		t.Errorf("PhysError = %q", got)
	}
}

func TestModeOf(t *testing.T) {
	tests := []struct {
		cr0, efer uint64
		l, db     bool
		want      Mode
	}{
		{0, 0, false, false, Mode16},
		{0, 0, false, true, Mode16}, // real mode ignores CS.D
		{CR0PE, 0, false, false, Mode16},
		{CR0PE, 0, false, true, Mode32},
		{CR0PE, 0, true, false, Mode16}, // L without LMA is ignored
		{CR0PE | CR0PG, EFERLME | EFERLMA, true, false, Mode64},
		{CR0PE | CR0PG, EFERLME | EFERLMA, true, true, Mode64},
		{CR0PE | CR0PG, EFERLME | EFERLMA, false, true, Mode32},
		{CR0PE | CR0PG, EFERLME | EFERLMA, false, false, Mode16},
		{CR0PE, EFERLME, true, true, Mode32}, // LME without LMA
	}
	for _, tt := range tests {
		if got := ModeOf(tt.cr0, tt.efer, tt.l, tt.db); got != tt.want {
			t.Errorf("ModeOf(%#x, %#x, %v, %v) = %v, want %v", tt.cr0, tt.efer, tt.l, tt.db, got, tt.want)
		}
	}
	if Mode64.String() != "64-bit" || Mode(3).String() != "Mode(3)" {
		t.Errorf("Mode.String: %v %v", Mode64, Mode(3))
	}
}

func TestTranslateAllocs(t *testing.T) {
	b := newBuilder()
	pml4 := b.alloc()
	b.long(pml4, 4, 0x1000, 0x0050_0000, 1, all, all)
	b.long(pml4, 4, 0x2000, 0x0060_0000, 1, all, all)
	b.mem.page(0x0050_0000)
	b.mem.page(0x0060_0000)
	pg := Paging{CR0: CR0PE | CR0PG, CR3: pml4, CR4: CR4PAE, EFER: EFERLMA | EFERNXE}
	mem := fastMem{b.mem}
	var pm PhysMem = mem
	p := make([]byte, 64)
	var buf [15]byte
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := Translate(pm, pg, 0x1234, Access{Write: true}); err != nil {
			t.Fatal(err)
		}
		if err := ReadVirt(pm, pg, 0x1fe0, p, false); err != nil {
			t.Fatal(err)
		}
		if err := WriteVirt(pm, pg, 0x1fe0, p, false); err != nil {
			t.Fatal(err)
		}
		if _, err := FetchInsn(pm, pg, 0, 0x1ff8, Mode64, false, &buf); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Translate/ReadVirt/WriteVirt/FetchInsn allocate %v times per run", allocs)
	}
}

// The leaf-table cache of a multi-page walk gives, page after page, what a
// full walk of each page gives: across 2 MiB regions, between 4 KiB and
// 2 MiB mappings, with permissions from the upper levels (a read-only or
// supervisor PDE) or from a 2 MiB entry, and faults in the middle of a
// region.
func TestLeafTableCacheMatchesFullWalks(t *testing.T) {
	b := newBuilder()
	pml4 := b.alloc()
	const base = 0x0000_0040_0000_0000
	for i := uint64(0); i < 3*512; i++ { // three 2 MiB regions of 4 KiB pages
		va := base + i*0x1000
		switch {
		case i%97 == 13: // holes
			continue
		case i >= 512 && i < 1024: // the second region under a read-only, supervisor PDE
			b.long(pml4, 4, va, 0x1000_0000+i*0x1000, 1, fP, all)
		default:
			b.long(pml4, 4, va, 0x1000_0000+i*0x1000, 1, all, all)
		}
	}
	b.long(pml4, 4, base+3*0x20_0000, 0x2000_0000, 2, all, all) // then a 2 MiB page
	b.long(pml4, 4, base+4*0x20_0000, 0x3000_0000, 1, all, all|fNX)
	// 2 MiB pages, remembered whole: read-only supervisor, no-execute,
	// then one under a read-only table entry, then a 4 KiB page again.
	b.long(pml4, 4, base+5*0x20_0000, 0x4000_0000, 2, all, fP)
	b.long(pml4, 4, base+6*0x20_0000, 0x4020_0000, 2, all, all|fNX)
	b.long(pml4, 4, base+0x4000_0000, 0x4040_0000, 2, fP, all)
	b.long(pml4, 4, base+0x4000_0000+0x20_0000, 0x5000_0000, 1, all, all)
	pg := Paging{CR0: CR0PE | CR0PG | CR0WP, CR3: pml4, CR4: CR4PAE, EFER: EFERLME | EFERLMA | EFERNXE}
	ranges := [][2]uint64{{base, base + 8*0x20_0000}, {base + 0x4000_0000, base + 0x4000_0000 + 2*0x20_0000}}
	for _, acc := range []Access{{}, {Write: true}, {User: true}, {User: true, Write: true}, {Fetch: true}} {
		var lt leafTable
		for va := ranges[0][0]; va < ranges[1][1]; va += 0x1000 {
			if va == ranges[0][1] {
				va = ranges[1][0]
			}
			want, werr := Translate(b.mem, pg, va, acc)
			got, gerr := translate(b.mem, pg, va, acc, &lt)
			if got != want || fmt.Sprint(gerr) != fmt.Sprint(werr) {
				t.Fatalf("%+v at %#x: cached walk %#x, %v; full walk %#x, %v", acc, va, got, gerr, want, werr)
			}
		}
	}
}

// BenchmarkWalk4MiB translates the 1024 pages of a 4 MiB copy, as a
// toolstack's gdbsx_guestmemio load of a kernel makes hv do
// (hypercall.guestMemIO through ReadVirt): each page walked in full, and
// with the leaf-table cache ReadVirt and WriteVirt keep.
func BenchmarkWalk4MiB(b *testing.B) {
	bl := newBuilder()
	pml4 := bl.alloc()
	const base, n = 0x0000_7f00_0000_0000, 1024
	for i := uint64(0); i < n; i++ {
		bl.long(pml4, 4, base+i*0x1000, 0x1000_0000+i*0x1000, 1, all, all)
	}
	pg := Paging{CR0: CR0PE | CR0PG | CR0WP, CR3: pml4, CR4: CR4PAE, EFER: EFERLME | EFERLMA | EFERNXE}
	mem := fastMem{bl.mem}
	for _, cached := range []bool{false, true} {
		b.Run(map[bool]string{false: "full", true: "cached"}[cached], func(b *testing.B) {
			for b.Loop() {
				var lt leafTable
				for i := uint64(0); i < n; i++ {
					var err error
					if cached {
						_, err = translate(mem, pg, base+i*0x1000, Access{}, &lt)
					} else {
						_, err = Translate(mem, pg, base+i*0x1000, Access{})
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// ReadVirtv fills its buffers in turn from consecutive addresses, as
// ReadVirt of their concatenation, and stops at the first fault with the
// fault's address.
func TestReadVirtv(t *testing.T) {
	b := newBuilder()
	pml4 := b.alloc()
	for i := uint64(0); i < 3; i++ {
		b.long(pml4, 4, 0x1000+i*0x1000, 0x0050_0000+i*0x1000, 1, all, all)
		p := b.mem.page(0x0050_0000 + i*0x1000)
		for j := range p {
			p[j] = byte(i*31 + uint64(j)*7)
		}
	}
	pg := Paging{CR0: CR0PE | CR0PG | CR0WP, CR3: pml4, CR4: CR4PAE, EFER: EFERLMA}
	want := make([]byte, 0x2c00)
	if err := ReadVirt(fastMem{b.mem}, pg, 0x1200, want, false); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(want))
	dsts := [][]byte{got[:100], got[100:100], got[100:0x1100], got[0x1100:0x2000], got[0x2000:]}
	if err := ReadVirtv(fastMem{b.mem}, pg, 0x1200, dsts, false); err != nil || !bytes.Equal(got, want) {
		t.Fatalf("ReadVirtv: %v, equal %v", err, bytes.Equal(got, want))
	}
	// The fourth page is not mapped: the fault names its address.
	err := ReadVirtv(fastMem{b.mem}, pg, 0x1200, [][]byte{make([]byte, 0x1000), make([]byte, 0x2000)}, false)
	var pf *PageFault
	if !errors.As(err, &pf) || pf.Addr != 0x4000 {
		t.Fatalf("ReadVirtv into an unmapped page: %v, want a fault at 0x4000", err)
	}
}
