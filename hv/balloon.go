package hv

import (
	"errors"
	"fmt"

	"gozen/mm/npt"
)

// Ballooning: memory_op's reservation calls (Xen's decrease_reservation,
// populate_physmap, increase_reservation). A domain may give RAM back and
// take it again up to the memory it was built with (its maximum
// reservation). Two kinds of frame cannot be given back, and the call stops
// there and reports how many extents it did, as Xen does when an extent
// fails: frames another domain has mapped through a grant (freeing them
// would hand that domain's view of them to whoever gets the frame next),
// and the frames hv writes for the domain (pinned: shared_info, vcpu_info,
// the console and xenstore rings; Xen keeps its own reference to those,
// GoZen refuses).
// Nor may a grant mapping or a grant-table frame cover a pinned frame
// (xen_grant.go): hv writes them by gfn, and Xen would keep writing the
// page out of the guest's sight. Event-channel pages and the runstate area
// may go: every write hv makes checks the frame again (Domain.page,
// ramOnly), finds it missing or no longer the domain's RAM, and stops,
// which only hurts the domain that did it.

// maxPages is d's maximum reservation: the memory it was built with.
func (d *Domain) maxPages() uint64 {
	if d.maxMemSet {
		return d.maxMem / pageSize // dom0 set it (XEN_DOMCTL_max_mem)
	}
	return d.memSize / pageSize
}

// populate backs the 2^order guest frames from gfn with new RAM.
func (h *Hypervisor) populate(d *Domain, gfn uint64, order uint32) bool {
	n := uint64(1) << order
	if d.mem.Pages()+n > d.maxPages() {
		return false
	}
	err := d.mem.AddRAM(gfn, n)
	h.noteP2M(d, err)
	if err == nil {
		h.dom0DMAPopulated(d, gfn, n)
	}
	return err == nil
}

// increaseReservation gives d 2^order frames outside its physmap.
func (h *Hypervisor) increaseReservation(d *Domain, order uint32) bool {
	n := uint64(1) << order
	return d.mem.Pages()+n <= d.maxPages() && d.mem.AddUnplaced(n) == nil
}

// decreaseReservation gives the 2^order guest frames from gfn back.
func (h *Hypervisor) decreaseReservation(d *Domain, gfn uint64, order uint32) bool {
	n := uint64(1) << order
	for g := gfn; g < gfn+n; g++ {
		if d.pinned(g) {
			return false
		}
		if hpa, ok := d.mem.Translate(g * pageSize); ok && (h.grants.MFNMapped(hpa/pageSize) || h.foreignMFNs[hpa/pageSize] > 0) {
			return false // another domain still maps it (a grant, or dom0's foreign mapping)
		}
	}
	if err := d.mem.RemoveRAM(gfn, n); err != nil {
		h.noteP2M(d, err) // splitting a 2 MiB page takes a table
		return false
	}
	// dom0's devices stop reaching the frames before anything (all of it
	// on this run loop) can allocate them again.
	h.dom0DMAUnmap(d, gfn, n)
	d.flushTLBs()
	return true
}

// pinned reports whether hv keeps using guest frame gfn of d on its own.
func (d *Domain) pinned(gfn uint64) bool {
	if gfn == d.xen.consoleGFN || (d.xs.ring != nil && gfn == d.xs.gfn) || (d.xen.sharedInfoSet && gfn == d.xen.sharedInfo) {
		return true
	}
	for _, v := range d.vcpus {
		if v.xen.vcpuInfoSet && gfn == v.xen.vcpuInfoGFN {
			return true
		}
	}
	return false
}

// Paging (p2m) memory. Every nested page-table page of a domain comes from
// its own paging pool (npt.Pool), set aside from the guest pool when the
// domain is built and given back when its memory is released: Xen's HAP
// pool. A guest that makes hv build tables (frames populated or
// grant-mapped at spread gfns, grant frames moved around) empties its own
// pool and then gets -ENOMEM (populate_physmap stops and reports the
// extents done, a grant map gets GNTST_general_error as Xen's failed p2m
// insertion does, add_to_physmap -ENOMEM); no other domain and none of
// hv's own memory pays.

// newDomainMemory sets aside cfg's paging pool, bounds the guest-physical
// space by the physical-address width the guest sees, and populates cfg.Mem
// of RAM. On error nothing is kept.
func (h *Hypervisor) newDomainMemory(cfg DomainConfig) (*npt.Memory, error) {
	pages := p2mPoolPages(cfg)
	mem, err := h.env.NewGuestMemory(pages)
	if err != nil {
		return nil, fmt.Errorf("no room for a %d KiB p2m pool: %w", pages*4, err)
	}
	if mem.Format() != h.be.PagingFormat() {
		mem.Release()
		return nil, fmt.Errorf("guest memory has %v tables, the %s backend needs %v", mem.Format(), h.be.Name(), h.be.PagingFormat())
	}
	mem.SetLimit(h.guestPhysLimit())
	if err := mem.Populate(cfg.Mem); err != nil {
		mem.Release()
		switch {
		case errors.Is(err, npt.ErrNoTables):
			return nil, fmt.Errorf("a p2m pool of %d KiB is too small to map %d MiB", pages*4, cfg.Mem>>20)
		case errors.Is(err, npt.ErrNoMemory):
			return nil, fmt.Errorf("not enough free guest memory for %d MiB", cfg.Mem>>20)
		}
		return nil, err
	}
	return mem, nil
}

// p2mPoolPages is the size of cfg's paging pool in frames: cfg.P2MPool
// rounded up, or by default npt.DefaultPoolPages (libxl's shadow_memory
// default: 1 MiB per vCPU plus 8 KiB per MiB of RAM).
func p2mPoolPages(cfg DomainConfig) uint64 {
	if cfg.P2MPool > 0 {
		return (cfg.P2MPool + pageSize - 1) / pageSize
	}
	return npt.DefaultPoolPages(cfg.Mem, cfg.VCPUs)
}

// guestPhysLimit is the end of the guest-physical space a domain may put
// frames in: 2^MAXPHYADDR as its CPUID leaf 0x80000008 reports it (Xen
// bounds an HVM guest's gfns by the width it advertises,
// paging_max_paddr_bits), 36 bits if the leaf is missing. Beyond it
// populate_physmap stops, add_to_physmap is -EINVAL and a grant map
// GNTST_general_error.
func (h *Hypervisor) guestPhysLimit() uint64 {
	a, _, _, _ := h.cpuid(nil, 0x80000008, 0)
	bits := a & 0xff
	if bits < 32 {
		bits = 36
	}
	if bits >= 63 {
		return npt.MaxGPA
	}
	return 1 << bits
}

// P2MPool reports d's paging pool (zero once its memory is released).
func (d *Domain) P2MPool() npt.PoolStats {
	if d.mem == nil || d.mem.Pool() == nil {
		return npt.PoolStats{}
	}
	return d.mem.Pool().Stats()
}

// noteP2M logs, once per domain, that its paging pool ran dry (err from
// an npt call that failed). Later refusals stay quiet: the guest gets its
// error code each time, and the log cannot be flooded.
func (h *Hypervisor) noteP2M(d *Domain, err error) {
	if !errors.Is(err, npt.ErrNoTables) {
		return
	}
	if st := d.P2MPool(); st.Refused == 1 {
		h.logf("domain %d %q: p2m pool of %d KiB is exhausted; its calls that need page tables get -ENOMEM",
			d.id, d.name, st.Total*4)
	}
}
