package x86

import (
	"fmt"
	"testing"
)

// The paging-rule tables below check Translate mode by mode against the
// reserved-bit and permission rules of SDM vol. 3 §4.3-4.6 and APM vol. 2
// §5.3-5.6 (PAE PDPTEs as AMD's nested paging and QEMU walk them: see
// Translate). Each mode maps one linear address; a case sets one bit in one
// of the entries walked, or builds the leaf with given flags, and names the
// outcome.

// ruleVA is mapped in every mode: below 4 GiB, PDPT index 1 under PAE.
const ruleVA = 0x40a0_3123

type walkMode struct {
	name string
	pg   Paging // CR3 is filled in by build
	wide bool   // 64-bit entries (XD exists)
	size uint64 // leaf page size
	pa   uint64 // leaf frame
	// build maps ruleVA → pa with leaf flags leaf and all-permissive upper
	// levels; it returns CR3 and the entries walked, top level first.
	build func(b *builder, pa, leaf uint64) (cr3 uint64, entries []uint64)
}

var walkModes = []walkMode{
	{name: "32-bit 4K", pg: Paging{CR0: CR0PE | CR0PG | CR0WP}, size: 1 << 12, pa: 0x0123_4000,
		build: func(b *builder, pa, leaf uint64) (uint64, []uint64) {
			pd := b.alloc()
			pde, pte := b.legacy(pd, ruleVA, pa, false, uint32(all), uint32(leaf))
			return pd, []uint64{pde, pte}
		}},
	{name: "32-bit 4M", pg: Paging{CR0: CR0PE | CR0PG | CR0WP, CR4: CR4PSE}, size: 1 << 22, pa: 0x0c00_0000,
		build: func(b *builder, pa, leaf uint64) (uint64, []uint64) {
			pd := b.alloc()
			pde, _ := b.legacy(pd, ruleVA, pa, true, 0, uint32(leaf))
			return pd, []uint64{pde}
		}},
	{name: "PAE 4K", pg: Paging{CR0: CR0PE | CR0PG | CR0WP, CR4: CR4PAE, EFER: EFERNXE}, wide: true, size: 1 << 12, pa: 0x0123_4000,
		build: func(b *builder, pa, leaf uint64) (uint64, []uint64) {
			pdpt := b.alloc()
			return pdpt, b.pae(pdpt, ruleVA, pa, 1, all, leaf)
		}},
	{name: "PAE 2M", pg: Paging{CR0: CR0PE | CR0PG | CR0WP, CR4: CR4PAE, EFER: EFERNXE}, wide: true, size: 1 << 21, pa: 0x0ae0_0000,
		build: func(b *builder, pa, leaf uint64) (uint64, []uint64) {
			pdpt := b.alloc()
			return pdpt, b.pae(pdpt, ruleVA, pa, 2, all, leaf)
		}},
	{name: "4-level 4K", pg: Paging{CR0: CR0PE | CR0PG | CR0WP, CR4: CR4PAE, EFER: EFERLME | EFERLMA | EFERNXE}, wide: true, size: 1 << 12, pa: 0x0123_4000,
		build: func(b *builder, pa, leaf uint64) (uint64, []uint64) {
			root := b.alloc()
			return root, b.long(root, 4, ruleVA, pa, 1, all, leaf)
		}},
	{name: "4-level 2M", pg: Paging{CR0: CR0PE | CR0PG | CR0WP, CR4: CR4PAE, EFER: EFERLME | EFERLMA | EFERNXE}, wide: true, size: 1 << 21, pa: 0x0ae0_0000,
		build: func(b *builder, pa, leaf uint64) (uint64, []uint64) {
			root := b.alloc()
			return root, b.long(root, 4, ruleVA, pa, 2, all, leaf)
		}},
	{name: "4-level 1G", pg: Paging{CR0: CR0PE | CR0PG | CR0WP, CR4: CR4PAE, EFER: EFERLME | EFERLMA | EFERNXE}, wide: true, size: 1 << 30, pa: 0x1_8000_0000,
		build: func(b *builder, pa, leaf uint64) (uint64, []uint64) {
			root := b.alloc()
			return root, b.long(root, 4, ruleVA, pa, 3, all, leaf)
		}},
	{name: "5-level 4K", pg: Paging{CR0: CR0PE | CR0PG | CR0WP, CR4: CR4PAE | CR4LA57, EFER: EFERLME | EFERLMA | EFERNXE}, wide: true, size: 1 << 12, pa: 0x0123_4000,
		build: func(b *builder, pa, leaf uint64) (uint64, []uint64) {
			root := b.alloc()
			return root, b.long(root, 5, ruleVA, pa, 1, all, leaf)
		}},
}

func (m walkMode) setup(leaf uint64) (*builder, Paging, []uint64) {
	b := newBuilder()
	cr3, entries := m.build(b, m.pa, leaf)
	pg := m.pg
	pg.CR3 = cr3
	return b, pg, entries
}

func (m walkMode) want() uint64 { return m.pa | ruleVA&(m.size-1) }

const rsvd = PFPresent | PFRsvd

// bitCase sets bit in entry level (0 = the top entry walked, -1 = the leaf)
// and expects want (ok, or an error code for a read at supervisor level).
type bitCase struct {
	level    int
	bit      uint
	physBits uint8
	noNXE    bool
	want     int
}

var bitCases = map[string][]bitCase{
	"32-bit 4K": {
		// No reserved bits at all: A, D, PAT, G and the ignored bits.
		{0, 5, 0, false, ok}, {0, 6, 0, false, ok}, {0, 8, 0, false, ok}, {0, 11, 0, false, ok},
		{-1, 5, 0, false, ok}, {-1, 6, 0, false, ok}, {-1, 7, 0, false, ok}, {-1, 8, 0, false, ok}, {-1, 9, 0, false, ok},
	},
	"32-bit 4M": {
		{0, 21, 0, false, rsvd}, // always reserved
		{0, 12, 0, false, ok}, {0, 5, 0, false, ok}, {0, 6, 0, false, ok}, {0, 8, 0, false, ok},
		{0, 16, 36, false, ok - 1}, // physical-address bit 35
		{0, 17, 36, false, rsvd},   // bit 36, beyond MAXPHYADDR 36
		{0, 20, 40, false, ok - 1}, // bit 39, within 40
		{0, 20, 39, false, rsvd},
	},
	"PAE 4K": {
		// PDPTE: only 63:M (XD even with NXE, 62:52, above MAXPHYADDR).
		{0, 1, 0, false, ok}, {0, 2, 0, false, ok}, {0, 5, 0, false, ok}, {0, 6, 0, false, ok},
		{0, 7, 0, false, ok}, {0, 8, 0, false, ok}, {0, 9, 0, false, ok}, {0, 11, 0, false, ok},
		{0, 63, 0, false, rsvd}, {0, 62, 0, false, rsvd}, {0, 52, 0, false, rsvd},
		{0, 36, 36, false, rsvd}, {0, 35, 36, false, ok - 2}, // ok-2: the walk reads an unbacked table
		// PDE and PTE: 62:52 reserved under PAE; XD only without NXE.
		{1, 5, 0, false, ok}, {1, 8, 0, false, ok}, {1, 62, 0, false, rsvd}, {1, 52, 0, false, rsvd},
		{1, 63, 0, false, ok}, {1, 63, 0, true, rsvd},
		{-1, 5, 0, false, ok}, {-1, 6, 0, false, ok}, {-1, 7, 0, false, ok}, {-1, 8, 0, false, ok},
		{-1, 55, 0, false, rsvd}, {-1, 63, 0, true, rsvd}, {-1, 63, 0, false, ok},
		{-1, 40, 40, false, rsvd}, {-1, 39, 40, false, ok - 1}, // ok-1: a different frame
	},
	"PAE 2M": {
		{-1, 12, 0, false, ok - 1}, // PAT: part of the address field, masked off
		{-1, 13, 0, false, rsvd}, {-1, 20, 0, false, rsvd}, {-1, 62, 0, false, rsvd},
		{-1, 5, 0, false, ok}, {-1, 6, 0, false, ok}, {-1, 8, 0, false, ok},
	},
	"4-level 4K": {
		{0, 7, 0, false, rsvd}, // PS in a PML4E
		{0, 5, 0, false, ok}, {0, 6, 0, false, ok}, {0, 8, 0, false, ok}, {0, 11, 0, false, ok},
		{0, 52, 0, false, ok}, {0, 62, 0, false, ok}, // ignored in 4-level entries
		{0, 63, 0, true, rsvd}, {0, 51, 48, false, rsvd},
		{1, 5, 0, false, ok}, {1, 6, 0, false, ok}, {1, 8, 0, false, ok},
		{-1, 5, 0, false, ok}, {-1, 6, 0, false, ok}, {-1, 7, 0, false, ok}, {-1, 8, 0, false, ok},
		{-1, 58, 0, false, ok}, {-1, 62, 0, false, ok}, {-1, 63, 0, false, ok}, {-1, 63, 0, true, rsvd},
	},
	"4-level 2M": {
		{-1, 12, 0, false, ok - 1}, {-1, 13, 0, false, rsvd}, {-1, 20, 0, false, rsvd},
		{-1, 21, 0, false, ok - 1}, {-1, 62, 0, false, ok},
	},
	"4-level 1G": {
		{-1, 12, 0, false, ok - 1}, {-1, 13, 0, false, rsvd}, {-1, 29, 0, false, rsvd},
		{-1, 30, 0, false, ok - 1}, {-1, 40, 40, false, rsvd}, {-1, 6, 0, false, ok},
	},
	"5-level 4K": {
		{0, 7, 0, false, rsvd}, {1, 7, 0, false, rsvd}, // PS in PML5E and PML4E
		{0, 5, 0, false, ok}, {0, 63, 0, true, rsvd}, {-1, 6, 0, false, ok},
	},
}

func TestPagingReservedBits(t *testing.T) {
	for _, m := range walkModes {
		cases, found := bitCases[m.name]
		if !found {
			t.Fatalf("no reserved-bit cases for %s", m.name)
		}
		for _, c := range cases {
			b, pg, entries := m.setup(all)
			level := c.level
			if level < 0 {
				level = len(entries) - 1
			}
			addr := entries[level]
			if m.wide {
				b.mem.set64(addr, b.mem.get64(addr)|1<<c.bit)
			} else {
				b.mem.set32(addr, b.mem.get32(addr)|1<<c.bit)
			}
			pg.PhysBits = c.physBits
			if c.noNXE {
				pg.EFER &^= EFERNXE
			}
			name := fmt.Sprintf("%s: bit %d of entry %d (PhysBits %d, NXE %v)", m.name, c.bit, level, c.physBits, !c.noNXE)
			switch c.want {
			case ok:
				check(t, name, b.mem, pg, ruleVA, Access{}, m.want(), ok)
			case ok - 1:
				// Accepted, and the bit is an address bit of the leaf.
				addrBit := uint64(1) << c.bit &^ (m.size - 1)
				if !m.wide {
					addrBit = 1 << (c.bit - 13 + 32) // PSE-36: PDE bits 20:13 are address bits 39:32
				}
				gpa, err := Translate(b.mem, pg, ruleVA, Access{})
				if err != nil || gpa != m.want()|addrBit {
					t.Errorf("%s: %#x, %v", name, gpa, err)
				}
			case ok - 2:
				// Accepted; the next table's address has the bit.
				var pe *PhysError
				if _, err := Translate(b.mem, pg, ruleVA, Access{}); !asPhysError(err, &pe) || pe.GPA>>c.bit&1 == 0 {
					t.Errorf("%s: %v, want a read of the table at the changed address", name, err)
				}
			default:
				check(t, name, b.mem, pg, ruleVA, Access{}, 0, c.want)
			}
		}
	}
}

// permCase builds the leaf with leaf flags (upper levels all-permissive
// unless upper is set, which replaces the top entry's RW/US flags) and makes
// access acc with the control bits given.
type permCase struct {
	name   string
	leaf   uint64
	upper  uint64 // if non-zero: the top entry's flags (P always set)
	acc    Access
	wp     bool
	smep   bool
	smap   bool
	ac     bool
	wideOK bool // needs 64-bit entries (XD)
	want   int  // ok, or the error code
}

const (
	uRW = fP | fRW | fUS
	uRO = fP | fUS
	sRW = fP | fRW
	sRO = fP
)

var (
	rd   = Access{}
	wr   = Access{Write: true}
	ex   = Access{Fetch: true}
	urd  = Access{User: true}
	uwr  = Access{User: true, Write: true}
	uex  = Access{User: true, Fetch: true}
	impl = Access{Implicit: true}
	impW = Access{Implicit: true, Write: true}
)

var permCases = []permCase{
	{name: "user read, user page", leaf: uRO, acc: urd, wp: true, want: ok},
	{name: "user read, supervisor page", leaf: sRW, acc: urd, wp: true, want: PFPresent | PFUser},
	{name: "user write, read-only", leaf: uRO, acc: uwr, wp: true, want: PFPresent | PFWrite | PFUser},
	{name: "user write, read-only, WP=0", leaf: uRO, acc: uwr, want: PFPresent | PFWrite | PFUser},
	{name: "user write, RW", leaf: uRW, acc: uwr, wp: true, want: ok},
	{name: "sup write, read-only, WP=1", leaf: uRO, acc: wr, wp: true, want: PFPresent | PFWrite},
	{name: "sup write, read-only, WP=0", leaf: uRO, acc: wr, want: ok},
	{name: "sup write, sup read-only, WP=0", leaf: sRO, acc: wr, want: ok},
	{name: "sup write, sup read-only, WP=1", leaf: sRO, acc: wr, wp: true, want: PFPresent | PFWrite},
	{name: "top entry read-only", leaf: uRW, upper: fUS, acc: uwr, wp: true, want: PFPresent | PFWrite | PFUser},
	{name: "top entry supervisor", leaf: uRW, upper: fRW, acc: urd, wp: true, want: PFPresent | PFUser},
	{name: "top entry supervisor, sup read", leaf: uRW, upper: fRW, acc: rd, smap: true, want: ok},
	{name: "SMEP: sup fetch, user page", leaf: uRO, acc: ex, smep: true, want: PFPresent | PFFetch},
	{name: "SMEP: sup fetch, sup page", leaf: sRO, acc: ex, smep: true, want: ok},
	{name: "SMEP: user fetch, user page", leaf: uRO, acc: uex, smep: true, want: ok},
	{name: "SMEP: sup read, user page", leaf: uRO, acc: rd, smep: true, want: ok},
	{name: "SMEP: not present", leaf: 0, acc: ex, smep: true, want: PFFetch},
	{name: "SMAP: sup read, user page, AC=0", leaf: uRO, acc: rd, smap: true, want: PFPresent},
	{name: "SMAP: sup write, user page, AC=0", leaf: uRW, acc: wr, smap: true, want: PFPresent | PFWrite},
	{name: "SMAP: sup read, user page, AC=1", leaf: uRO, acc: rd, smap: true, ac: true, want: ok},
	{name: "SMAP: sup write, user page, AC=1", leaf: uRW, acc: wr, smap: true, ac: true, want: ok},
	{name: "SMAP: implicit read, AC=1", leaf: uRO, acc: impl, smap: true, ac: true, want: PFPresent},
	{name: "SMAP: implicit write, AC=1", leaf: uRW, acc: impW, smap: true, ac: true, want: PFPresent | PFWrite},
	{name: "SMAP: implicit read, sup page", leaf: sRO, acc: impl, smap: true, want: ok},
	{name: "SMAP: implicit read, SMAP off", leaf: uRO, acc: impl, want: ok},
	{name: "SMAP: user read", leaf: uRO, acc: urd, smap: true, want: ok},
	{name: "SMAP: sup fetch, user page", leaf: uRO, acc: ex, smap: true, want: ok},
	{name: "SMAP: sup read, sup page", leaf: sRO, acc: rd, smap: true, want: ok},
	{name: "SMAP and WP=1: sup write, user RO page, AC=1", leaf: uRO, acc: wr, smap: true, ac: true, wp: true, want: PFPresent | PFWrite},
	{name: "not present, user write", leaf: 0, acc: uwr, want: PFWrite | PFUser},
	{name: "NX: fetch", leaf: uRO | fNX, acc: uex, wideOK: true, want: PFPresent | PFUser | PFFetch},
	{name: "NX: sup fetch", leaf: sRO | fNX, acc: ex, wideOK: true, want: PFPresent | PFFetch},
	{name: "NX: read", leaf: uRO | fNX, acc: urd, wideOK: true, want: ok},
	{name: "NX in the top entry: fetch", leaf: uRO, upper: fRW | fUS | fNX, acc: uex, wideOK: true, want: PFPresent | PFUser | PFFetch},
	{name: "not present fetch", leaf: 0, acc: uex, wideOK: true, want: PFUser | PFFetch},
}

func TestPagingPermissions(t *testing.T) {
	for _, m := range walkModes {
		for _, c := range permCases {
			if c.wideOK && !m.wide {
				continue
			}
			b, pg, entries := m.setup(c.leaf)
			if c.upper != 0 {
				// The top entry with permissions: a PAE PDPTE has none.
				top := 0
				if m.name[:3] == "PAE" {
					top = 1
				}
				if top == len(entries)-1 {
					continue // that entry is the leaf
				}
				if m.wide {
					b.mem.set64(entries[top], b.mem.get64(entries[top])&^(fRW|fUS)|c.upper)
				} else {
					b.mem.set32(entries[top], b.mem.get32(entries[top])&^uint32(fRW|fUS)|uint32(c.upper))
				}
			}
			if !c.wp {
				pg.CR0 &^= CR0WP
			}
			if c.smep {
				pg.CR4 |= CR4SMEP
			}
			if c.smap {
				pg.CR4 |= CR4SMAP
			}
			pg.AC = c.ac
			want := c.want
			if !m.wide && want != ok && c.acc.Fetch && !c.smep {
				want &^= PFFetch // I/D needs NXE (PAE paging) or SMEP
			}
			check(t, m.name+": "+c.name, b.mem, pg, ruleVA, c.acc, m.want(), want)
		}
	}
}

// TestPAEPDPTEAccessed is the regression for issue 12 item 3: a PDPTE with
// the accessed bit set (QEMU's SVM sets it on the first walk) stays usable
// for instruction fetches and hypercall copies.
func TestPAEPDPTEAccessed(t *testing.T) {
	m := walkModes[2]
	b, pg, entries := m.setup(all)
	b.mem.set64(entries[0], b.mem.get64(entries[0])|1<<5)
	b.mem.page(m.pa)[ruleVA&0xfff] = 0x0f
	var buf [15]byte
	if n, err := FetchInsn(fastMem{b.mem}, pg, 0, ruleVA, Mode32, false, &buf); err != nil || n != 15 || buf[0] != 0x0f {
		t.Errorf("FetchInsn through a PDPTE with A set: %d, %v", n, err)
	}
}

func asPhysError(err error, pe **PhysError) bool {
	e, isPE := err.(*PhysError)
	*pe = e
	return isPE
}
