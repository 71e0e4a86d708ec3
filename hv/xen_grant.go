package hv

import (
	"errors"
	"fmt"

	"gozen/abi/xen"
	"gozen/grant"
	"gozen/hypercall"
	"gozen/mm/npt"
)

// Wiring of package grant (Xen grant tables, v1) into the core.

// grantFrames gives the grant package hv-owned pages for table frames.
type grantFrames struct{ h *Hypervisor }

func (f grantFrames) Alloc() (uint64, *[4096]byte, error) {
	pa, err := f.h.env.AllocPage()
	if err != nil {
		return 0, nil, err
	}
	return pa / pageSize, f.h.env.PageBytes(pa), nil
}

// grantMem is a domain's physmap as the grant package sees it.
type grantMem struct{ d *Domain }

func (m grantMem) Page(gfn uint64) *[4096]byte {
	if m.d.mem == nil || !m.d.mem.IsRAM(gfn) {
		return nil
	}
	return m.d.page(gfn)
}

func (m grantMem) MapForeign(gfn, mfn uint64, readOnly bool) error {
	if m.d.mem == nil {
		return fmt.Errorf("domain has no memory")
	}
	if m.d.pinned(gfn) {
		// hv writes this frame on its own (balloon.go): a grant mapped over
		// it would hide it (GNTST_general_error, as when Xen cannot add the
		// p2m entry).
		return fmt.Errorf("gfn %#x holds a structure hv writes", gfn)
	}
	if err := m.d.mem.MapFrame(gfn, mfn*pageSize, readOnly); err != nil {
		m.d.hv.noteP2M(m.d, err) // the map fails with GNTST_general_error
		return err
	}
	// dom0's devices may DMA to the granted page at gfn (blkback's bios):
	// the IOMMU must follow, or the map fails as a whole.
	if err := m.d.hv.dom0DMAMap(m.d, gfn, mfn, 1, !readOnly); err != nil {
		m.d.mem.UnmapFrame(gfn)
		m.d.flushTLBs()
		return err
	}
	m.d.flushTLBs()
	return nil
}

func (m grantMem) UnmapForeign(gfn uint64) error {
	if m.d.mem == nil {
		return fmt.Errorf("domain has no memory")
	}
	if _, err := m.d.mem.UnmapFrame(gfn); err != nil {
		return err
	}
	m.d.flushTLBs()
	// The granting domain may reuse the frame once this returns: no
	// device of dom0's may still reach it.
	return m.d.hv.dom0DMAUnmap(m.d, gfn, 1)
}

func (m grantMem) Translate(gfn uint64) (uint64, bool) {
	if m.d.mem == nil {
		return 0, false
	}
	hpa, ok := m.d.mem.Translate(gfn * pageSize)
	return hpa / pageSize, ok
}

// flushTLBs makes every vCPU of d flush its guest TLB before running again.
func (d *Domain) flushTLBs() {
	for _, v := range d.vcpus {
		v.arch.TLBFlush()
	}
}

// domainMaptrack is how many grant mappings a domain may hold at once
// (Xen's max_maptrack_frames, here in handles: 64 frames' worth). Each
// mapping costs hv about 100 bytes of its own heap (the maptrack entry, the
// physmap overlay, the mapped-frame count), so Xen's default of 1024 frames
// (262144 handles, ~26 MiB) would let one domain take a good part of hv's
// pool; 16384 keep the worst case near 1.6 MiB a domain. The page tables a
// mapping needs come from the domain's p2m pool.
const domainMaptrack = 64 * (grant.PageSize / 16)

func (h *Hypervisor) addGrants(d *Domain) error {
	gd, err := h.grants.NewDomain(d.id, grantMem{d}, grant.DomainOptions{MaxMaptrack: domainMaptrack, Privileged: d.privileged})
	if err != nil {
		return err
	}
	d.gnt = gd
	return nil
}

// mapGrantFrame implements XENMEM_add_to_physmap(XENMAPSPACE_grant_table):
// grant-table frame idx (hv-owned) appears at the guest's gfn.
func (h *Hypervisor) mapGrantFrame(d *Domain, idx, gfn uint64) xen.Errno {
	if d.gnt == nil || idx&grant.MapIdxGrantTableStatus != 0 || idx > 1<<16 {
		return xen.EINVAL // v1 has no status frames
	}
	mfn, err := d.gnt.FrameMFN(int(idx))
	if err != nil {
		return xen.EINVAL
	}
	old, moving := d.xen.grantFrames[idx]
	if moving && old == gfn {
		return 0 // already there
	}
	// Xen removes what was at gfn first (xenmem_add_to_physmap_one):
	// another grant-table frame is unhooked from it, and shared_info too,
	// so the domain has no shared_info mapped until it adds it again: hv
	// stops writing it and its writes never land in the grant frame. The
	// other frames hv writes (vcpu_info, the console ring) are the
	// domain's RAM, which Xen would keep writing out of sight; GoZen writes
	// them by gfn, so it refuses to cover them. A grant mapping from
	// another domain stays too.
	shared := d.xen.sharedInfoSet && gfn == d.xen.sharedInfo
	otherIdx, other := d.grantFrameAt(gfn)
	switch {
	case other:
	case !d.mem.IsRAM(gfn):
		if _, ok := d.mem.Translate(gfn * pageSize); ok {
			return xen.EBUSY // a grant mapping is there
		}
	case !shared && d.pinned(gfn):
		return xen.EBUSY
	}
	if moving {
		// A frame lives at one gfn: move it, as Xen does, so a guest cannot
		// make hv build page tables for endless aliases.
		d.mem.UnmapFrame(old)
		delete(d.xen.grantFrames, idx)
	}
	if other {
		d.mem.UnmapFrame(gfn)
		delete(d.xen.grantFrames, otherIdx)
	}
	if err := d.mem.MapFrame(gfn, mfn*pageSize, false); err != nil {
		d.flushTLBs() // an old mapping at gfn may be gone
		if errors.Is(err, npt.ErrNoTables) {
			h.noteP2M(d, err)
			return xen.ENOMEM // the domain's p2m pool is empty
		}
		return xen.EINVAL // beyond its physical-address width, or not mappable
	}
	if shared {
		d.xen.sharedInfoSet = false
	}
	if d.xen.grantFrames == nil {
		d.xen.grantFrames = map[uint64]uint64{}
	}
	d.xen.grantFrames[idx] = gfn
	d.flushTLBs()
	return 0
}

// grantFrameAt returns the index of the grant-table frame d has mapped at
// gfn, if any.
func (d *Domain) grantFrameAt(gfn uint64) (uint64, bool) {
	for idx, g := range d.xen.grantFrames {
		if g == gfn {
			return idx, true
		}
	}
	return 0, false
}

// grantTables is a domain's grant table for package hypercall.
type grantTables Domain

func (t *grantTables) Map(ops []xen.GnttabMapGrantRef) {
	d := (*Domain)(t)
	gops := make([]grant.MapOp, len(ops))
	for i, op := range ops {
		gops[i] = grant.MapOp{HostAddr: op.HostAddr, Flags: op.Flags, Ref: op.Ref, Dom: op.Dom}
	}
	d.hv.grants.Map(d.gnt, gops)
	for i, op := range gops {
		ops[i].Status, ops[i].Handle, ops[i].DevBusAddr = int16(op.Status), op.Handle, op.DevBusAddr
	}
}

func (t *grantTables) Unmap(ops []xen.GnttabUnmapGrantRef) {
	d := (*Domain)(t)
	gops := make([]grant.UnmapOp, len(ops))
	for i, op := range ops {
		gops[i] = grant.UnmapOp{HostAddr: op.HostAddr, DevBusAddr: op.DevBusAddr, Handle: op.Handle}
	}
	d.hv.grants.Unmap(d.gnt, gops)
	for i, op := range gops {
		ops[i].Status = int16(op.Status)
	}
}

func (t *grantTables) Copy(ops []xen.GnttabCopy) {
	d := (*Domain)(t)
	ptr := func(p xen.GnttabCopyPtr) grant.CopyPtr {
		return grant.CopyPtr{Ref: uint32(p.U), GFN: p.U, Domid: p.DomID, Offset: p.Offset}
	}
	gops := make([]grant.CopyOp, len(ops))
	for i, op := range ops {
		gops[i] = grant.CopyOp{Src: ptr(op.Source), Dst: ptr(op.Dest), Len: op.Len, Flags: op.Flags}
	}
	d.hv.grants.Copy(d.gnt, gops)
	for i, op := range gops {
		ops[i].Status = int16(op.Status)
	}
}

func (t *grantTables) QuerySize(q *xen.GnttabQuerySize) {
	d := (*Domain)(t)
	n, max, st := d.hv.grants.QuerySize(d.gnt, q.Dom)
	q.NrFrames, q.MaxNrFrames, q.Status = n, max, st
}

// SetupTable grows the table and reports where the caller has each frame:
// its gfn, or hypercall.InvalidFrame (Xen's answer for an auto-translated
// guest, which sees no machine frames).
func (t *grantTables) SetupTable(dom uint16, nr uint32) ([]uint64, int16) {
	d := (*Domain)(t)
	mfns, st := d.hv.grants.SetupTable(d.gnt, dom, nr)
	if st != 0 {
		return nil, st
	}
	frames := make([]uint64, len(mfns))
	for i := range frames {
		frames[i] = hypercall.InvalidFrame
		if gfn, ok := d.xen.grantFrames[uint64(i)]; ok && (dom == xen.DomIDSelf || dom == d.id) {
			frames[i] = gfn
		}
	}
	return frames, 0
}

func (t *grantTables) SetVersion(v uint32) (uint32, xen.Errno) {
	d := (*Domain)(t)
	ver, e := d.hv.grants.SetVersion(d.gnt, v)
	return ver, xen.Errno(e)
}

func (t *grantTables) GetVersion(dom uint16) (uint32, xen.Errno) {
	d := (*Domain)(t)
	ver, e := d.hv.grants.GetVersion(d.gnt, dom)
	return ver, xen.Errno(e)
}
