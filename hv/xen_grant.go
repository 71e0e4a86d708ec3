package hv

import (
	"fmt"

	"gozen/grant"
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
	if err := m.d.mem.MapFrame(gfn, mfn*pageSize, readOnly); err != nil {
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
	return nil
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

func (h *Hypervisor) addGrants(d *Domain) error {
	gd, err := h.grants.NewDomain(d.id, grantMem{d}, grant.DomainOptions{})
	if err != nil {
		return err
	}
	d.gnt = gd
	return nil
}

// mapGrantFrame implements XENMEM_add_to_physmap(XENMAPSPACE_grant_table):
// grant-table frame idx (hv-owned) appears at the guest's gfn.
func (h *Hypervisor) mapGrantFrame(v *VCPU, idx, gfn uint64) int64 {
	d := v.dom
	if d.gnt == nil || idx&grant.MapIdxGrantTableStatus != 0 || idx > 1<<16 {
		return -errEINVAL // v1 has no status frames
	}
	mfn, err := d.gnt.FrameMFN(int(idx))
	if err != nil {
		return -errEINVAL
	}
	if old, ok := d.xen.grantFrames[idx]; ok {
		if old == gfn {
			return 0 // already there
		}
		// A frame lives at one gfn: move it, as Xen does, so a guest cannot
		// make hv build page tables for endless aliases.
		d.mem.UnmapFrame(old)
		delete(d.xen.grantFrames, idx)
	}
	if !d.mem.IsRAM(gfn) {
		if _, ok := d.mem.Translate(gfn * pageSize); ok {
			return -errEBUSY // something else (a grant mapping) is there
		}
	}
	if err := d.mem.MapFrame(gfn, mfn*pageSize, false); err != nil {
		return -errEINVAL
	}
	if d.xen.grantFrames == nil {
		d.xen.grantFrames = map[uint64]uint64{}
	}
	d.xen.grantFrames[idx] = gfn
	d.flushTLBs()
	return 0
}

const maxGrantOps = 512 // per hypercall; Xen continues longer batches, GoZen refuses them

// grantTableOp implements grant_table_op (grant_table.h).
func (h *Hypervisor) grantTableOp(v *VCPU, cmd, arg, count uint64) int64 {
	d := v.dom
	if d.gnt == nil {
		return -errENOSYS
	}
	if count > maxGrantOps {
		return -errEINVAL
	}
	switch cmd {
	case 0: // GNTTABOP_map_grant_ref: gnttab_map_grant_ref[count], 32 bytes each
		buf := make([]byte, 32*count)
		if !h.copyIn(v, arg, buf) {
			return -errEFAULT
		}
		ops := make([]grant.MapOp, count)
		for i := range ops {
			b := buf[32*i:]
			ops[i] = grant.MapOp{HostAddr: le.Uint64(b[0:]), Flags: le.Uint32(b[8:]), Ref: le.Uint32(b[12:]), Dom: le.Uint16(b[16:])}
		}
		h.grants.Map(d.gnt, ops)
		for i, op := range ops {
			b := buf[32*i:]
			le.PutUint16(b[18:], uint16(op.Status))
			le.PutUint32(b[20:], op.Handle)
			le.PutUint64(b[24:], op.DevBusAddr)
		}
		return okOrFault(h.copyOut(v, arg, buf))
	case 1: // GNTTABOP_unmap_grant_ref: 24 bytes each
		buf := make([]byte, 24*count)
		if !h.copyIn(v, arg, buf) {
			return -errEFAULT
		}
		ops := make([]grant.UnmapOp, count)
		for i := range ops {
			b := buf[24*i:]
			ops[i] = grant.UnmapOp{HostAddr: le.Uint64(b[0:]), DevBusAddr: le.Uint64(b[8:]), Handle: le.Uint32(b[16:])}
		}
		h.grants.Unmap(d.gnt, ops)
		for i, op := range ops {
			le.PutUint16(buf[24*i+20:], uint16(op.Status))
		}
		return okOrFault(h.copyOut(v, arg, buf))
	case 5: // GNTTABOP_copy: 40 bytes each
		buf := make([]byte, 40*count)
		if !h.copyIn(v, arg, buf) {
			return -errEFAULT
		}
		ops := make([]grant.CopyOp, count)
		ptr := func(b []byte) grant.CopyPtr {
			return grant.CopyPtr{Ref: le.Uint32(b[0:]), GFN: le.Uint64(b[0:]), Domid: le.Uint16(b[8:]), Offset: le.Uint16(b[10:])}
		}
		for i := range ops {
			b := buf[40*i:]
			ops[i] = grant.CopyOp{Src: ptr(b[0:]), Dst: ptr(b[16:]), Len: le.Uint16(b[32:]), Flags: le.Uint16(b[34:])}
		}
		h.grants.Copy(d.gnt, ops)
		for i, op := range ops {
			le.PutUint16(buf[40*i+36:], uint16(op.Status))
		}
		return okOrFault(h.copyOut(v, arg, buf))
	case 6: // GNTTABOP_query_size {dom u16, nr_frames u32@4, max_nr_frames u32@8, status i16@12}
		var b [16]byte
		if !h.copyIn(v, arg, b[:]) {
			return -errEFAULT
		}
		n, max, st := h.grants.QuerySize(d.gnt, le.Uint16(b[0:]))
		le.PutUint32(b[4:], n)
		le.PutUint32(b[8:], max)
		le.PutUint16(b[12:], uint16(st))
		return okOrFault(h.copyOut(v, arg, b[:]))
	case 8: // GNTTABOP_set_version {version u32}
		var b [4]byte
		if !h.copyIn(v, arg, b[:]) {
			return -errEFAULT
		}
		ver, e := h.grants.SetVersion(d.gnt, le.Uint32(b[:]))
		le.PutUint32(b[:], ver)
		if !h.copyOut(v, arg, b[:]) {
			return -errEFAULT
		}
		return -int64(e)
	case 10: // GNTTABOP_get_version {dom u16, pad, version u32@4}
		var b [8]byte
		if !h.copyIn(v, arg, b[:]) {
			return -errEFAULT
		}
		ver, e := h.grants.GetVersion(d.gnt, le.Uint16(b[0:]))
		if e != 0 {
			return -int64(e)
		}
		le.PutUint32(b[4:], ver)
		return okOrFault(h.copyOut(v, arg, b[:]))
	}
	return -errENOSYS
}
