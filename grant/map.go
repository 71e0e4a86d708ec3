package grant

import "gozen/abi/xen"

// InvalidHandle is what MapGrantRef returns as the handle on failure (Linux's
// INVALID_GRANT_HANDLE). Xen itself leaves the op's handle untouched.
const InvalidHandle = ^uint32(0)

// MapOp is struct gnttab_map_grant_ref.
type MapOp struct {
	// In.
	HostAddr uint64 // guest-physical address in the mapper's physmap (GNTMAP_host_map)
	Flags    uint32 // GNTMAP_*
	Ref      uint32 // grant ref in Dom's table
	Dom      uint16 // granting domain (a real id: DOMID_SELF is GNTST_bad_domain, as in Xen)
	// Out.
	Status     int16  // GNTST_*
	Handle     uint32 // set on success only
	DevBusAddr uint64 // set on success: the frame's machine address, as Xen reports it
}

// UnmapOp is struct gnttab_unmap_grant_ref.
type UnmapOp struct {
	// In.
	HostAddr   uint64 // where the mapping is; 0 leaves the host mapping alone, as in Xen
	DevBusAddr uint64 // ignored: translated guests have no device mappings
	Handle     uint32
	// Out.
	Status int16
}

// Map performs GNTTABOP_map_grant_ref for each op in turn, on behalf of
// mapper, filling in the out fields.
func (s *System) Map(mapper *Domain, ops []MapOp) {
	s.lock()
	defer s.unlock()
	for i := range ops {
		s.mapOne(mapper, &ops[i])
	}
}

// MapGrantRef maps grant ref of domain dom at guest-physical address
// hostAddr of mapper (flags: GNTMAP_host_map, optionally GNTMAP_readonly).
// It returns the new maptrack handle, or InvalidHandle and the failure.
func (s *System) MapGrantRef(mapper *Domain, dom uint16, ref uint32, flags uint32, hostAddr uint64) (handle uint32, status int16) {
	ops := []MapOp{{HostAddr: hostAddr, Flags: flags, Ref: ref, Dom: dom, Handle: InvalidHandle}}
	s.Map(mapper, ops)
	return ops[0].Handle, ops[0].Status
}

// mapOne is map_grant_ref for a translated (HVM/PVH) mapper.
func (s *System) mapOne(ld *Domain, op *MapOp) {
	// Only host mappings exist for a translated guest; a request for none
	// at all is a bad gntref, device/application/PTE mappings a general
	// error, as in Xen.
	if op.Flags&(xen.GNTMAPDeviceMap|xen.GNTMAPHostMap) == 0 {
		op.Status = xen.GNTSTBadGntref
		return
	}
	if op.Flags&(xen.GNTMAPDeviceMap|xen.GNTMAPApplicationMap|xen.GNTMAPContainsPTE) != 0 || !s.alive(ld) {
		op.Status = xen.GNTSTGeneralError
		return
	}
	rd := s.byID(op.Dom)
	if rd == nil {
		op.Status = xen.GNTSTBadDomain
		return
	}
	h := ld.mt.get()
	if h < 0 {
		op.Status = xen.GNTSTNoSpace
		return
	}
	st := s.pinForMap(ld, rd, op)
	if st != xen.GNTSTOkay {
		ld.mt.put(h)
		op.Status = st
		return
	}
	m := &ld.mt.ents[h]
	m.flags = op.Flags
	m.dom = rd.ID
	m.ref = op.Ref
	m.gfn = op.HostAddr >> 12
	act := &rd.active[op.Ref]
	rd.pins++
	s.mapped[act.mfn]++
	op.Handle = uint32(h)
	op.DevBusAddr = act.mfn << 12
	op.Status = xen.GNTSTOkay
}

// pinForMap validates and pins rd's entry op.Ref for ld and creates the
// host mapping; on failure everything is undone.
func (s *System) pinForMap(ld, rd *Domain, op *MapOp) int16 {
	ref := op.Ref
	if ref >= rd.nrEntries() {
		return xen.GNTSTBadGntref
	}
	readonly := op.Flags&xen.GNTMAPReadonly != 0
	act := &rd.active[ref]
	cnt := &act.hostW
	if readonly {
		cnt = &act.hostR
	}
	if act.pinned() && (act.domid != ld.ID || *cnt >= pinLimit) {
		return xen.GNTSTGeneralError
	}
	if !act.pinned() || (!readonly && act.hostW == 0) {
		if st := rd.setStatus(ref, act, readonly, true, ld.ID); st != xen.GNTSTOkay {
			return st
		}
		if !act.pinned() {
			gfn := uint64(loadFrame(rd.frameField(ref)))
			_, mfn, st := rd.pagedFrame(gfn)
			if st != xen.GNTSTOkay {
				rd.reduceStatusForPin(ref, act, readonly)
				return st
			}
			act.domid, act.gfn, act.mfn = ld.ID, gfn, mfn
		}
	}
	*cnt++

	// create_grant_p2m_mapping: nothing but host_map (and readonly) may be
	// asked for.
	st := int16(xen.GNTSTOkay)
	if op.Flags&^xen.GNTMAPReadonly != xen.GNTMAPHostMap {
		st = xen.GNTSTGeneralError
	} else if ld.Mem.MapForeign(op.HostAddr>>12, act.mfn, readonly) != nil {
		st = xen.GNTSTGeneralError
	}
	if st != xen.GNTSTOkay {
		*cnt--
		rd.reduceStatusForPin(ref, act, readonly)
	}
	return st
}

// Unmap performs GNTTABOP_unmap_grant_ref for each op in turn, on behalf of
// mapper.
func (s *System) Unmap(mapper *Domain, ops []UnmapOp) {
	s.lock()
	defer s.unlock()
	for i := range ops {
		ops[i].Status = s.unmapOne(mapper, ops[i].HostAddr, ops[i].Handle)
	}
}

// UnmapGrantRef removes mapper's mapping handle, which must be mapped at
// hostAddr.
func (s *System) UnmapGrantRef(mapper *Domain, hostAddr uint64, handle uint32) int16 {
	s.lock()
	defer s.unlock()
	return s.unmapOne(mapper, hostAddr, handle)
}

// unmapOne is unmap_common + unmap_common_complete for a translated mapper.
func (s *System) unmapOne(ld *Domain, hostAddr uint64, handle uint32) int16 {
	if !s.alive(ld) {
		return xen.GNTSTBadHandle
	}
	m := ld.mt.lookup(handle)
	if m == nil {
		return xen.GNTSTBadHandle
	}
	rd := s.doms[m.dom] // present: a domain with pinned grants lingers
	if rd == nil || m.ref >= rd.nrEntries() {
		return xen.GNTSTBadHandle
	}
	// As in Xen, a zero host_addr leaves the host mapping (and so the
	// handle) in place. Otherwise the address must be the mapping's: Xen
	// checks the p2m entry there is a grant mapping of the same frame
	// (replace_grant_p2m_mapping); this package remembers the gfn instead.
	if hostAddr == 0 || m.flags&xen.GNTMAPHostMap == 0 {
		return xen.GNTSTOkay
	}
	if hostAddr>>12 != m.gfn {
		return xen.GNTSTGeneralError
	}
	if ld.Mem.UnmapForeign(m.gfn) != nil {
		return xen.GNTSTGeneralError
	}
	s.dropMapping(ld, handle)
	return xen.GNTSTOkay
}

// dropMapping releases the pin behind ld's mapping handle h (whose host
// mapping is already gone) and frees the handle.
func (s *System) dropMapping(ld *Domain, h uint32) {
	m := &ld.mt.ents[h]
	rd := s.doms[m.dom]
	readonly := m.flags&xen.GNTMAPReadonly != 0
	if rd != nil && m.ref < rd.nrEntries() {
		act := &rd.active[m.ref]
		if readonly {
			act.hostR--
		} else {
			act.hostW--
		}
		rd.reduceStatusForPin(m.ref, act, readonly)
		if n := s.mapped[act.mfn] - 1; n > 0 {
			s.mapped[act.mfn] = n
		} else {
			delete(s.mapped, act.mfn)
		}
		rd.pins--
		ld.mt.put(int32(h))
		s.maybeReap(rd)
		return
	}
	ld.mt.put(int32(h))
}
