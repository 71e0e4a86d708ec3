package hv

// Ballooning: memory_op's reservation calls (Xen's decrease_reservation,
// populate_physmap, increase_reservation). A domain may give RAM back and
// take it again up to the memory it was built with (its maximum
// reservation). Two kinds of frame cannot be given back, and the call stops
// there and reports how many extents it did, as Xen does when an extent
// fails: frames another domain has mapped through a grant (freeing them
// would hand that domain's view of them to whoever gets the frame next),
// and the frames hv writes for the domain (pinned: shared_info, vcpu_info,
// the console ring; Xen keeps its own reference to those, GoZen refuses).
// Nor may a grant mapping or a grant-table frame cover a pinned frame
// (xen_grant.go): hv writes them by gfn, and Xen would keep writing the
// page out of the guest's sight. Event-channel pages and the runstate area
// may go: every write hv makes checks the frame again (Domain.page,
// ramOnly), finds it missing or no longer the domain's RAM, and stops,
// which only hurts the domain that did it.

// maxPages is d's maximum reservation: the memory it was built with.
func (d *Domain) maxPages() uint64 { return d.memSize / pageSize }

// populate backs the 2^order guest frames from gfn with new RAM.
func (h *Hypervisor) populate(d *Domain, gfn uint64, order uint32) bool {
	n := uint64(1) << order
	return d.mem.Pages()+n <= d.maxPages() && d.mem.AddRAM(gfn, n) == nil
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
		if hpa, ok := d.mem.Translate(g * pageSize); ok && h.grants.MFNMapped(hpa/pageSize) {
			return false // another domain still maps it
		}
	}
	if d.mem.RemoveRAM(gfn, n) != nil {
		return false
	}
	d.flushTLBs()
	return true
}

// pinned reports whether hv keeps using guest frame gfn of d on its own.
func (d *Domain) pinned(gfn uint64) bool {
	if gfn == d.xen.consoleGFN || (d.xen.sharedInfoSet && gfn == d.xen.sharedInfo) {
		return true
	}
	for _, v := range d.vcpus {
		if v.xen.vcpuInfoSet && gfn == v.xen.vcpuInfoGFN {
			return true
		}
	}
	return false
}
