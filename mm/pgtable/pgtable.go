// Package pgtable builds and edits x86-64 4-level page tables (PML4, PDPT,
// PD, PT). The same format serves AMD nested page tables (NPT), where the
// "virtual" address is a guest physical address.
//
// # Kernel-context constraints
//
// The package is used by GoZen's ring-0 runtime layer inside page-fault and
// syscall handlers, where the Go runtime cannot help. After New, no method
// allocates Go memory, writes Go pointers (so no write barriers run) or
// panics on any argument value: arguments are validated and failures are
// reported as Error values, a uint8 type whose values need no allocation.
// Page-table pages are plain physical frames obtained from a Memory and
// addressed by uint64 physical addresses; entries are uint64 values, so
// writing them involves no write barrier.
//
// The package does not flush TLBs; callers invalidate (INVLPG, CR3 reload or
// the NPT equivalent) after Unmap, UnmapRange and Protect. Because the CPU
// may cache paging-structure entries, a Memory implementation should not
// reuse a frame passed to FreeTable for anything else until that
// invalidation has happened. A Table is not safe for concurrent use.
package pgtable

// Page-table entry bits.
const (
	Present      uint64 = 1 << 0  // entry is valid
	Writable     uint64 = 1 << 1  // writes allowed
	User         uint64 = 1 << 2  // user-mode (CPL 3) access allowed; required on all levels for NPT
	WriteThrough uint64 = 1 << 3  // PWT cache attribute
	CacheDisable uint64 = 1 << 4  // PCD cache attribute
	Accessed     uint64 = 1 << 5  // set by the CPU on access
	Dirty        uint64 = 1 << 6  // set by the CPU on write (leaves only)
	Huge         uint64 = 1 << 7  // PS: a 2 MiB (PD) or 1 GiB (PDPT) leaf
	Global       uint64 = 1 << 8  // not flushed on CR3 reload (leaves only)
	NoExec       uint64 = 1 << 63 // instruction fetch forbidden (needs EFER.NXE)
)

// AddrMask selects the physical-address bits (51:12) of an entry.
const AddrMask uint64 = 0x000f_ffff_ffff_f000

// Page sizes accepted by Map.
const (
	Size4K uint64 = 1 << 12 // page-table (level 1) leaf
	Size2M uint64 = 1 << 21 // page-directory (level 2) leaf
	Size1G uint64 = 1 << 30 // PDPT (level 3) leaf
)

// noRoot is stored in Table.Root by Destroy; it can never be a table
// address, so a destroyed Table reports ErrNoTable instead of touching
// freed memory.
const noRoot = ^uint64(0)

// Error is a page-table error. It is a small integer so returning it as an
// error value never allocates.
type Error uint8

const (
	// ErrMisaligned: va or pa (or a MapRange length) is not aligned to the
	// page size.
	ErrMisaligned Error = iota + 1
	// ErrExists: the target is already mapped, by a leaf of any size
	// (including a huge page covering it) or by a table where a huge page
	// would go.
	ErrExists
	// ErrNoMemory: Memory.AllocTable failed (or returned an unusable
	// address).
	ErrNoMemory
	// ErrBadSize: the page size is not Size4K, Size2M or Size1G.
	ErrBadSize
	// ErrNonCanonical: the virtual address (range) is not canonical 48-bit.
	ErrNonCanonical
	// ErrNotMapped: Protect found no leaf mapping the address.
	ErrNotMapped
	// ErrBadFlags: flags contain physical-address bits (AddrMask).
	ErrBadFlags
	// ErrBadAddress: the physical address does not fit in 52 bits.
	ErrBadAddress
	// ErrNoTable: the Table has no Memory or has been destroyed.
	ErrNoTable
)

// Error returns a constant description of e.
func (e Error) Error() string {
	switch e {
	case ErrMisaligned:
		return "pgtable: misaligned address"
	case ErrExists:
		return "pgtable: already mapped"
	case ErrNoMemory:
		return "pgtable: out of table memory"
	case ErrBadSize:
		return "pgtable: bad page size"
	case ErrNonCanonical:
		return "pgtable: non-canonical address"
	case ErrNotMapped:
		return "pgtable: not mapped"
	case ErrBadFlags:
		return "pgtable: bad flags"
	case ErrBadAddress:
		return "pgtable: physical address out of range"
	case ErrNoTable:
		return "pgtable: no table"
	}
	return "pgtable: unknown error"
}

// Memory gives the page-table code access to table pages. Implementations
// used in kernel context must not allocate Go memory either.
type Memory interface {
	// AllocTable returns the physical address of a zeroed, 4 KiB-aligned
	// frame below 2^52, or ok == false when none is available.
	AllocTable() (pa uint64, ok bool)
	// FreeTable releases a frame obtained from AllocTable.
	FreeTable(pa uint64)
	// Table returns a pointer through which the table page at pa can be
	// read and written (on bare metal, via the direct map). It must return
	// a non-nil pointer for every pa handed out by AllocTable.
	Table(pa uint64) *[512]uint64
}

// Table is one 4-level page-table tree. Root is the physical address of the
// PML4 (the value for CR3 or the NPT nCR3, without flag bits); Mem supplies
// and accesses table pages. A Table may also be built directly around an
// existing tree. The zero value is unusable (methods return ErrNoTable or
// report nothing mapped) but safe.
type Table struct {
	Root uint64
	Mem  Memory
}

// New allocates an empty PML4 from mem.
func New(mem Memory) (Table, error) {
	if mem == nil {
		return Table{Root: noRoot}, ErrNoTable
	}
	pa, ok := mem.AllocTable()
	if !ok {
		return Table{Root: noRoot}, ErrNoMemory
	}
	if pa&^AddrMask != 0 {
		mem.FreeTable(pa)
		return Table{Root: noRoot}, ErrNoMemory
	}
	return Table{Root: pa, Mem: mem}, nil
}

// valid reports whether t has memory and a usable root.
func (t *Table) valid() bool {
	return t.Mem != nil && t.Root&^AddrMask == 0
}

// shift returns log2 of the span of one entry at level lvl (1 = PT ... 4 =
// PML4).
func shift(lvl int) uint {
	return 12 + 9*uint(lvl-1)
}

// index returns va's entry index in the level-lvl table.
func index(va uint64, lvl int) uint64 {
	return (va >> shift(lvl)) & 511
}

// leafLevel returns the table level holding leaves of the given size, or 0.
func leafLevel(size uint64) int {
	switch size {
	case Size4K:
		return 1
	case Size2M:
		return 2
	case Size1G:
		return 3
	}
	return 0
}

// canonical reports whether va is a canonical 48-bit address (bits 63:47
// all equal).
func canonical(va uint64) bool {
	top := va >> 47
	return top == 0 || top == 1<<17-1
}

// isLeaf reports whether the present entry e at level lvl maps a page rather
// than pointing to a table.
func isLeaf(e uint64, lvl int) bool {
	return lvl == 1 || (lvl <= 3 && e&Huge != 0)
}

// empty reports whether no entry of tbl is present.
func empty(tbl *[512]uint64) bool {
	for _, e := range tbl {
		if e&Present != 0 {
			return false
		}
	}
	return true
}

// walk descends from the root towards va. tables[l] receives the physical
// address of the level-l table visited. It stops at the first level whose
// entry for va is not present, is a leaf, or is at level 1, and returns that
// level and entry.
func (t *Table) walk(va uint64, tables *[5]uint64) (lvl int, e uint64) {
	tpa := t.Root
	for lvl = 4; ; lvl-- {
		tables[lvl] = tpa
		e = t.Mem.Table(tpa)[index(va, lvl)]
		if e&Present == 0 || isLeaf(e, lvl) {
			return lvl, e
		}
		tpa = e & AddrMask
	}
}

// prune frees the tables on va's path, from level lvl upwards (never the
// root), while they are empty.
func (t *Table) prune(va uint64, tables *[5]uint64, lvl int) {
	for l := lvl; l >= 1 && l < 4; l++ {
		if !empty(t.Mem.Table(tables[l])) {
			return
		}
		t.Mem.Table(tables[l+1])[index(va, l+1)] = 0
		t.Mem.FreeTable(tables[l])
	}
}

// open makes the intermediate entries on va's path above level lvl
// permissive: Writable, User when user is set, never NoExec. Leaves decide
// the effective permissions.
func (t *Table) open(va uint64, tables *[5]uint64, lvl int, user uint64) {
	for l := 4; l > lvl; l-- {
		tbl := t.Mem.Table(tables[l])
		i := index(va, l)
		tbl[i] = (tbl[i] | Writable | user) &^ NoExec
	}
}

// Map maps the single page [va, va+size) to pa with the given leaf flags.
// size is Size4K, Size2M or Size1G; va and pa must be aligned to it and va
// must be canonical. Present is always set, and Huge is set exactly for 2 MiB
// and 1 GiB pages (any Huge bit in flags is ignored). Missing intermediate
// tables are allocated with Present|Writable (plus User when flags has User)
// and existing ones on the path are widened the same way; intermediates
// never carry NoExec. If anything is already mapped at va — a leaf of any
// size covering it, or a table where the new huge page would go — Map
// returns ErrExists. On any error nothing is changed.
func (t *Table) Map(va, pa, size, flags uint64) error {
	if !t.valid() {
		return ErrNoTable
	}
	lvl := leafLevel(size)
	if lvl == 0 {
		return ErrBadSize
	}
	if !canonical(va) {
		return ErrNonCanonical
	}
	if va&(size-1) != 0 || pa&(size-1) != 0 {
		return ErrMisaligned
	}
	if pa&^AddrMask != 0 {
		return ErrBadAddress
	}
	if flags&AddrMask != 0 {
		return ErrBadFlags
	}
	user := flags & User
	var tables [5]uint64
	tpa := t.Root
	for l := 4; l > lvl; l-- {
		tables[l] = tpa
		tbl := t.Mem.Table(tpa)
		i := index(va, l)
		e := tbl[i]
		if e&Present == 0 {
			npa, ok := t.Mem.AllocTable()
			if ok && npa&^AddrMask != 0 {
				t.Mem.FreeTable(npa)
				ok = false
			}
			if !ok {
				t.prune(va, &tables, l)
				return ErrNoMemory
			}
			tbl[i] = npa | Present | Writable | user
			tpa = npa
			continue
		}
		if isLeaf(e, l) {
			t.prune(va, &tables, l)
			return ErrExists
		}
		tpa = e & AddrMask
	}
	tables[lvl] = tpa
	tbl := t.Mem.Table(tpa)
	i := index(va, lvl)
	if tbl[i]&Present != 0 {
		t.prune(va, &tables, lvl)
		return ErrExists
	}
	leaf := pa | (flags &^ Huge) | Present
	if lvl > 1 {
		leaf |= Huge
	}
	tbl[i] = leaf
	t.open(va, &tables, lvl, user)
	return nil
}

// MapRange maps [va, va+length) to [pa, pa+length) with the given leaf
// flags, using at each step the largest page size not above maxSize that
// the alignment of both addresses and the remaining length allow. va, pa
// and length must be 4 KiB aligned, maxSize one of the page sizes, and the
// whole virtual range canonical within one half of the address space.
// length == 0 maps nothing. On error, every page MapRange mapped is unmapped
// again (tables it allocated are freed) and the error is returned.
func (t *Table) MapRange(va, pa, length, flags uint64, maxSize uint64) error {
	if !t.valid() {
		return ErrNoTable
	}
	if leafLevel(maxSize) == 0 {
		return ErrBadSize
	}
	if (va|pa|length)&(Size4K-1) != 0 {
		return ErrMisaligned
	}
	if length == 0 {
		return nil
	}
	if flags&AddrMask != 0 {
		return ErrBadFlags
	}
	last := va + (length - 1)
	if last < va || !canonical(va) || va>>47 != last>>47 {
		return ErrNonCanonical
	}
	plast := pa + (length - 1)
	if plast < pa || plast>>52 != 0 {
		return ErrBadAddress
	}
	for off := uint64(0); off < length; {
		size := Size4K
		for _, s := range [2]uint64{Size1G, Size2M} {
			if s <= maxSize && (va+off)&(s-1) == 0 && (pa+off)&(s-1) == 0 && length-off >= s {
				size = s
				break
			}
		}
		if err := t.Map(va+off, pa+off, size, flags); err != nil {
			t.rollback(va, off)
			return err
		}
		off += size
	}
	return nil
}

// rollback unmaps the leaves MapRange placed in [va, va+length).
func (t *Table) rollback(va, length uint64) {
	for off := uint64(0); off < length; {
		_, size, ok := t.Unmap(va + off)
		if !ok {
			size = Size4K
		}
		off += size
	}
}

// Unmap removes the leaf that maps va, whatever its size, and returns its
// base physical address and size. Tables left empty are freed (the root is
// kept). ok is false when nothing maps va.
func (t *Table) Unmap(va uint64) (pa, size uint64, ok bool) {
	if !t.valid() || !canonical(va) {
		return 0, 0, false
	}
	var tables [5]uint64
	lvl, e := t.walk(va, &tables)
	if e&Present == 0 || !isLeaf(e, lvl) {
		return 0, 0, false
	}
	size = uint64(1) << shift(lvl)
	t.Mem.Table(tables[lvl])[index(va, lvl)] = 0
	t.prune(va, &tables, lvl)
	return e & AddrMask &^ (size - 1), size, true
}

// Lookup translates va. pa is the full translated address (leaf base plus
// the offset of va within the page), flags the leaf's non-address bits
// (including Huge for 2 MiB and 1 GiB pages) and size the leaf's page size.
// ok is false when nothing maps va.
func (t *Table) Lookup(va uint64) (pa, flags, size uint64, ok bool) {
	if !t.valid() || !canonical(va) {
		return 0, 0, 0, false
	}
	var tables [5]uint64
	lvl, e := t.walk(va, &tables)
	if e&Present == 0 || !isLeaf(e, lvl) {
		return 0, 0, 0, false
	}
	size = uint64(1) << shift(lvl)
	return e&AddrMask&^(size-1) | va&(size-1), e &^ AddrMask, size, true
}

// Protect replaces the flags of the leaf that maps va, keeping its physical
// address (and, for huge pages, the Huge bit and the PAT/reserved bits below
// the page base). Present is always kept set; Huge in flags is ignored. If
// flags has User, the intermediate entries on the path get User too. It
// returns ErrNotMapped when nothing maps va.
func (t *Table) Protect(va, flags uint64) error {
	if !t.valid() {
		return ErrNoTable
	}
	if !canonical(va) {
		return ErrNonCanonical
	}
	if flags&AddrMask != 0 {
		return ErrBadFlags
	}
	var tables [5]uint64
	lvl, e := t.walk(va, &tables)
	if e&Present == 0 || !isLeaf(e, lvl) {
		return ErrNotMapped
	}
	keep := AddrMask
	if lvl > 1 {
		keep |= Huge
	}
	t.Mem.Table(tables[lvl])[index(va, lvl)] = e&keep | flags&^Huge | Present
	t.open(va, &tables, lvl, flags&User)
	return nil
}

// Destroy frees every table page of t, root included, but not the frames
// the leaves map. Afterwards t reports ErrNoTable / nothing mapped until
// it is replaced with a fresh New.
func (t *Table) Destroy() {
	if !t.valid() {
		return
	}
	t.freeTree(t.Root, 4)
	t.Root = noRoot
}

// freeTree frees the level-lvl table at pa and all tables below it.
func (t *Table) freeTree(pa uint64, lvl int) {
	if lvl > 1 {
		tbl := t.Mem.Table(pa)
		for _, e := range tbl {
			if e&Present != 0 && !isLeaf(e, lvl) {
				t.freeTree(e&AddrMask, lvl-1)
			}
		}
	}
	t.Mem.FreeTable(pa)
}

// entryVA returns the virtual address covered by entry i of a level-lvl
// table whose coverage starts at base, sign-extending at the PML4 level.
func entryVA(base uint64, i uint64, lvl int) uint64 {
	va := base + i<<shift(lvl)
	if lvl == 4 && i >= 256 {
		va |= 0xffff_0000_0000_0000
	}
	return va
}

// overlaps reports whether [va, va+span) intersects [lo, hi) (hi > lo),
// without overflowing at the top of the address space.
func overlaps(va, span, lo, hi uint64) bool {
	return va < hi && va+(span-1) >= lo
}

// Visit calls fn(va, pa, size, flags) for every leaf that overlaps
// [lo, hi), in ascending va order, with the leaf's base virtual and physical
// addresses, its size and its non-address flag bits. Leaves only partly
// inside [lo, hi) are reported whole. fn must not allocate and must not
// modify t (use UnmapRange to remove leaves while visiting them).
func (t *Table) Visit(lo, hi uint64, fn func(va, pa, size, flags uint64)) {
	if !t.valid() || fn == nil || hi <= lo {
		return
	}
	t.visit(t.Root, 4, 0, lo, hi, fn)
}

func (t *Table) visit(tpa uint64, lvl int, base, lo, hi uint64, fn func(va, pa, size, flags uint64)) {
	tbl := t.Mem.Table(tpa)
	span := uint64(1) << shift(lvl)
	for i := uint64(0); i < 512; i++ {
		va := entryVA(base, i, lvl)
		if !overlaps(va, span, lo, hi) {
			continue
		}
		e := tbl[i]
		if e&Present == 0 {
			continue
		}
		if isLeaf(e, lvl) {
			fn(va, e&AddrMask&^(span-1), span, e&^AddrMask)
			continue
		}
		t.visit(e&AddrMask, lvl-1, va, lo, hi, fn)
	}
}

// UnmapRange removes every leaf lying entirely inside [lo, hi) and frees the
// tables this leaves empty (never the root). For each removed leaf it calls
// fn(va, pa, size, flags) after clearing the entry, so fn can release the
// frame; fn may be nil, must not allocate and must not modify t. Leaves
// only partly inside [lo, hi) are left mapped; partial reports whether there
// were any, so the caller can split or handle them.
func (t *Table) UnmapRange(lo, hi uint64, fn func(va, pa, size, flags uint64)) (partial bool) {
	if !t.valid() || hi <= lo {
		return false
	}
	partial, _ = t.unmapRange(t.Root, 4, 0, lo, hi, fn)
	return partial
}

func (t *Table) unmapRange(tpa uint64, lvl int, base, lo, hi uint64, fn func(va, pa, size, flags uint64)) (partial, isEmpty bool) {
	tbl := t.Mem.Table(tpa)
	span := uint64(1) << shift(lvl)
	changed := false
	for i := uint64(0); i < 512; i++ {
		va := entryVA(base, i, lvl)
		if !overlaps(va, span, lo, hi) {
			continue
		}
		e := tbl[i]
		if e&Present == 0 {
			continue
		}
		if isLeaf(e, lvl) {
			if va < lo || va+(span-1) > hi-1 {
				partial = true
				continue
			}
			tbl[i] = 0
			changed = true
			if fn != nil {
				fn(va, e&AddrMask&^(span-1), span, e&^AddrMask)
			}
			continue
		}
		p, childEmpty := t.unmapRange(e&AddrMask, lvl-1, va, lo, hi, fn)
		partial = partial || p
		if childEmpty {
			tbl[i] = 0
			t.Mem.FreeTable(e & AddrMask)
			changed = true
		}
	}
	return partial, changed && empty(tbl)
}
