package rt

import (
	"unsafe"

	"gozen/arch/amd64"
	"gozen/boot/multiboot"
	"gozen/mm/pgtable"
	"gozen/rt/vm"
)

// Virtual address space of hv (one address space, shared by all threads):
//
//	[0, 4 KiB)              unmapped: nil dereferences fault
//	[4 KiB, 512 GiB)        direct map: physical RAM at the same address
//	                        (identity), RW+NX, except the hv image, which is
//	                        mapped with its ELF permissions (text RX, rodata R)
//	[512 GiB, 128 TiB)      anonymous mappings the Go runtime makes with mmap,
//	                        backed on first touch (demand paging)
const (
	directMapLimit = 512 << 30
	mmapBase       = 512 << 30
	mmapLimit      = 0x7fff_ffff_f000
	pageSize       = 4096
)

// Page-table memory comes from hv's pool and is reached through the direct
// map (or, before the switch, the stub's identity map: same addresses).
type tableMem struct{}

var ptMem tableMem

func (*tableMem) AllocTable() (uint64, bool) {
	pa, ok := HVFrames.Alloc()
	if !ok {
		return 0, false
	}
	zeroPage(pa)
	return pa, true
}

func (*tableMem) FreeTable(pa uint64) { HVFrames.Free(pa) }

func (*tableMem) Table(pa uint64) *[512]uint64 {
	return (*[512]uint64)(unsafe.Pointer(uintptr(pa)))
}

func zeroPage(pa uint64) {
	p := (*[512]uint64)(unsafe.Pointer(uintptr(pa)))
	for i := range p {
		p[i] = 0
	}
}

var (
	kpt   pgtable.Table // hv's page tables
	space vm.Space      // the Go runtime's mmap areas
	// Counters for reporting.
	pagesFaulted uint64
	lapicBase    uint64
)

const (
	ptRW   = pgtable.Present | pgtable.Writable | pgtable.NoExec
	ptRO   = pgtable.Present | pgtable.NoExec
	ptRX   = pgtable.Present
	ptMMIO = pgtable.Present | pgtable.Writable | pgtable.NoExec | pgtable.CacheDisable | pgtable.WriteThrough
)

func mapOrDie(va, pa, length, flags, maxSize uint64) {
	if length == 0 {
		return
	}
	if err := kpt.MapRange(va, pa, length, flags, maxSize); err != nil {
		kprint("hv: boot error: building page tables: ")
		kprint(err.Error())
		kprint(" at ")
		kprintHex(va)
		kprint("\n")
		stop(ExitFatal)
	}
}

// pagingInit builds hv's page tables and switches to them.
func pagingInit() {
	t, err := pgtable.New(&ptMem)
	if err != nil {
		bootError("no memory for page tables")
	}
	kpt = t
	l := &imageLayout
	info := &BootInfo
	// Direct map of RAM (usable and ACPI regions), skipping page 0 and the image.
	for i := 0; i < info.NRegions; i++ {
		r := info.Regions[i]
		if r.Type != multiboot.RegionUsable && r.Type != multiboot.RegionACPIReclaimable && r.Type != multiboot.RegionACPINVS {
			continue
		}
		s, e := r.Base&^0xfff, (r.Base+r.Len+0xfff)&^0xfff
		if s < pageSize {
			s = pageSize
		}
		if e > directMapLimit {
			e = directMapLimit
		}
		if s >= e {
			continue
		}
		if s < l.ImageEnd && l.ImageStart < e {
			mapDirect(s, l.ImageStart)
			mapDirect(l.ImageEnd, e)
		} else {
			mapDirect(s, e)
		}
	}
	// The image with its own permissions.
	mapOrDie(l.ImageStart, l.ImageStart, l.TextEnd-l.ImageStart, ptRX, pgtable.Size4K)
	mapOrDie(l.RodataStart, l.RodataStart, l.RodataEnd-l.RodataStart, ptRO, pgtable.Size4K)
	mapOrDie(l.DataStart, l.DataStart, l.ImageEnd-l.DataStart, ptRW, pgtable.Size4K)
	// Local APIC registers.
	lapicBase = amd64.Rdmsr(amd64.MSRAPICBase) &^ 0xfff
	lapicBase &= 0x000f_ffff_ffff_f000
	if _, _, _, ok := kpt.Lookup(lapicBase); !ok {
		mapOrDie(lapicBase, lapicBase, pageSize, ptMMIO, pgtable.Size4K)
	}
	amd64.WriteCR0(amd64.ReadCR0() | amd64.CR0WP)
	amd64.WriteCR3(kpt.Root)
	space.Init(mmapBase, mmapLimit)
}

func mapDirect(s, e uint64) {
	if e <= s {
		return
	}
	// Use 4 KiB pages for the sub-2 MiB edges so large pages never cover the
	// image or reserved memory.
	mapOrDie(s, s, e-s, ptRW, pgtable.Size1G)
}

// demandFault handles a not-present page fault at va. It returns false when
// the access is not allowed (no area, or the area forbids it).
func demandFault(va uint64, write, fetch bool) bool {
	a, ok := space.Find(va)
	if !ok || a.Prot == 0 {
		return false
	}
	if (write && a.Prot&vm.ProtWrite == 0) || (fetch && a.Prot&vm.ProtExec == 0) {
		return false
	}
	return populate(va&^0xfff, a.Prot)
}

func populate(va uint64, prot uint8) bool {
	pa, ok := HVFrames.Alloc()
	if !ok {
		outOfMemory()
		return false
	}
	zeroPage(pa)
	flags := pgtable.Present
	if prot&vm.ProtWrite != 0 {
		flags |= pgtable.Writable
	}
	if prot&vm.ProtExec == 0 {
		flags |= pgtable.NoExec
	}
	if err := kpt.Map(va, pa, pgtable.Size4K, flags); err != nil {
		HVFrames.Free(pa)
		if err == pgtable.ErrExists {
			return true // raced with nothing: already there
		}
		outOfMemory()
		return false
	}
	pagesFaulted++
	return true
}

func outOfMemory() {
	total, free := HVFrames.Stats()
	kprint("hv: fatal: out of memory in hv's pool (")
	kprintDec(int64(total * pageSize >> 20))
	kprint(" MiB, ")
	kprintDec(int64(free))
	kprint(" frames free); raise hvmem=\n")
	stop(ExitFatal)
}

// userRange makes [va, va+n) accessible for the access kind, faulting pages
// in as the CPU would. It returns false if any page is not accessible: the
// caller returns -EFAULT. Used before rt touches memory a system call names.
func userRange(va, n uint64, write bool) bool {
	if n == 0 {
		return true
	}
	if va < pageSize || va+n < va || va+n > mmapLimit {
		return false
	}
	for p := va &^ 0xfff; p < va+n; p += pageSize {
		_, flags, _, ok := kpt.Lookup(p)
		if !ok {
			if !demandFault(p, write, false) {
				return false
			}
			continue
		}
		if write && flags&pgtable.Writable == 0 {
			return false
		}
	}
	return true
}

// dropPages unmaps and frees the demand-paged frames in [lo, hi).
func dropPages(lo, hi uint64) {
	if lo < mmapBase {
		return
	}
	kpt.UnmapRange(lo, hi, freeLeaf)
	amd64.WriteCR3(kpt.Root) // flush the TLB
}

func freeLeaf(va, pa, size, flags uint64) {
	for off := uint64(0); off < size; off += pageSize {
		HVFrames.Free(pa + off)
	}
}

// Linux mmap flags and advice.
const (
	mapShared         = 0x01
	mapPrivate        = 0x02
	mapFixed          = 0x10
	mapAnonymous      = 0x20
	mapFixedNoReplace = 0x100000
	madvDontNeed      = 4
	madvFree          = 8
)

func sysMmap(addr, length, prot, flags, fd, off uint64) int64 {
	if flags&mapAnonymous == 0 || flags&mapShared != 0 {
		return -ENODEV
	}
	if prot&^uint64(vm.ProtRead|vm.ProtWrite|vm.ProtExec) != 0 {
		return -EINVAL
	}
	fixed := flags&(mapFixed|mapFixedNoReplace) != 0
	if fixed && flags&mapFixedNoReplace != 0 {
		if _, ok := space.Find(addr); ok {
			return -EEXIST
		}
	}
	got, e := space.Map(addr, length, uint8(prot), fixed)
	if e != 0 {
		return -int64(e)
	}
	if fixed {
		// MAP_FIXED yields fresh zero pages even where something was mapped.
		dropPages(got, got+((length+0xfff)&^0xfff))
	}
	return int64(got)
}

func sysMunmap(addr, length uint64) int64 {
	if e := space.Unmap(addr, length); e != 0 {
		return -int64(e)
	}
	dropPages(addr, addr+((length+0xfff)&^0xfff))
	return 0
}

func sysMadvise(addr, length, advice uint64) int64 {
	if addr&0xfff != 0 {
		return -EINVAL
	}
	switch advice {
	case madvDontNeed, madvFree:
		dropPages(addr, addr+((length+0xfff)&^0xfff))
	}
	return 0
}

func sysMprotect(addr, length, prot uint64) int64 {
	if e := space.Protect(addr, length, uint8(prot)); e != 0 {
		return -int64(e)
	}
	// Re-fault pages with the new permissions.
	dropPages(addr, addr+((length+0xfff)&^0xfff))
	return 0
}
