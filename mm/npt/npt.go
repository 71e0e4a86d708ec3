// Package npt manages a domain's guest-physical memory: RAM frames from the
// guest pool mapped by nested page tables (AMD NPT or Intel EPT, in the
// Format the backend chooses), guest-physical → machine translation, and
// copying in and out.
//
// Pure Go over small interfaces, tested on the host.
package npt

import (
	"errors"
	"fmt"

	"gozen/mm/pgtable"
)

// Frames supplies zeroed, contiguous machine frames (the guest pool).
type Frames interface {
	Alloc(n, align uint64) (pa uint64, ok bool)
	Free(pa, n uint64)
}

// ZeroedFreer may be implemented by a Frames: FreeZeroed takes back frames
// that were never written since Alloc handed them out, so that they need
// no clearing before their next use (Lend gives back such frames).
type ZeroedFreer interface {
	FreeZeroed(pa, n uint64)
}

// freeZeroed returns never-written frames to f, as clean ones if f can
// take them so.
func freeZeroed(f Frames, pa, n uint64) {
	if z, ok := f.(ZeroedFreer); ok {
		z.FreeZeroed(pa, n)
		return
	}
	f.Free(pa, n)
}

// Phys gives access to machine memory (the direct map on hardware).
type Phys interface {
	Bytes(pa, n uint64) []byte
}

const (
	page     = 4096
	bigPage  = 2 << 20
	bigPages = bigPage / page
	// MaxGPA bounds guest-physical addresses GoZen maps (2^47, the
	// 4-level limit shared with pgtable's canonical check).
	MaxGPA = 1 << 47
)

// Format is the nested page tables' entry encoding, which the
// virtualization backend chooses (backend.Backend.PagingFormat). Both are
// the 4-level x86-64 tree that package pgtable builds; they differ in the
// bits of an entry:
//
//   - NPT (AMD, APM vol. 2 §15.25): ordinary x86-64 entries. Nested walks
//     are user accesses (§15.25.5), so every entry has Present, Writable and
//     User; no NoExec, since guest code runs from RAM. The memory type comes
//     from the guest's PAT (the VMCB's G_PAT) combined with the host's.
//   - EPT (Intel, SDM vol. 3 §29.3.2 "EPT Translation Mechanism"; §28.3.2 in
//     older editions): bits 0-2 are Read, Write and Execute. A leaf also
//     carries its memory type in bits 3-5 (6, write-back, for RAM) and bit 6
//     "ignore PAT", as Xen's epte_get_entry_emt gives RAM of a domain
//     without passthrough devices; bit 7 marks a 2 MiB or 1 GiB leaf.
//
// pgtable writes non-leaf entries as Present|Writable|User, bits 0-2, which
// EPT reads as Read|Write|Execute: the tables above the leaves are right
// for both formats, and pgtable's "present" test (bit 0) is EPT's Read bit,
// which every EPT entry built here has. Its large-page bit (Huge, 7) is
// EPT's too. Only the leaves differ, so only they depend on the Format.
type Format int

// Nested paging formats.
const (
	NPT Format = iota // AMD nested page tables (the zero value)
	EPT               // Intel extended page tables
)

func (f Format) String() string {
	switch f {
	case NPT:
		return "NPT"
	case EPT:
		return "EPT"
	}
	return "Format(" + fmt.Sprint(int(f)) + ")"
}

// EPT entry bits (Intel SDM vol. 3 §29.3.2, tables 29-1 to 29-6).
const (
	EPTRead      = 1 << 0
	EPTWrite     = 1 << 1
	EPTExec      = 1 << 2
	EPTMemTypeWB = 6 << 3 // memory type write-back, bits 5:3 of a leaf
	EPTIgnorePAT = 1 << 6
	EPTLarge     = 1 << 7 // a 2 MiB (PDE) or 1 GiB (PDPTE) leaf
)

// Leaf returns the flags of a leaf mapping guest RAM (or a frame mapped
// over it) in format f, writable unless readOnly; ok is false for an
// unknown format. pgtable adds the large-page bit by level.
func (f Format) Leaf(readOnly bool) (flags uint64, ok bool) {
	switch f {
	case NPT:
		flags = pgtable.Present | pgtable.Writable | pgtable.User
		if readOnly {
			flags &^= pgtable.Writable
		}
	case EPT:
		flags = EPTRead | EPTWrite | EPTExec | EPTMemTypeWB | EPTIgnorePAT
		if readOnly {
			flags &^= EPTWrite
		}
	default:
		return 0, false
	}
	return flags, true
}

type chunk struct{ gpa, hpa, size uint64 }

// overlay is a frame mapped over (or beyond) RAM: a hypervisor page such as
// a grant-table frame, or another domain's granted page.
type overlay struct {
	hpa      uint64
	readOnly bool
}

// Memory is one domain's guest-physical RAM.
type Memory struct {
	pt     pgtable.Table
	format Format
	leaf   uint64 // writable leaf flags in format (Format.Leaf)
	frames Frames
	phys   Phys
	size   uint64
	chunks []chunk
	big    int // 2 MiB pages in use
	// Frames mapped at guest frame numbers by MapFrame, and the RAM frame
	// each one hides (0 if the gfn was not RAM).
	overlays map[uint64]overlay
	hidden   map[uint64]uint64
	// Ballooning (Xen's decrease_reservation / populate_physmap): RAM
	// frames below size given back to the pool (holes), frames added at
	// guest frame numbers since (extra, gfn -> machine address), and
	// frames the domain holds outside its physmap (unplaced).
	holes    map[uint64]bool
	extra    map[uint64]uint64
	unplaced []uint64
	// lent: runs of the caller's frames mapped as RAM below size in place
	// of the domain's own (Lend), sorted by gpa. They are never given to
	// the pool; the frames they replaced went back to it already.
	lent []chunk
	// pool, when set, holds the table pages and goes back with Release.
	pool *Pool
	// limit bounds the guest-physical addresses the domain may back
	// (AddRAM, MapFrame): its physical-address width, as Xen's max_gfn.
	limit uint64
	// ident is RAM at its own machine address (AddIdentityRAM: dom0's
	// identity p2m), sorted, in frames the caller owns; identPages counts
	// them. direct counts pages of MapIdentity (MMIO) mappings.
	ident      []chunk
	identPages uint64
	direct     uint64
	// gen changes with every change to what a guest-physical address
	// translates to (Generation).
	gen uint64
}

// New creates empty nested page tables in NPT format whose table pages come
// from tables.
func New(tables pgtable.Memory, frames Frames, phys Phys) (*Memory, error) {
	return NewFormat(NPT, tables, frames, phys)
}

// NewFormat is New for nested page tables in format f.
func NewFormat(f Format, tables pgtable.Memory, frames Frames, phys Phys) (*Memory, error) {
	leaf, ok := f.Leaf(false)
	if !ok {
		return nil, fmt.Errorf("npt: unknown nested paging format %v", f)
	}
	t, err := pgtable.New(tables)
	if err != nil {
		return nil, fmt.Errorf("npt: %w", err)
	}
	return &Memory{pt: t, format: f, leaf: leaf, frames: frames, phys: phys, limit: MaxGPA}, nil
}

// NewWithPool creates empty nested page tables in format f whose table pages come from
// the domain's paging pool; Release gives the pool back too.
func NewWithPool(f Format, pool *Pool, frames Frames, phys Phys) (*Memory, error) {
	m, err := NewFormat(f, pool, frames, phys)
	if err != nil {
		pool.Release()
		return nil, tableErr(err)
	}
	m.pool = pool
	return m, nil
}

// Pool is the domain's paging pool (nil if its tables come from elsewhere).
func (m *Memory) Pool() *Pool { return m.pool }

// SetLimit bounds the guest-physical addresses AddRAM and MapFrame accept
// to [0, limit) (at most MaxGPA): the domain's physical-address width, as
// Xen's p2m refuses gfns beyond the guest's maxphysaddr. RAM populated at
// creation is not affected.
func (m *Memory) SetLimit(limit uint64) {
	m.gen++
	m.limit = min(limit, MaxGPA)
}

// Limit is the bound set by SetLimit.
func (m *Memory) Limit() uint64 { return m.limit }

// ErrTooHigh means a guest frame lies beyond the domain's physical-address
// limit (SetLimit).
var ErrTooHigh = errors.New("npt: guest frame beyond the domain's physical-address limit")

// tableErr turns pgtable's out-of-table-memory error into ErrNoTables, so
// callers can tell an empty paging pool (-ENOMEM) from a bad argument.
func tableErr(err error) error {
	if errors.Is(err, pgtable.ErrNoMemory) {
		return ErrNoTables
	}
	return err
}

// beyond reports whether frames gfn .. gfn+n-1 are not all below the limit.
func (m *Memory) beyond(gfn, n uint64) bool {
	lim := m.limit / page
	return gfn >= lim || n > lim-gfn
}

// Format is the entry format of m's tables.
func (m *Memory) Format() Format { return m.format }

// Root is the machine address of the top-level table (the VMCB's nCR3).
func (m *Memory) Root() uint64 { return m.pt.Root }

// Size is the RAM populated so far, in bytes from guest-physical 0.
func (m *Memory) Size() uint64 { return m.size }

// BigPages reports how many 2 MiB pages back the RAM.
func (m *Memory) BigPages() int { return m.big }

// ErrNoMemory means the guest pool ran out.
var ErrNoMemory = errors.New("npt: out of guest memory")

// Populate backs guest-physical [0, size) with RAM, using 2 MiB pages where
// alignment and the pool allow and 4 KiB pages elsewhere. On failure
// everything populated by this call is released.
func (m *Memory) Populate(size uint64) error {
	m.gen++
	if m.size != 0 {
		return errors.New("npt: memory already populated")
	}
	if size == 0 || size%page != 0 || size > MaxGPA {
		return fmt.Errorf("npt: bad memory size %#x", size)
	}
	if err := m.grow(size / page); err != nil {
		m.Release()
		return err
	}
	return nil
}

// Release unmaps and frees all RAM and the tables themselves. The Memory is
// unusable afterwards.
func (m *Memory) Release() {
	m.gen++
	m.overlays, m.hidden = nil, nil
	for _, c := range m.chunks {
		if len(m.holes) == 0 && len(m.lent) == 0 {
			m.frames.Free(c.hpa, c.size/page)
			continue
		}
		for i := uint64(0); i < c.size/page; i++ {
			if _, lent := m.lentAt(c.gpa/page + i); !m.holes[c.gpa/page+i] && !lent {
				m.frames.Free(c.hpa+i*page, 1)
			}
		}
	}
	for _, hpa := range m.extra {
		m.frames.Free(hpa, 1)
	}
	for _, hpa := range m.unplaced {
		m.frames.Free(hpa, 1)
	}
	m.holes, m.extra, m.unplaced, m.lent = nil, nil, nil, nil
	m.chunks = nil
	m.ident, m.identPages, m.direct = nil, 0, 0
	m.size = 0
	m.big = 0
	m.pt.Destroy()
	if m.pool != nil {
		m.pool.Release()
		m.pool = nil
	}
}

// Translate returns the machine address backing gpa.
func (m *Memory) Translate(gpa uint64) (uint64, bool) {
	if gpa < m.size {
		// RAM, or a frame mapped over RAM: the nested tables map both (an
		// overlay is mapped there before it is recorded), so they answer
		// without the overlay map. This is the path of every guest page
		// walk hv makes.
		pa, _, _, ok := m.pt.Lookup(gpa)
		return pa, ok
	}
	if o, ok := m.overlays[gpa/page]; ok {
		return o.hpa + gpa%page, true
	}
	if gpa >= MaxGPA {
		return 0, false
	}
	if _, added := m.extra[gpa/page]; gpa >= m.size && !added && !m.inIdent(gpa/page) {
		return 0, false
	}
	pa, _, _, ok := m.pt.Lookup(gpa)
	return pa, ok
}

// MapFrame maps machine frame hpa at guest frame gfn, over RAM or beyond it
// (Xen's add_to_physmap of a hypervisor page, or a grant mapping). A 2 MiB
// page around gfn is split first. The RAM frame it hides stays the domain's
// and comes back with UnmapFrame. The caller flushes the guest's TLB.
func (m *Memory) MapFrame(gfn, hpa uint64, readOnly bool) error {
	m.gen++
	gpa := gfn * page
	if m.beyond(gfn, 1) {
		return ErrTooHigh
	}
	if hpa%page != 0 {
		return fmt.Errorf("npt: cannot map frame %#x at gfn %#x", hpa, gfn)
	}
	if _, ok := m.overlays[gfn]; ok {
		return fmt.Errorf("npt: gfn %#x already has a frame mapped over it", gfn)
	}
	old, _, size, mapped := m.pt.Lookup(gpa)
	if mapped && size == pgtable.Size2M {
		if err := m.split(gpa &^ (bigPage - 1)); err != nil {
			return err
		}
	}
	if mapped {
		if _, _, ok := m.pt.Unmap(gpa); !ok {
			return fmt.Errorf("npt: unmapping gfn %#x failed", gfn)
		}
	}
	flags, _ := m.format.Leaf(readOnly)
	if err := m.pt.Map(gpa, hpa, pgtable.Size4K, flags); err != nil {
		if mapped {
			m.pt.Map(gpa, old&^(page-1), pgtable.Size4K, m.leaf)
		}
		return fmt.Errorf("npt: mapping gfn %#x: %w", gfn, tableErr(err))
	}
	if m.overlays == nil {
		m.overlays, m.hidden = map[uint64]overlay{}, map[uint64]uint64{}
	}
	m.overlays[gfn] = overlay{hpa: hpa, readOnly: readOnly}
	if mapped {
		m.hidden[gfn] = old &^ (page - 1)
	}
	return nil
}

// UnmapFrame removes a frame mapped by MapFrame and restores the RAM frame
// it hid, if any. It returns the machine frame that was mapped.
func (m *Memory) UnmapFrame(gfn uint64) (uint64, error) {
	m.gen++
	o, ok := m.overlays[gfn]
	if !ok {
		return 0, fmt.Errorf("npt: no frame mapped at gfn %#x", gfn)
	}
	gpa := gfn * page
	m.pt.Unmap(gpa)
	delete(m.overlays, gfn)
	if ram, ok := m.hidden[gfn]; ok {
		delete(m.hidden, gfn)
		if err := m.pt.Map(gpa, ram, pgtable.Size4K, m.leaf); err != nil {
			return o.hpa, err
		}
	}
	return o.hpa, nil
}

// split turns the 2 MiB page at gpa into 512 4 KiB pages of the same frames.
func (m *Memory) split(gpa uint64) error {
	m.gen++
	hpa, _, size, ok := m.pt.Lookup(gpa)
	if !ok || size != pgtable.Size2M {
		return nil
	}
	m.pt.Unmap(gpa)
	if err := m.pt.MapRange(gpa, hpa, bigPage, m.leaf, pgtable.Size4K); err != nil {
		m.pt.Map(gpa, hpa, pgtable.Size2M, m.leaf)
		return fmt.Errorf("npt: splitting the 2 MiB page at %#x: %w", gpa, tableErr(err))
	}
	m.big--
	return nil
}

// IsRAM reports whether gfn is the domain's own RAM (not an overlay).
func (m *Memory) IsRAM(gfn uint64) bool {
	if _, over := m.overlays[gfn]; over {
		return false
	}
	if _, ok := m.extra[gfn]; ok {
		return true
	}
	return (gfn < m.size/page || m.inIdent(gfn)) && !m.holes[gfn]
}

// Pages is how many RAM frames the domain holds: its populated RAM less
// what it gave back, plus what it was given since (Xen's
// current_reservation).
func (m *Memory) Pages() uint64 {
	return m.size/page + m.identPages - uint64(len(m.holes)) + uint64(len(m.extra)) + uint64(len(m.unplaced))
}

// RemoveRAM gives the RAM frames at gfn .. gfn+n-1 back to the pool and
// leaves those guest frames unbacked (Xen's decrease_reservation). Every
// frame must be the domain's own RAM, not an overlay; otherwise nothing
// changes. The caller flushes the guest's TLB and makes sure no one else
// still uses the frames (a grant mapping in another domain).
func (m *Memory) RemoveRAM(gfn, n uint64) error {
	m.gen++
	for i := uint64(0); i < n; i++ {
		if !m.IsRAM(gfn + i) { // an overlay, which may hide RAM, is not
			return &ErrOutside{(gfn + i) * page}
		}
	}
	for i := uint64(0); i < n; i++ {
		g := gfn + i
		gpa := g * page
		if _, _, size, _ := m.pt.Lookup(gpa); size == pgtable.Size2M {
			if err := m.split(gpa &^ (bigPage - 1)); err != nil {
				return err // frames before g are already gone: reported done by the caller's count
			}
		}
		hpa, _, _ := m.pt.Unmap(gpa)
		hpa &^= page - 1
		if m.inIdent(g) {
			// Identity RAM stays the caller's: the frame waits for
			// AddRAM to put it back at its own address.
			if m.holes == nil {
				m.holes = map[uint64]bool{}
			}
			m.holes[g] = true
			continue
		}
		if i, ok := m.lentAt(g); ok {
			m.unlend(i, g) // the lender's frame: g is a hole now
			if m.holes == nil {
				m.holes = map[uint64]bool{}
			}
			m.holes[g] = true
			continue
		}
		m.frames.Free(hpa, 1)
		if _, ok := m.extra[g]; ok {
			delete(m.extra, g)
			continue
		}
		if m.holes == nil {
			m.holes = map[uint64]bool{}
		}
		m.holes[g] = true
	}
	return nil
}

// AddRAM backs the unbacked guest frames gfn .. gfn+n-1 with new zeroed
// frames from the pool (Xen's populate_physmap). None of them may be RAM
// or have a frame mapped; on failure nothing changes.
func (m *Memory) AddRAM(gfn, n uint64) error {
	m.gen++
	if m.beyond(gfn, n) {
		return ErrTooHigh
	}
	for i := uint64(0); i < n; i++ {
		if _, over := m.overlays[gfn+i]; over || m.IsRAM(gfn+i) {
			return fmt.Errorf("npt: gfn %#x is already backed", gfn+i)
		}
	}
	if gfn == m.size/page && len(m.ident) == 0 {
		return m.grow(n)
	}
	for i := uint64(0); i < n; i++ {
		g := gfn + i
		if m.inIdent(g) {
			// A hole in identity RAM gets its own frame back, so
			// guest-physical stays machine (devices' DMA).
			clear(m.phys.Bytes(g*page, page)) // populate_physmap gives zeroed pages
			if err := m.pt.Map(g*page, g*page, pgtable.Size4K, m.leaf); err != nil {
				m.RemoveRAM(gfn, i)
				return fmt.Errorf("npt: mapping gfn %#x: %w", g, tableErr(err))
			}
			delete(m.holes, g)
			continue
		}
		hpa, ok := m.frames.Alloc(1, 1)
		if !ok {
			m.RemoveRAM(gfn, i)
			return ErrNoMemory
		}
		if err := m.pt.Map(g*page, hpa, pgtable.Size4K, m.leaf); err != nil {
			m.frames.Free(hpa, 1)
			m.RemoveRAM(gfn, i)
			return fmt.Errorf("npt: mapping gfn %#x: %w", g, tableErr(err))
		}
		if m.extra == nil {
			m.extra = map[uint64]uint64{}
		}
		m.extra[g] = hpa
	}
	return nil
}

// grow extends the RAM run [0, size) by n frames (AddRAM at its end, as a
// toolstack populates a new domain from gfn 0 up, and Populate from 0): 2 MiB
// pages where aligned and the pool has 512 contiguous frames, 4 KiB frames
// otherwise, recorded as chunks rather than one map entry a frame. The
// caller checked that none of the frames is backed; on failure the run is
// cut back to where it was.
func (m *Memory) grow(n uint64) error {
	oldSize, oldChunks, oldBig := m.size, len(m.chunks), m.big
	end := m.size + n*page
	for gpa := m.size; gpa < end; {
		if gpa%bigPage == 0 && end-gpa >= bigPage {
			ok, err := m.mapBig(gpa)
			if err != nil {
				m.shrink(oldSize, oldChunks, oldBig)
				return err
			}
			if ok {
				gpa += bigPage
				m.size = gpa
				continue
			}
		}
		hpa, ok := m.frames.Alloc(1, 1)
		if !ok {
			m.shrink(oldSize, oldChunks, oldBig)
			return ErrNoMemory
		}
		if err := m.pt.Map(gpa, hpa, pgtable.Size4K, m.leaf); err != nil {
			m.frames.Free(hpa, 1)
			m.shrink(oldSize, oldChunks, oldBig)
			return fmt.Errorf("npt: mapping %#x: %w", gpa, tableErr(err))
		}
		if k := len(m.chunks); k > oldChunks && m.chunks[k-1].size != bigPage &&
			m.chunks[k-1].gpa+m.chunks[k-1].size == gpa && m.chunks[k-1].hpa+m.chunks[k-1].size == hpa {
			m.chunks[k-1].size += page
		} else {
			m.chunks = append(m.chunks, chunk{gpa, hpa, page})
		}
		gpa += page
		m.size = gpa
	}
	return nil
}

// shrink undoes grow: the chunks after the first keep are unmapped and
// freed, and the run ends at size again.
func (m *Memory) shrink(size uint64, keep, big int) {
	for _, c := range m.chunks[keep:] {
		// A chunk is one 2 MiB page or a run of 4 KiB ones (which may
		// add up to 2 MiB too): each leaf says its size.
		for off := uint64(0); off < c.size; {
			_, sz, ok := m.pt.Unmap(c.gpa + off)
			if !ok {
				sz = page
			}
			off += sz
		}
		m.frames.Free(c.hpa, c.size/page)
	}
	m.chunks = m.chunks[:keep]
	m.size, m.big = size, big
}

// AddUnplaced gives the domain n zeroed frames that are in no guest frame
// (Xen's increase_reservation for an auto-translated guest). They count in
// Pages and go back to the pool with Release.
func (m *Memory) AddUnplaced(n uint64) error {
	m.gen++
	for i := uint64(0); i < n; i++ {
		hpa, ok := m.frames.Alloc(1, 1)
		if !ok {
			for ; i > 0; i-- {
				last := len(m.unplaced) - 1
				m.frames.Free(m.unplaced[last], 1)
				m.unplaced = m.unplaced[:last]
			}
			return ErrNoMemory
		}
		m.unplaced = append(m.unplaced, hpa)
	}
	return nil
}

// ErrOutside is returned for accesses beyond the populated RAM.
type ErrOutside struct{ GPA uint64 }

func (e *ErrOutside) Error() string { return fmt.Sprintf("guest-physical %#x is not RAM", e.GPA) }

// ErrReadOnly is returned by WritePhys for a guest frame the domain may not
// write: a frame mapped read-only over its physmap (a GNTMAP_readonly grant
// mapping). hv's writes on a guest's behalf obey the same permission as the
// guest's own CPU writes, which the nested page tables refuse there.
type ErrReadOnly struct{ GPA uint64 }

func (e *ErrReadOnly) Error() string {
	return fmt.Sprintf("guest-physical %#x is mapped read-only", e.GPA)
}

// Kind is what backs a guest frame in the domain's physmap (Xen's p2m type,
// in the few kinds GoZen has).
type Kind uint8

const (
	// Unbacked: nothing (a ballooned-out hole, or beyond the domain's
	// memory); the CPU gets a nested page fault there.
	Unbacked Kind = iota
	// RAM: one of the domain's own RAM frames (Xen's p2m_ram_rw).
	RAM
	// Mapped: a frame mapped with MapFrame over or beyond RAM, not the
	// domain's own: another domain's granted page (p2m_grant_map_rw/ro) or
	// a hypervisor page such as a grant-table frame.
	Mapped
	// Direct: machine memory that is not RAM (a device's MMIO, firmware)
	// mapped at its own address with MapIdentity (Xen's p2m_mmio_direct,
	// dom0's view of the machine). hv neither reads nor writes it for the
	// guest: Translate fails there.
	Direct
)

func (k Kind) String() string {
	switch k {
	case RAM:
		return "RAM"
	case Mapped:
		return "mapped frame"
	case Direct:
		return "direct MMIO"
	}
	return "unbacked"
}

// Lookup reports what backs guest frame gfn and whether the nested page
// tables let the guest write it. hv checks it before writing guest memory
// itself: WritePhys refuses what is not writable, and the Xen structures hv
// keeps writing (vcpu_info, FIFO pages, the console ring, the hypercall
// page) must be RAM, as Xen asks for get_page_and_type(PGT_writable_page) of
// a page the domain owns.
func (m *Memory) Lookup(gfn uint64) (kind Kind, writable bool) {
	if o, ok := m.overlays[gfn]; ok {
		return Mapped, !o.readOnly
	}
	if m.IsRAM(gfn) {
		return RAM, true // RAM is always mapped writable (leafFlags)
	}
	if m.direct > 0 && gfn < MaxGPA/page && !m.holes[gfn] {
		if _, _, _, ok := m.pt.Lookup(gfn * page); ok {
			return Direct, false // hv never writes device memory for a guest
		}
	}
	return Unbacked, false
}

// HidesRAM reports whether gfn holds a frame mapped over one of the
// domain's RAM frames, which comes back when that frame is unmapped.
func (m *Memory) HidesRAM(gfn uint64) bool {
	_, ok := m.hidden[gfn]
	return ok
}

// WritableRAM reports whether every byte of [gpa, gpa+n) is in the domain's
// own RAM (n > 0; a range that wraps is not).
func (m *Memory) WritableRAM(gpa, n uint64) bool {
	if n == 0 || gpa+n < gpa {
		return false
	}
	for gfn := gpa / page; gfn <= (gpa+n-1)/page; gfn++ {
		if k, w := m.Lookup(gfn); k != RAM || !w {
			return false
		}
	}
	return true
}

func (m *Memory) copy(gpa uint64, p []byte, write bool) error {
	if write {
		// Check the whole range first, as the CPU's access checks do, so a
		// refused write leaves guest memory unchanged.
		for a, end := gpa&^(page-1), gpa+uint64(len(p)); a < end && a >= gpa&^(page-1); a += page {
			if _, ok := m.Translate(a); !ok {
				return &ErrOutside{max(a, gpa)}
			}
			if o, ok := m.overlays[a/page]; ok && o.readOnly {
				return &ErrReadOnly{max(a, gpa)}
			}
		}
	}
	for len(p) > 0 {
		hpa, ok := m.Translate(gpa)
		if !ok {
			return &ErrOutside{gpa}
		}
		n := page - gpa%page
		if n > uint64(len(p)) {
			n = uint64(len(p))
		}
		b := m.phys.Bytes(hpa, n)
		if write {
			copy(b, p[:n])
		} else {
			copy(p[:n], b)
		}
		p = p[n:]
		gpa += n
	}
	return nil
}

// ReadPhys copies guest-physical memory at gpa into p.
func (m *Memory) ReadPhys(gpa uint64, p []byte) error { return m.copy(gpa, p, false) }

// WritePhys copies p into guest-physical memory at gpa. It writes only
// where the guest itself could write (ErrReadOnly otherwise) and checks the
// whole range before writing any of it.
func (m *Memory) WritePhys(gpa uint64, p []byte) error { return m.copy(gpa, p, true) }

// Zero clears n bytes of guest-physical memory at gpa.
func (m *Memory) Zero(gpa, n uint64) error {
	var z [page]byte
	for n > 0 {
		k := page - gpa%page
		if k > n {
			k = n
		}
		if err := m.WritePhys(gpa, z[:k]); err != nil {
			return err
		}
		gpa += k
		n -= k
	}
	return nil
}

// HostPage returns hv's view of the guest-physical page that holds gpa,
// the bytes ReadPhys reads there, or false where ReadPhys fails. The view
// stays valid while Generation is unchanged (x86.FetchCache).
func (m *Memory) HostPage(gpa uint64) (*[page]byte, bool) {
	hpa, ok := m.Translate(gpa &^ (page - 1))
	if !ok {
		return nil, false
	}
	return (*[page]byte)(m.phys.Bytes(hpa, page)), true
}

// Generation changes whenever what some guest-physical address translates
// to may have changed (RAM added or removed, a frame mapped or unmapped, a
// 2 MiB page split, the tables released), so that a caller may keep
// HostPage's answers until it changes.
func (m *Memory) Generation() uint64 { return m.gen }

// ReadPhys32 reads a little-endian 32-bit word (x86.PhysWordReader: page
// walks read entries this way without allocating a buffer).
func (m *Memory) ReadPhys32(gpa uint64) (uint32, error) {
	var b [4]byte
	if gpa%page <= page-4 {
		hpa, ok := m.Translate(gpa)
		if !ok {
			return 0, &ErrOutside{gpa}
		}
		copy(b[:], m.phys.Bytes(hpa, 4))
	} else if err := m.ReadPhys(gpa, b[:]); err != nil {
		return 0, err
	}
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24, nil
}

// ReadPhys64 reads a little-endian 64-bit word (x86.PhysWordReader). A word
// inside one page, such as every page-table entry a guest walk reads, takes
// one translation: a walk of 4-level tables then costs five translations
// (four entries and the final access) rather than nine.
func (m *Memory) ReadPhys64(gpa uint64) (uint64, error) {
	if gpa%page <= page-8 {
		hpa, ok := m.Translate(gpa)
		if !ok {
			return 0, &ErrOutside{gpa}
		}
		b := m.phys.Bytes(hpa, 8)
		return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
			uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56, nil
	}
	lo, err := m.ReadPhys32(gpa)
	if err != nil {
		return 0, err
	}
	hi, err := m.ReadPhys32(gpa + 4)
	if err != nil {
		return 0, err
	}
	return uint64(lo) | uint64(hi)<<32, nil
}

// mapBig backs [gpa, gpa+2 MiB) with one 2 MiB page when the pool has 512
// contiguous frames; false (and nothing changed) when it has not, so the
// caller falls back to 4 KiB pages.
func (m *Memory) mapBig(gpa uint64) (bool, error) {
	hpa, ok := m.frames.Alloc(bigPages, bigPages)
	if !ok {
		return false, nil
	}
	if err := m.pt.Map(gpa, hpa, pgtable.Size2M, m.leaf); err != nil {
		m.frames.Free(hpa, bigPages)
		return false, fmt.Errorf("npt: mapping %#x: %w", gpa, tableErr(err))
	}
	m.chunks = append(m.chunks, chunk{gpa, hpa, bigPage})
	m.big++
	return true, nil
}
