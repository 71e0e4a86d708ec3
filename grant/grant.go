package grant

import (
	"fmt"
	"sync"
	"unsafe"

	"gozen/abi/xen"
)

// Mem is a domain's guest-physical memory as this package needs it.
type Mem interface {
	// Page returns the domain's RAM page at gfn, or nil if gfn is not RAM
	// of this domain (unpopulated, MMIO, or itself a foreign/grant mapping).
	Page(gfn uint64) *[PageSize]byte
	// MapForeign maps machine frame mfn (a frame of another domain, or of
	// this one for a self-grant) at this domain's gfn: a grant mapping in
	// the physmap (Xen's p2m_grant_map_rw/ro). UnmapForeign removes such a
	// mapping again. Both must flush whatever TLBs cache the old entry.
	MapForeign(gfn uint64, mfn uint64, readOnly bool) error
	UnmapForeign(gfn uint64) error
	// Translate returns the machine frame behind the domain's RAM at gfn.
	Translate(gfn uint64) (mfn uint64, ok bool)
}

// FrameSource allocates the hypervisor-owned pages that hold grant tables.
// page must be the frame's memory (4 KiB, at least 8-byte aligned, as any
// frame is); its content does not matter, it is cleared.
type FrameSource interface {
	Alloc() (mfn uint64, page *[PageSize]byte, err error)
}

// Defaults, as in Xen.
const (
	// DefaultMaxGrantFrames is Xen's gnttab_max_frames default.
	DefaultMaxGrantFrames = 64
	// DefaultMaxMaptrack is the default number of maptrack handles per
	// domain: Xen's gnttab_max_maptrack_frames default (1024 frames) times
	// the 256 16-byte struct grant_mapping a frame holds.
	DefaultMaxMaptrack = 1024 * (PageSize / 16)
	// InitialGrantFrames is INITIAL_NR_GRANT_FRAMES: a new table's size.
	InitialGrantFrames = 1
	// maxGrantFramesLimit keeps entry numbers within grant_ref_t.
	maxGrantFramesLimit = 1 << 22
)

// Config configures a System.
type Config struct {
	// Frames allocates grant table frames. Required.
	Frames FrameSource
	// MaxGrantFrames is the default maximum table size of a domain
	// (0: DefaultMaxGrantFrames).
	MaxGrantFrames int
	// MaxMaptrack is the default number of maptrack handles of a domain
	// (0: DefaultMaxMaptrack).
	MaxMaptrack int
	// OnGone, if set, is called once a released domain is completely gone
	// (at once from ReleaseDomain, or later from the unmap that dropped the
	// last foreign mapping of its grants), with the machine frames of its
	// grant table, which the caller may now free. It is called without the
	// System's lock held.
	OnGone func(domid uint16, tableMFNs []uint64)
}

// DomainOptions are per-domain settings (Xen's domctl createdomain
// max_grant_frames / max_maptrack_frames, and privilege).
type DomainOptions struct {
	// MaxGrantFrames overrides Config.MaxGrantFrames when > 0.
	MaxGrantFrames int
	// MaxMaptrack overrides Config.MaxMaptrack when > 0; a negative value
	// means the domain may not map grants at all.
	MaxMaptrack int
	// Privileged lets the domain query and set up other domains' tables
	// (XSM_TARGET for a control domain).
	Privileged bool
}

// System is the set of domains that can grant to each other.
type System struct {
	mu      sync.Mutex
	cfg     Config
	doms    map[uint16]*Domain // live and lingering (released, still mapped) domains
	mapped  map[uint64]int     // mfn -> number of grant mappings of it
	pending []func()           // callbacks to run once mu is released
}

// NewSystem returns an empty System.
func NewSystem(cfg Config) *System {
	if cfg.MaxGrantFrames <= 0 {
		cfg.MaxGrantFrames = DefaultMaxGrantFrames
	}
	if cfg.MaxMaptrack <= 0 {
		cfg.MaxMaptrack = DefaultMaxMaptrack
	}
	return &System{cfg: cfg, doms: map[uint16]*Domain{}, mapped: map[uint64]int{}}
}

func (s *System) lock() { s.mu.Lock() }

// unlock releases mu and then runs the callbacks queued under it.
func (s *System) unlock() {
	p := s.pending
	s.pending = nil
	s.mu.Unlock()
	for _, f := range p {
		f()
	}
}

// tableFrame is one page of a grant table.
type tableFrame struct {
	mfn  uint64
	page *[PageSize]byte
}

// Pin counter limit: Xen keeps 8-bit counters and refuses an increment
// when the counter's top bit is set (GNTPIN_incr2oflow_mask).
const pinLimit = 1 << 7

// active is Xen's struct active_grant_entry for a v1 table: the pin counts
// of host mappings (and of in-flight copies, which use the same counters),
// the domain holding the pins and the frame latched at the first pin.
type active struct {
	hostW uint16 // GNTPIN_hstw: writable pins
	hostR uint16 // GNTPIN_hstr: read-only pins
	domid uint16 // domain the entry is pinned for
	gfn   uint64 // granter's gfn (entry frame at first pin)
	mfn   uint64 // machine frame behind gfn at first pin
}

func (a *active) pinned() bool { return a.hostW != 0 || a.hostR != 0 }

// Domain is one domain's grant state, created by System.NewDomain. ID and
// Mem are read-only after that.
type Domain struct {
	ID  uint16 // domain id
	Mem Mem    // its guest-physical memory

	sys        *System
	privileged bool
	maxFrames  int
	frames     []tableFrame
	active     []active // one per entry
	mt         maptrack
	// pins is the number of maptrack entries (of any domain) that map one
	// of this domain's grants.
	pins  int
	dying bool // released: no new operations
	gone  bool // removed from the registry
}

// NewDomain registers domain id with its memory and allocates its first
// table frame.
func (s *System) NewDomain(id uint16, mem Mem, opt DomainOptions) (*Domain, error) {
	if id >= xen.DomIDFirstReserved {
		return nil, fmt.Errorf("grant: domain id %#x is reserved: %w", id, xen.EINVAL)
	}
	if mem == nil {
		return nil, fmt.Errorf("grant: domain %d: no memory: %w", id, xen.EINVAL)
	}
	if s.cfg.Frames == nil {
		return nil, fmt.Errorf("grant: no FrameSource configured: %w", xen.EINVAL)
	}
	maxFrames := s.cfg.MaxGrantFrames
	if opt.MaxGrantFrames > 0 {
		maxFrames = opt.MaxGrantFrames
	}
	if maxFrames < InitialGrantFrames || maxFrames > maxGrantFramesLimit {
		return nil, fmt.Errorf("grant: domain %d: bad max grant frames %d: %w", id, maxFrames, xen.EINVAL)
	}
	maxMT := s.cfg.MaxMaptrack
	if opt.MaxMaptrack > 0 {
		maxMT = opt.MaxMaptrack
	} else if opt.MaxMaptrack < 0 {
		maxMT = 0
	}

	s.lock()
	defer s.unlock()
	if _, ok := s.doms[id]; ok {
		return nil, fmt.Errorf("grant: domain %d already exists: %w", id, xen.EEXIST)
	}
	d := &Domain{ID: id, Mem: mem, sys: s, privileged: opt.Privileged, maxFrames: maxFrames}
	d.mt.init(maxMT)
	if err := d.grow(InitialGrantFrames); err != nil {
		return nil, fmt.Errorf("grant: domain %d: %w", id, err)
	}
	s.doms[id] = d
	return d, nil
}

// grow extends the table to n frames (n <= maxFrames). On an allocation
// failure the table keeps the frames allocated so far and the error is
// returned. Xen rolls a failed growth back; this package cannot free frames,
// and a partly grown table is harmless.
func (d *Domain) grow(n int) error {
	for len(d.frames) < n {
		mfn, page, err := d.sys.cfg.Frames.Alloc()
		if err != nil {
			return fmt.Errorf("allocate grant table frame: %w", err)
		}
		if page == nil || uintptr(unsafe.Pointer(page))%8 != 0 {
			return fmt.Errorf("grant table frame %#x is not a usable page", mfn)
		}
		*page = [PageSize]byte{}
		d.frames = append(d.frames, tableFrame{mfn: mfn, page: page})
		d.active = append(d.active, make([]active, EntriesPerFrame)...)
	}
	return nil
}

func (d *Domain) nrEntries() uint32 { return uint32(len(d.frames)) * EntriesPerFrame }

// hdr returns the entry's {flags u16, domid u16} word (little-endian:
// flags in the low half), which guests and Xen update atomically.
func (d *Domain) hdr(ref uint32) *uint32 {
	f := d.frames[ref/EntriesPerFrame].page
	return (*uint32)(unsafe.Pointer(&f[(ref%EntriesPerFrame)*xen.GrantEntryV1Size]))
}

// frameField returns the entry's frame word.
func (d *Domain) frameField(ref uint32) *uint32 {
	f := d.frames[ref/EntriesPerFrame].page
	return (*uint32)(unsafe.Pointer(&f[(ref%EntriesPerFrame)*xen.GrantEntryV1Size+4]))
}

// alive reports whether d is registered and not released.
func (s *System) alive(d *Domain) bool {
	return d != nil && !d.dying && s.doms[d.ID] == d
}

// byID finds a live domain by real id (rcu_lock_domain_by_id).
func (s *System) byID(id uint16) *Domain {
	d := s.doms[id]
	if d == nil || d.dying {
		return nil
	}
	return d
}

// byAnyID is byID that also resolves DOMID_SELF (rcu_lock_domain_by_any_id).
func (s *System) byAnyID(caller *Domain, id uint16) *Domain {
	if id == xen.DomIDSelf {
		return caller
	}
	return s.byID(id)
}

// permitted is XSM_TARGET with the dummy policy: a domain may act on itself;
// a privileged domain on any.
func permitted(caller, target *Domain) bool {
	return caller == target || caller.privileged
}

// Domain returns the registered domain id (live or lingering after
// ReleaseDomain), or nil.
func (s *System) Domain(id uint16) *Domain {
	s.lock()
	defer s.unlock()
	return s.doms[id]
}

// FrameMFN returns the machine frame of grant table frame idx, growing the
// table to idx+1 frames if needed and allowed (for XENMEM_add_to_physmap
// with XENMAPSPACE_grant_table; Xen's gnttab_get_shared_frame_mfn). It fails
// with EINVAL when idx is beyond the maximum (this includes indexes with
// MapIdxGrantTableStatus set, v1 having no status frames), when the table
// could not grow, or when the domain has been released.
func (d *Domain) FrameMFN(idx int) (uint64, error) {
	s := d.sys
	s.lock()
	defer s.unlock()
	if d.dying || idx < 0 {
		return 0, xen.EINVAL
	}
	if idx >= len(d.frames) {
		if idx+1 <= d.maxFrames {
			_ = d.grow(idx + 1) // as in Xen, only the outcome matters
		}
		if idx >= len(d.frames) {
			return 0, xen.EINVAL
		}
	}
	return d.frames[idx].mfn, nil
}

// NrFrames is the current table size in frames.
func (d *Domain) NrFrames() int {
	d.sys.lock()
	defer d.sys.unlock()
	return len(d.frames)
}

// MaxFrames is the maximum table size in frames.
func (d *Domain) MaxFrames() int { return d.maxFrames }

// TableMFNs returns the machine frames of the table, in index order.
func (d *Domain) TableMFNs() []uint64 {
	d.sys.lock()
	defer d.sys.unlock()
	return d.tableMFNs()
}

func (d *Domain) tableMFNs() []uint64 {
	m := make([]uint64, len(d.frames))
	for i, f := range d.frames {
		m[i] = f.mfn
	}
	return m
}

// Entry reads grant entry ref as the guest last wrote it (plus the
// GTF_reading/GTF_writing bits this package maintains); ok is false when
// ref is beyond the table. For diagnostics (GNTTABOP_dump_table, keyhandlers).
func (d *Domain) Entry(ref uint32) (flags, domid uint16, frame uint32, ok bool) {
	d.sys.lock()
	defer d.sys.unlock()
	if ref >= d.nrEntries() {
		return 0, 0, 0, false
	}
	h := loadHdr(d.hdr(ref))
	return uint16(h), uint16(h >> 16), loadFrame(d.frameField(ref)), true
}

// QuerySize is GNTTABOP_query_size: the current and maximum table size of
// domain dom (DOMID_SELF allowed; another domain only for a privileged
// caller).
func (s *System) QuerySize(caller *Domain, dom uint16) (nrFrames, maxNrFrames uint32, status int16) {
	s.lock()
	defer s.unlock()
	d := s.byAnyID(caller, dom)
	if d == nil || !s.alive(caller) {
		return 0, 0, xen.GNTSTBadDomain
	}
	if !permitted(caller, d) {
		return 0, 0, xen.GNTSTPermissionDenied
	}
	return uint32(len(d.frames)), uint32(d.maxFrames), xen.GNTSTOkay
}

// SetupTable is GNTTABOP_setup_table: grow dom's table to at least nrFrames
// frames and return the machine frames of the first nrFrames. Xen writes
// these to frame_list for a PV guest; for a translated guest it writes the
// gfn where each frame is mapped in dom's physmap (or INVALID_GFN), which
// the hypercall layer must look up itself.
func (s *System) SetupTable(caller *Domain, dom uint16, nrFrames uint32) (mfns []uint64, status int16) {
	s.lock()
	defer s.unlock()
	d := s.byAnyID(caller, dom)
	if d == nil || !s.alive(caller) {
		return nil, xen.GNTSTBadDomain
	}
	if !permitted(caller, d) {
		return nil, xen.GNTSTPermissionDenied
	}
	if nrFrames > uint32(d.maxFrames) {
		return nil, xen.GNTSTGeneralError
	}
	if int(nrFrames) > len(d.frames) {
		if d.grow(int(nrFrames)) != nil {
			return nil, xen.GNTSTGeneralError
		}
	}
	mfns = make([]uint64, nrFrames)
	for i := range mfns {
		mfns[i] = d.frames[i].mfn
	}
	return mfns, xen.GNTSTOkay
}

// SetVersion is GNTTABOP_set_version for the caller's table. Only version
// 1 exists here: 1 succeeds, 2 fails with ENOSYS (what Xen answers a domain
// whose max grant version is 1; Linux then stays on v1), anything else with
// EINVAL. The returned version, to be written back to the guest's op, is
// always the table's version, 1.
func (s *System) SetVersion(caller *Domain, version uint32) (uint32, xen.Errno) {
	switch version {
	case 1:
		return 1, 0
	case 2:
		return 1, xen.ENOSYS
	}
	return 1, xen.EINVAL
}

// GetVersion is GNTTABOP_get_version: ESRCH for an unknown domain, EPERM
// for another domain unless the caller is privileged.
func (s *System) GetVersion(caller *Domain, dom uint16) (uint32, xen.Errno) {
	s.lock()
	defer s.unlock()
	d := s.byAnyID(caller, dom)
	if d == nil || !s.alive(caller) {
		return 0, xen.ESRCH
	}
	if !permitted(caller, d) {
		return 0, xen.EPERM
	}
	return 1, 0
}

// MFNMapped reports whether machine frame mfn is currently grant-mapped by
// some domain. A frame for which this is true must not be freed or handed
// to another domain, even if its owner releases it or dies.
func (s *System) MFNMapped(mfn uint64) bool {
	s.lock()
	defer s.unlock()
	return s.mapped[mfn] > 0
}

// MappedMFNs returns the machine frames currently grant-mapped from domain
// domid's grants (each once).
func (s *System) MappedMFNs(domid uint16) []uint64 {
	s.lock()
	defer s.unlock()
	d := s.doms[domid]
	if d == nil {
		return nil
	}
	var out []uint64
	seen := map[uint64]bool{}
	for i := range d.active {
		a := &d.active[i]
		if a.pinned() && !seen[a.mfn] {
			seen[a.mfn] = true
			out = append(out, a.mfn)
		}
	}
	return out
}

// InUse reports whether some of domain domid's grants are still mapped
// (by other domains or, while it is alive, by itself). After ReleaseDomain
// this is true exactly while the domain lingers.
func (s *System) InUse(domid uint16) bool {
	s.lock()
	defer s.unlock()
	d := s.doms[domid]
	return d != nil && d.pins > 0
}

// ReleaseDomain is called when domain d dies (Xen's
// gnttab_release_mappings, then grant_table_destroy once nothing refers to
// the table). Every mapping d holds of a grant is undone (Mem.UnmapForeign
// on d's physmap, errors ignored: call it before tearing d's physmap down),
// and d stops being usable by new operations. If other domains still map
// some of d's grants, d lingers (lingering is true): see the package
// documentation. Otherwise, or later when the last such mapping goes, d
// leaves the registry and Config.OnGone is called. Releasing a domain twice
// does nothing more.
func (s *System) ReleaseDomain(d *Domain) (lingering bool) {
	s.lock()
	defer s.unlock()
	if d == nil || s.doms[d.ID] != d {
		return false
	}
	if d.dying {
		return !d.gone
	}
	d.dying = true
	for h := range d.mt.ents {
		m := &d.mt.ents[h]
		if m.flags == 0 {
			continue
		}
		if m.flags&xen.GNTMAPHostMap != 0 {
			_ = d.Mem.UnmapForeign(m.gfn)
		}
		s.dropMapping(d, uint32(h))
	}
	s.maybeReap(d)
	return !d.gone
}

// maybeReap removes a released domain from the registry once nothing maps
// its grants any more.
func (s *System) maybeReap(d *Domain) {
	if !d.dying || d.gone || d.pins > 0 {
		return
	}
	d.gone = true
	delete(s.doms, d.ID)
	if s.cfg.OnGone != nil {
		id, mfns, f := d.ID, d.tableMFNs(), s.cfg.OnGone
		s.pending = append(s.pending, func() { f(id, mfns) })
	}
}
