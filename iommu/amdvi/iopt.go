package amdvi

import (
	"errors"
	"fmt"
)

// Perm is a DMA permission set.
type Perm uint8

const (
	PermRead  Perm = 1 << 0 // the device may read (IR)
	PermWrite Perm = 1 << 1 // the device may write (IW)
	PermRW         = PermRead | PermWrite
)

// I/O page-table entry bits (spec "I/O Page Tables for Host Translations":
// the AMD-Vi v1 format). PDEs and PTEs share the layout; NextLevel tells
// them apart.
const (
	PTEPresent    uint64 = 1 << 0                // PR
	pteNextShift         = 9                     // NextLevel, bits 11:9
	pteNextMask   uint64 = 7 << pteNextShift     //
	PTEAddrMask   uint64 = 0x000f_ffff_ffff_f000 // bits 51:12
	PTEForceCoh   uint64 = 1 << 60               // FC: DMA snoops caches even when the device asks not to
	PTERead       uint64 = 1 << 61               // IR
	PTEWrite      uint64 = 1 << 62               // IW
	nextLevelLeaf        = 0                     // NextLevel 0: a leaf at this level (4 KiB at 1, 2 MiB at 2, ...)
	nextLevelBig         = 7                     // NextLevel 7: a leaf whose size is encoded in its address bits
)

// Page sizes Map accepts.
const (
	Size4K uint64 = 1 << 12
	Size2M uint64 = 1 << 21
)

// DefaultLevels is the depth hv builds: 4 levels translate 48-bit DMA
// addresses (the DTE Mode field says 4).
const DefaultLevels = 4

var (
	ErrMisaligned = errors.New("amdvi: address or length not aligned to the page size")
	ErrExists     = errors.New("amdvi: DMA address already mapped")
	ErrNoMemory   = errors.New("amdvi: no memory for an I/O page table")
	ErrRange      = errors.New("amdvi: DMA address beyond what the page table translates")
	ErrBadSize    = errors.New("amdvi: page size is not 4 KiB or 2 MiB")
	ErrBadAddress = errors.New("amdvi: physical address does not fit in 52 bits")
)

func levelShift(level int) uint { return uint(12 + 9*(level-1)) }

func levelIndex(iova uint64, level int) int {
	s := levelShift(level)
	if s >= 64 {
		return 0
	}
	return int(iova>>s) & 511
}

// PageTable is one I/O page-table tree (one per IOMMU domain; dom0's
// mirrors its p2m). Root is the top-level table's physical address, for
// TranslatedDTE with Levels. It is not safe for concurrent use.
//
// The package does not flush: after Unmap (or a Map that replaced nothing
// but was preceded by an Unmap of the same range) the caller issues
// INVALIDATE_IOMMU_PAGES for the domain and waits for completion before it
// reuses the unmapped frames.
type PageTable struct {
	Root   uint64
	Levels int
	Mem    Memory
}

// NewPageTable allocates an empty tree levels deep (1..6; DefaultLevels
// covers 48-bit DMA addresses).
func NewPageTable(mem Memory, levels int) (*PageTable, error) {
	if levels < 1 || levels > 6 {
		return nil, fmt.Errorf("amdvi: %d page-table levels (want 1..6)", levels)
	}
	root, ok := mem.AllocTable()
	if !ok || root&^PTEAddrMask != 0 {
		return nil, ErrNoMemory
	}
	return &PageTable{Root: root, Levels: levels, Mem: mem}, nil
}

// Limit returns the first DMA address the tree cannot translate (0 when it
// covers all 64 bits).
func (t *PageTable) Limit() uint64 {
	s := levelShift(t.Levels + 1)
	if s >= 64 {
		return 0
	}
	return 1 << s
}

func (t *PageTable) inRange(iova, length uint64) bool {
	lim := t.Limit()
	if lim == 0 {
		return iova+length >= iova || iova+length == 0
	}
	return iova < lim && length <= lim-iova
}

func permBits(p Perm) uint64 {
	var b uint64
	if p&PermRead != 0 {
		b |= PTERead
	}
	if p&PermWrite != 0 {
		b |= PTEWrite
	}
	return b
}

// descend returns the level-1 table under entry idx of tbl, a table at
// `level`, allocating it when create is set and the entry is empty.
func (t *PageTable) descend(tbl *[512]uint64, idx, level int, create bool) (*[512]uint64, error) {
	e := tbl[idx]
	if e&PTEPresent == 0 {
		if !create {
			return nil, nil
		}
		pa, ok := t.Mem.AllocTable()
		if !ok || pa&^PTEAddrMask != 0 {
			return nil, ErrNoMemory
		}
		// A PDE grants everything; the leaf decides (the IOMMU ANDs IR/IW
		// over the walk).
		tbl[idx] = PTEPresent | uint64(level-1)<<pteNextShift | pa | PTERead | PTEWrite
		return t.Mem.Table(pa), nil
	}
	if nl := int(e&pteNextMask) >> pteNextShift; nl != level-1 {
		return nil, ErrExists // a leaf (or a layout this package does not build)
	}
	return t.Mem.Table(e & PTEAddrMask), nil
}

// Map maps one page of size Size4K or Size2M at DMA address iova to pa.
// A 2 MiB page whose slot already holds an empty level-1 table (left by an
// earlier Unmap) is mapped as 512 4 KiB pages in that table.
func (t *PageTable) Map(iova, pa, size uint64, perm Perm) error {
	if size != Size4K && size != Size2M {
		return ErrBadSize
	}
	if iova&(size-1) != 0 || pa&(size-1) != 0 {
		return ErrMisaligned
	}
	if pa&^PTEAddrMask != 0 {
		return ErrBadAddress
	}
	if !t.inRange(iova, size) {
		return ErrRange
	}
	leafLevel := 1
	if size == Size2M {
		leafLevel = 2
	}
	if leafLevel > t.Levels {
		return ErrBadSize
	}
	tbl := t.Mem.Table(t.Root)
	for level := t.Levels; level > leafLevel; level-- {
		next, err := t.descend(tbl, levelIndex(iova, level), level, true)
		if err != nil {
			return err
		}
		tbl = next
	}
	idx := levelIndex(iova, leafLevel)
	leaf := PTEPresent | pa | PTEForceCoh | permBits(perm)
	if tbl[idx]&PTEPresent == 0 {
		tbl[idx] = leaf
		return nil
	}
	if leafLevel == 2 && int(tbl[idx]&pteNextMask)>>pteNextShift == 1 {
		sub := t.Mem.Table(tbl[idx] & PTEAddrMask)
		for _, e := range sub {
			if e&PTEPresent != 0 {
				return ErrExists
			}
		}
		for i := range sub {
			sub[i] = PTEPresent | (pa + uint64(i)*Size4K) | PTEForceCoh | permBits(perm)
		}
		return nil
	}
	return ErrExists
}

// MapRange maps [iova, iova+length) to [pa, pa+length), with 2 MiB pages
// wherever iova and pa are both 2 MiB-aligned and 4 KiB pages elsewhere.
// On failure nothing of the range stays mapped.
func (t *PageTable) MapRange(iova, pa, length uint64, perm Perm) error {
	if length == 0 {
		return nil
	}
	if iova&(Size4K-1) != 0 || pa&(Size4K-1) != 0 || length&(Size4K-1) != 0 {
		return ErrMisaligned
	}
	if !t.inRange(iova, length) {
		return ErrRange
	}
	if pa+length < pa || (pa+length-1)&^(PTEAddrMask|0xfff) != 0 {
		return ErrBadAddress
	}
	for done := uint64(0); done < length; {
		size := Size4K
		if t.Levels >= 2 && (iova+done)&(Size2M-1) == 0 && (pa+done)&(Size2M-1) == 0 && length-done >= Size2M {
			size = Size2M
		}
		if err := t.Map(iova+done, pa+done, size, perm); err != nil {
			if done > 0 {
				_ = t.UnmapRange(iova, done) // pages this call mapped: no split, cannot fail
			}
			return err
		}
		done += size
	}
	return nil
}

// UnmapRange removes every mapping in [iova, iova+length); holes are
// skipped. A 2 MiB page only partly inside the range is first split into
// 4 KiB pages, which needs one new table (ErrNoMemory if none; the range
// is then unmapped up to that page). Tables left empty are kept, not freed:
// the IOMMU may cache them until the caller's invalidation.
func (t *PageTable) UnmapRange(iova, length uint64) error {
	if iova&(Size4K-1) != 0 || length&(Size4K-1) != 0 {
		return ErrMisaligned
	}
	if !t.inRange(iova, length) {
		return ErrRange
	}
	for off := uint64(0); off < length; {
		a := iova + off
		tbl := t.Mem.Table(t.Root)
		level := t.Levels
		step := uint64(0)
		for step == 0 {
			idx := levelIndex(a, level)
			e := tbl[idx]
			span := uint64(1) << levelShift(level)
			if e&PTEPresent == 0 {
				step = span - a&(span-1) // skip the hole to the next entry
				break
			}
			nl := int(e&pteNextMask) >> pteNextShift
			if nl == level-1 && level > 1 {
				tbl = t.Mem.Table(e & PTEAddrMask)
				level--
				continue
			}
			// A leaf at this level (NextLevel 0, or 7 for large pages
			// which this package never builds but clears whole).
			base := a &^ (span - 1)
			if base >= iova && base+span <= iova+length && base+span > base {
				tbl[idx] = 0
				step = base + span - a
				break
			}
			if level != 2 || nl != nextLevelLeaf {
				tbl[idx] = 0 // cannot split: drop the whole leaf
				step = base + span - a
				break
			}
			// Split a 2 MiB leaf into 512 4 KiB leaves, then go on.
			pa, ok := t.Mem.AllocTable()
			if !ok || pa&^PTEAddrMask != 0 {
				return ErrNoMemory
			}
			sub := t.Mem.Table(pa)
			flags := e &^ (PTEAddrMask | pteNextMask)
			for i := range sub {
				sub[i] = flags | (e&PTEAddrMask + uint64(i)*Size4K)
			}
			tbl[idx] = PTEPresent | 1<<pteNextShift | pa | PTERead | PTEWrite
		}
		if off+step < off {
			break
		}
		off += step
	}
	return nil
}

// Destroy frees every table of the tree, root included. Call it only once
// no DTE points at the tree and the IOMMU's caches are invalidated.
func (t *PageTable) Destroy() {
	if t.Mem == nil {
		return
	}
	t.free(t.Root, t.Levels)
	t.Root, t.Mem = 0, nil
}

func (t *PageTable) free(pa uint64, level int) {
	if level > 1 {
		tbl := t.Mem.Table(pa)
		for _, e := range tbl {
			if e&PTEPresent != 0 && int(e&pteNextMask)>>pteNextShift == level-1 {
				t.free(e&PTEAddrMask, level-1)
			}
		}
	}
	t.Mem.FreeTable(pa)
}

// Translation is what a walk finds for one DMA address.
type Translation struct {
	PA   uint64 // the physical address the DMA reaches
	Size uint64 // the size of the page that maps it
	Perm Perm   // the permissions left after ANDing every level
}

// FaultKind says why a walk stopped.
type FaultKind uint8

const (
	FaultNone       FaultKind = iota
	FaultNotPresent           // an entry on the way has PR=0
	FaultRange                // the address has bits above what the tree translates
	FaultBadEntry             // NextLevel out of order, a skipped level's index bits not zero, or a bad large-page size
	FaultBadDTE               // the DTE is not valid, or Mode is 7
)

func (k FaultKind) String() string {
	switch k {
	case FaultNone:
		return "none"
	case FaultNotPresent:
		return "not present"
	case FaultRange:
		return "address out of range"
	case FaultBadEntry:
		return "malformed page-table entry"
	case FaultBadDTE:
		return "invalid device table entry"
	}
	return "unknown"
}

// Walk translates iova as the IOMMU would for a device whose DTE is d,
// reading tables through mem (spec "I/O Page Tables for Host Translations"):
// the walk starts at the DTE's Mode level, each entry's NextLevel gives the
// next level (0: a leaf at this level; 7: a large leaf whose size is the
// first zero address bit at or above bit 12; a smaller level skips the
// levels between, whose index bits must be zero), and IR/IW are ANDed over
// the DTE and every entry. Mode 0 passes the address through with the
// DTE's permissions. Walk never panics on malformed tables; it reports a
// FaultKind instead. Tests use it to check what PageTable built; hv may use
// it to explain a logged IO_PAGE_FAULT.
func Walk(mem Memory, d DTE, iova uint64) (Translation, FaultKind) {
	if !d.Valid() || d[0]&DTETransV == 0 {
		return Translation{}, FaultBadDTE
	}
	perm := d.Perm()
	level := d.Levels()
	if level == 0 {
		return Translation{PA: iova &^ (Size4K - 1), Size: Size4K, Perm: perm}, FaultNone
	}
	if level == 7 {
		return Translation{}, FaultBadDTE
	}
	if s := levelShift(level + 1); s < 64 && iova>>s != 0 {
		return Translation{}, FaultRange
	}
	table := d.Root()
	for steps := 0; steps < 7; steps++ {
		tbl := mem.Table(table)
		if tbl == nil {
			return Translation{}, FaultNotPresent
		}
		e := tbl[levelIndex(iova, level)]
		if e&PTEPresent == 0 {
			return Translation{}, FaultNotPresent
		}
		perm &= ptePerm(e)
		nl := int(e&pteNextMask) >> pteNextShift
		switch {
		case nl == nextLevelLeaf:
			size := uint64(1) << levelShift(level)
			return Translation{PA: e&PTEAddrMask&^(size-1) | iova&(size-1), Size: size, Perm: perm}, FaultNone
		case nl == nextLevelBig:
			size := bigPageSize(e)
			min := uint64(1) << levelShift(level)
			if size <= min || size > min<<9 {
				return Translation{}, FaultBadEntry
			}
			return Translation{PA: e&PTEAddrMask&^(size-1) | iova&(size-1), Size: size, Perm: perm}, FaultNone
		case nl < level:
			// Skipped levels nl+1 .. level-1 must have zero index bits.
			for l := level - 1; l > nl; l-- {
				if levelIndex(iova, l) != 0 {
					return Translation{}, FaultBadEntry
				}
			}
			table = e & PTEAddrMask
			level = nl
		default:
			return Translation{}, FaultBadEntry
		}
	}
	return Translation{}, FaultBadEntry
}

func ptePerm(e uint64) Perm {
	var p Perm
	if e&PTERead != 0 {
		p |= PermRead
	}
	if e&PTEWrite != 0 {
		p |= PermWrite
	}
	return p
}

// bigPageSize decodes a NextLevel-7 entry's page size: 2^(n+1) where bit n
// is the lowest zero address bit at or above bit 12 (spec table "Example
// Page Size Encodings": bit 12 clear is 8 KiB, bits 12..19 set and bit 20
// clear is 2 MiB).
func bigPageSize(e uint64) uint64 {
	n := uint(12)
	for n < 52 && e&(1<<n) != 0 {
		n++
	}
	if n >= 52 {
		return 0
	}
	return 1 << (n + 1)
}
